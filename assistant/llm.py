"""The one seam to language models: the `openai` client, structured output with fallbacks, and what each endpoint can do."""

from __future__ import annotations

import copy
import json
import logging
import os
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from collections.abc import Generator
from typing import Any

import openai
from pydantic import BaseModel

from . import env
from .errors import BackendUnavailableError, InputError, ModelError

log = logging.getLogger("assistant.llm")

DEFAULT_OPENAI_MODEL = "gpt-4.1-mini"
LOCAL_MODEL = "smollm2-135m"
MODES = ("json_schema", "json_object", "plain")


# Requests and replies ---------------------------------------------------------------------------


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens)

    def to_dict(self) -> dict:
        return {**asdict(self), "total_tokens": self.total_tokens}


@dataclass
class ChatRequest:
    messages: list[dict[str, str]]
    schema: dict
    schema_name: str
    max_tokens: int
    temperature: float = 0.7
    seed: int | None = None


@dataclass
class ChatReply:
    content: str | None
    finish_reason: str | None = "stop"
    refusal: str | None = None
    usage: Usage = field(default_factory=Usage)
    mode: str = "json_schema"
    transport_error: str | None = None  # the server answered with something that is not a chat completion


def strict_schema(model: type[BaseModel]) -> dict:
    """The model's JSON schema in the form OpenAI's strict structured output accepts: every object closed,
    every property required (optional ones are nullable), no defaults, references inlined."""
    raw = model.model_json_schema()
    defs = raw.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(n) for n in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            target = copy.deepcopy(defs[node["$ref"].split("/")[-1]])
            merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
            return walk(merged)
        out = {}
        for key, value in node.items():
            if key == "properties":  # a mapping of field names, not schema keywords: keep every name
                out[key] = {name: walk(sub) for name, sub in value.items()}
            elif key not in ("default", "title"):
                out[key] = walk(value)
        if out.get("type") == "object" or "properties" in out:
            out["additionalProperties"] = False
            out["required"] = list(out.get("properties", {}))
        return out

    return walk(raw)


def extract_json(text: str) -> str:
    """The JSON object inside a reply that may wrap it in prose or ``` fences."""
    fenced = re.search(r"```(?:json)?\s*(\{.*\})\s*```", text, re.S)
    if fenced:
        return fenced.group(1)
    start, end = text.find("{"), text.rfind("}")
    return text[start : end + 1] if start != -1 and end > start else text


# Secrets ---------------------------------------------------------------------------------------

_KEY_PATTERN = re.compile(r"\b(sk-[A-Za-z0-9_\-*]{6,}|Bearer\s+[A-Za-z0-9._~+/=\-]{12,})")


def redact(text: str, *secrets: str | None) -> str:
    """Remove API keys from text that may reach output, logs or files. Values shorter than 12 characters are
    placeholders ("ollama", "local", "none"), not secrets: replacing them would mangle ordinary words."""
    for secret in {s for s in (*secrets, os.environ.get("OPENAI_API_KEY")) if s and len(s) >= 12}:
        text = text.replace(secret, "[redacted]")
    return _KEY_PATTERN.sub("[redacted]", text)


# Endpoint capabilities, remembered across runs -------------------------------------------------


def _cache_file() -> Path:
    return _cache_path(os.environ.get("ASSISTANT_CACHE_DIR"), os.environ.get("XDG_CACHE_HOME"))


@lru_cache(maxsize=8)
def _cache_path(own: str | None, xdg: str | None) -> Path:
    base = own or os.path.join(xdg or Path.home() / ".cache", "brand-assistant")
    return Path(base) / "endpoints.json"


class Capabilities:
    """What an endpoint rejected before (json_schema, temperature, max_tokens…), so we do not ask twice."""

    def __init__(self):
        self._data: dict[str, dict] = {}
        self._path: Path | None = None

    def _load(self) -> dict[str, dict]:
        path = _cache_file()
        if path != self._path:  # read once per cache file (tests and users may point elsewhere)
            self._path = path
            try:
                self._data = json.loads(path.read_text("utf-8"))
            except (OSError, ValueError):
                self._data = {}
        return self._data

    def get(self, key: str) -> dict:
        return dict(self._load().get(key, {}))

    def update(self, key: str, **values) -> None:
        data = self._load()
        data.setdefault(key, {}).update(values)
        try:
            path = self._path or _cache_file()
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=1), "utf-8")
            tmp.replace(path)
        except OSError:
            pass  # remembering is an optimisation, never a failure


CAPABILITIES = Capabilities()


# The backend -----------------------------------------------------------------------------------


@dataclass
class Backend:
    """One model at one OpenAI-protocol endpoint (OpenAI, a compatible server, or the bundled local model)."""

    kind: str  # "openai", "compatible" or "local"
    model: str
    base_url: str | None
    reason: str  # why this backend is active, in words for the user
    api_key: str | None = None
    timeout: float = 60.0
    max_retries: int = 3
    label: str = ""
    temperature: float | None = None  # the backend's preferred sampling temperature, if it has one
    grammar: bool = False  # the endpoint enforces JSON-schema limits (lengths, counts, patterns) while sampling
    repair_with_history: bool = True  # show the model its own faulty answer when asking for a repair
    _client: Any = field(default=None, repr=False)

    @property
    def endpoint_key(self) -> str:
        return f"{self.base_url or 'https://api.openai.com/v1'}|{self.model}"

    def _client_kwargs(self) -> dict:
        return {
            "api_key": self.api_key or os.environ.get("OPENAI_API_KEY") or "not-needed",
            "base_url": self.base_url,
            "organization": os.environ.get("OPENAI_ORG_ID") or None,
            "timeout": self.timeout,
            "max_retries": self.max_retries,  # the client's own retries honour Retry-After on 429/5xx
        }

    def client(self) -> openai.OpenAI:
        if self._client is None:
            self._client = openai.OpenAI(**self._client_kwargs())
        return self._client

    def async_client(self) -> openai.AsyncOpenAI:
        """A fresh async client, to be used (and closed) inside one event loop."""
        return openai.AsyncOpenAI(**self._client_kwargs())

    # Building the request ------------------------------------------------------------------
    def mode(self) -> str:
        return CAPABILITIES.get(self.endpoint_key).get("mode", "json_schema")

    def request_kwargs(self, req: ChatRequest, mode: str) -> dict:
        caps = CAPABILITIES.get(self.endpoint_key)
        messages = list(req.messages)
        if mode != "json_schema":
            shape = json.dumps(req.schema, ensure_ascii=False, separators=(",", ":"))
            messages = messages + [{"role": "system", "content": f"Answer with one JSON object that follows this JSON schema, and nothing else:\n{shape}"}]
        kwargs: dict[str, Any] = {"model": self.model, "messages": messages}
        token_param = caps.get("token_param") or ("max_completion_tokens" if self.kind == "openai" else "max_tokens")
        kwargs[token_param] = req.max_tokens
        if not caps.get("no_temperature"):
            kwargs["temperature"] = req.temperature
        if req.seed is not None and not caps.get("no_seed"):
            kwargs["seed"] = req.seed
        if mode == "json_schema":
            kwargs["response_format"] = {"type": "json_schema", "json_schema": {"name": req.schema_name, "schema": req.schema, "strict": True}}
        elif mode == "json_object":
            kwargs["response_format"] = {"type": "json_object"}
        return kwargs

    def downgrade(self, exc: openai.APIStatusError, mode: str) -> str | None:
        """After a 400 about a parameter the endpoint does not take: remember it and say what to retry with.
        Returns the mode to retry in, or None when the error is not about capabilities."""
        text = f"{getattr(exc, 'param', '') or ''} {exc.message}".lower()
        if "max_tokens" in text and "max_completion_tokens" in text:
            CAPABILITIES.update(self.endpoint_key, token_param="max_completion_tokens")
            return mode
        if "max_completion_tokens" in text and ("unsupported" in text or "unrecognized" in text or "unknown" in text):
            CAPABILITIES.update(self.endpoint_key, token_param="max_tokens")
            return mode
        if "temperature" in text and ("unsupported" in text or "does not support" in text or "only the default" in text):
            CAPABILITIES.update(self.endpoint_key, no_temperature=True)
            return mode
        if "seed" in text and ("unsupported" in text or "unrecognized" in text or "not supported" in text):
            CAPABILITIES.update(self.endpoint_key, no_seed=True)
            return mode
        if mode != "plain" and any(w in text for w in ("response_format", "json_schema", "json_object", "structured output", "response format")):
            lower = MODES[MODES.index(mode) + 1]
            log.info("endpoint %s rejected %s; falling back to %s", self.base_url or "openai", mode, lower)
            CAPABILITIES.update(self.endpoint_key, mode=lower)
            return lower
        return None

    @staticmethod
    def reply_from(completion: Any, mode: str) -> ChatReply:
        choices = getattr(completion, "choices", None)
        if not choices:
            return ChatReply(None, None, transport_error="the endpoint's answer has no choices", mode=mode)
        choice = choices[0]
        message = choice.message
        usage = getattr(completion, "usage", None)
        return ChatReply(
            content=message.content if message else None,
            finish_reason=choice.finish_reason,
            refusal=getattr(message, "refusal", None) if message else None,
            usage=Usage(getattr(usage, "prompt_tokens", 0) or 0, getattr(usage, "completion_tokens", 0) or 0),
            mode=mode,
        )

    def error_for(self, exc: Exception) -> ModelError:
        where = self.base_url or "OpenAI"
        if isinstance(exc, openai.AuthenticationError):
            return ModelError(f"{where} refused the API key (401).", hint="Check OPENAI_API_KEY.")
        if isinstance(exc, openai.NotFoundError):
            return ModelError(f"{where} does not know the model '{self.model}' (404): {redact(exc.message, self.api_key)}", hint="Pick another with --model or ASSISTANT_MODEL.")
        if isinstance(exc, openai.APITimeoutError):
            return ModelError(f"{where} did not answer within {self.timeout:g} s (after {self.max_retries} retries).", hint="Try again, or raise ASSISTANT_TIMEOUT.")
        if isinstance(exc, openai.APIConnectionError):
            return ModelError(f"Cannot reach {where}.", hint="Check OPENAI_BASE_URL and that the server is running.")
        if isinstance(exc, openai.APIStatusError):
            return ModelError(f"{where} answered {exc.status_code}: {redact(exc.message, self.api_key)}")
        return ModelError(f"{where}: {redact(str(exc), self.api_key)}")

    # Calling ---------------------------------------------------------------------------------
    def ask(self, req: ChatRequest) -> Generator[dict, Any, ChatReply]:
        """One chat call, sans I/O: yields the keyword arguments for `chat.completions.create` and receives the
        completion or the exception it raised. Falls back json_schema → json_object → plain, and drops
        parameters the endpoint rejects, remembering both for next time."""
        mode = self.mode()
        for _ in range(8):  # each round drops one unsupported feature, so this ends
            outcome = yield self.request_kwargs(req, mode)
            if isinstance(outcome, (openai.BadRequestError, openai.UnprocessableEntityError)):
                mode = self.downgrade(outcome, mode) or _raise(self.error_for(outcome))
                continue
            if isinstance(outcome, openai.APIError):
                raise self.error_for(outcome)
            if isinstance(outcome, ValueError):  # a body that is not JSON (cut off): the client raises JSONDecodeError
                return ChatReply(None, None, transport_error=f"the endpoint sent an unreadable answer ({outcome.__class__.__name__})", mode=mode)
            if isinstance(outcome, BaseException):
                raise outcome
            return self.reply_from(outcome, mode)
        raise ModelError(f"{self.base_url or 'OpenAI'} kept rejecting the request's parameters.")

    def describe(self) -> str:
        return self.label or f"{self.model} at {self.base_url or 'OpenAI'}"


def _raise(error: Exception):
    raise error


def choose_backend(backend: str | None = None, model: str | None = None, *, timeout: float | None = None) -> Backend:
    """Pick the backend from flags and the standard environment.

    --backend local, or neither OPENAI_API_KEY nor OPENAI_BASE_URL set: the bundled model, offline.
    OPENAI_BASE_URL set: that OpenAI-compatible endpoint (Ollama, vLLM, LM Studio, llama.cpp server…).
    OPENAI_API_KEY set: OpenAI.
    """
    backend = backend or os.environ.get("ASSISTANT_BACKEND") or "auto"
    if backend not in ("auto", "local", "openai", "compatible"):
        raise InputError(f"Unknown backend '{backend}'.", hint="Use auto, local, openai or compatible.")
    model = model or os.environ.get("ASSISTANT_MODEL") or None
    timeout = timeout or env.number("ASSISTANT_TIMEOUT", 60, float, minimum=0.1)
    retries = env.number("ASSISTANT_MAX_RETRIES", 3, int)
    base_url = os.environ.get("OPENAI_BASE_URL") or None
    api_key = os.environ.get("OPENAI_API_KEY") or None

    if backend == "local" or (backend == "auto" and not base_url and not api_key):
        from .local import local_backend

        why = "--backend local was given" if backend == "local" else "neither OPENAI_API_KEY nor OPENAI_BASE_URL is set"
        return local_backend(reason=why, timeout=timeout)
    if backend == "openai" or (backend == "auto" and not base_url):
        if not api_key:
            raise BackendUnavailableError("--backend openai needs OPENAI_API_KEY.", hint="export OPENAI_API_KEY=sk-...")
        return Backend("openai", model or DEFAULT_OPENAI_MODEL, base_url, "OPENAI_API_KEY is set", api_key, timeout, retries)
    if not base_url:
        raise BackendUnavailableError("--backend compatible needs OPENAI_BASE_URL.", hint="e.g. export OPENAI_BASE_URL=http://localhost:11434/v1 for Ollama.")
    chosen = Backend("compatible", model or "", base_url, f"OPENAI_BASE_URL is set ({base_url})", api_key, timeout, retries)
    if not chosen.model:
        chosen.model = _first_model(chosen)
    return chosen


def _first_model(backend: Backend) -> str:
    try:
        models = backend.client().models.list()
        first = next(iter(models), None)
    except openai.APIError:
        first = None
    if first is None:
        raise InputError(f"No model chosen for {backend.base_url}.", hint="Set ASSISTANT_MODEL or pass --model (e.g. llama3.2 for Ollama).")
    return first.id


def backend_status(backend: str | None = None, model: str | None = None) -> dict:
    """Which backend would run, why, whether it can, and how to switch: for `assistant doctor` and the web app."""
    try:
        chosen = choose_backend(backend, model)
    except (BackendUnavailableError, InputError) as exc:
        return {"backend": backend or os.environ.get("ASSISTANT_BACKEND") or "auto", "model": model, "ready": False,
                "summary": exc.message, "hint": exc.hint or "", "reason": ""}
    return describe_backend(chosen)


def describe_backend(backend: Backend) -> dict:
    """A backend in the user's words: what runs, why, and how to switch."""
    if backend.kind == "local":
        summary = "Running on the bundled SmolLM2-135M, offline"
        hint = "For production quality set OPENAI_API_KEY (OpenAI) or OPENAI_BASE_URL (Ollama, vLLM, LM Studio, llama.cpp server)."
    elif backend.kind == "compatible":
        summary = f"Running on {backend.model} at {backend.base_url}"
        hint = "Unset OPENAI_BASE_URL to use OpenAI (with OPENAI_API_KEY) or the bundled offline model."
    else:
        summary = f"Running on OpenAI, model {backend.model}"
        hint = "Set ASSISTANT_MODEL or --model to change the model; set OPENAI_BASE_URL for a self-hosted server."
    return {"backend": backend.kind, "model": backend.model, "ready": True, "summary": summary, "hint": hint, "reason": backend.reason,
            "base_url": backend.base_url if backend.kind != "local" else None}
