"""From a brief to checked content: render the prompt, ask the model, parse, fix, validate, repair. Sans I/O.

`Pipeline.steps()` is a generator: it yields the keyword arguments of each chat-completion call and receives
the completion (or the exception) back. `run()` drives it with the sync client, `arun()` with the async client,
so the CLI, the web app and concurrent batches share one pipeline.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import openai
import pydantic
import yaml

from . import counting
from .brands import BrandProfile
from .content import KIND_MODELS, Content
from .errors import AssistantError, PromptTooLongError, TemplateError
from .fixes import apply_fixes
from .llm import Backend, ChatReply, ChatRequest, Usage, extract_json, strict_schema
from .platforms import PlatformRules
from .prompts import Prompt, Prompts
from .tokens import TokenCount, TokenCounter, cost_usd, model_info
from .validation import Violation, check_invented_links, has_errors, policy_for

MAX_TOKENS = {"post": 700, "carousel": 2000, "story": 1400, "video_script": 1600, "thread": 1600, "hashtags": 700}

# Distinct angles for A/B variants, so variant 2 is not variant 1 reworded.
ANGLES = [
    "lead with the most concrete benefit for the reader",
    "open with a short, specific scene from everyday life",
    "open with a question the audience is already asking themselves",
    "lead with the most surprising fact in the brief",
    "behind the scenes: who makes it and how",
    "a practical tip first, the news second",
]

LANGUAGES = {
    "en": "English", "fr": "French", "de": "German", "es": "Spanish", "it": "Italian", "pt": "Portuguese",
    "nl": "Dutch", "sv": "Swedish", "da": "Danish", "no": "Norwegian", "nb": "Norwegian", "pl": "Polish", "ja": "Japanese",
}
REGIONS = {"US": "United States", "GB": "United Kingdom", "FR": "France", "CA": "Canada", "BE": "Belgium", "CH": "Switzerland", "DE": "Germany", "ES": "Spain", "MX": "Mexico", "BR": "Brazil", "PT": "Portugal", "AU": "Australia"}


def language_name(tag: str) -> str:
    base, _, rest = tag.partition("-")
    name = LANGUAGES.get(base.lower(), tag)
    region = rest.split("-")[-1] if rest else ""
    return f"{name} ({REGIONS[region]})" if region in REGIONS else name


def web_address(value: str | None) -> str | None:
    """A link as given, trimmed; ValueError when it is not a full http(s) address."""
    value = (value or "").strip() or None
    if value is not None and not re.match(r"^https?://\S+$", value):
        raise ValueError(f"'{value}' is not a web address; write it in full, e.g. https://example.com/pods")
    return value


def publish_date(value: Any) -> str | None:
    """YYYY-MM-DD or YYYY-MM-DD HH:MM, as the calendar export writes it, from a string or a YAML date/timestamp;
    ValueError for anything else."""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ValueError("use YYYY-MM-DD, e.g. 2027-03-01")
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"'{value}' is not a date: use YYYY-MM-DD, e.g. 2027-03-01 (or 2027-03-01 09:30)") from None
    return parsed.strftime("%Y-%m-%d %H:%M") if ("T" in value or " " in value.strip()) else parsed.date().isoformat()


class Brief(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    text: str = pydantic.Field(min_length=1)
    link: str | None = None
    language: str | None = None  # BCP-47; the brand's language when not set
    sponsored: bool = False
    date: str | None = None

    _link = pydantic.field_validator("link")(staticmethod(web_address))
    _date = pydantic.field_validator("date", mode="before")(staticmethod(publish_date))


@dataclass
class Job:
    brief: Brief
    brand: BrandProfile
    platform: PlatformRules
    kind: str
    variant: int = 1
    variants: int = 1


@dataclass
class Settings:
    max_repairs: int = 2  # rounds of "here are the violations, fix them"
    max_format_retries: int = 2  # rounds of "that reply was not usable JSON"
    temperature: float = 0.7
    max_tokens: dict[str, int] = field(default_factory=lambda: dict(MAX_TOKENS))


@dataclass
class Result:
    """One generated piece: typed content, final text, the verdict and what it cost."""

    brand: str
    platform: str
    kind: str
    variant: int
    content: Content | None
    text: str
    ok: bool
    violations: list[Violation]
    usage: Usage
    cost_usd: float | None
    attempts: int
    prompt: Prompt
    prompt_tokens: TokenCount
    model: str
    backend: str
    markdown: str = ""
    fixes: list[str] = field(default_factory=list)
    error: str | None = None  # set when no usable content came back at all
    mode: str = ""
    seconds: float = 0.0
    length: int | None = None
    limit: int | None = None
    job: Job | None = field(default=None, repr=False, compare=False)  # the job this answers; not serialised

    @property
    def errors(self) -> list[Violation]:
        return [v for v in self.violations if v.severity == "error"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "brand": self.brand, "platform": self.platform, "kind": self.kind, "variant": self.variant,
            "ok": self.ok, "text": self.text, "length": self.length, "limit": self.limit,
            "content": self.content.model_dump(mode="json") if self.content else None,
            "violations": [v.to_dict() for v in self.violations], "fixes": self.fixes,
            "usage": self.usage.to_dict(), "cost_usd": self.cost_usd, "attempts": self.attempts,
            "model": self.model, "backend": self.backend, "mode": self.mode, "error": self.error,
            "prompt_tokens": {"tokens": self.prompt_tokens.tokens, "exact": self.prompt_tokens.exact, "method": self.prompt_tokens.method},
            "seconds": round(self.seconds, 3),
        }


# Prompt ----------------------------------------------------------------------------------------


KIND_LABELS = {"post": "a post", "carousel": "a carousel", "story": "a story script", "video_script": "a short-video script", "thread": "a thread", "hashtags": "hashtags"}


def template_context(job: Job, backend_kind: str) -> dict[str, Any]:
    """Plain data for the templates (never objects that could reach Python internals)."""
    brand, platform = policy_for(job.brand, job.platform).template_data
    language = job.brief.language or brand["language"]
    return {
        "brand": brand,
        "platform": platform,
        "kind": job.kind,
        "kind_label": KIND_LABELS[job.kind],
        "rules": platform["kinds"].get(job.kind) or {},
        "brief": job.brief.model_dump(mode="json"),
        "language": language,
        "language_name": language_name(language),
        "variant": {"index": job.variant, "total": job.variants, "angle": ANGLES[(job.variant - 1) % len(ANGLES)]},
        "counting": COUNTING,
        "backend": backend_kind,
        "max_examples": 2 if backend_kind == "local" else 6,
    }


COUNTING = dict(counting.METHODS)


def build_prompt(job: Job, prompts: Prompts, backend_kind: str) -> tuple[Prompt, dict]:
    ctx = template_context(job, backend_kind)
    brand, backend = job.brand.id, backend_kind
    system, system_file = prompts.render("system.j2", ctx, brand=brand, backend=backend)
    shots, shots_file = prompts.render("fewshot.j2", ctx, brand=brand, backend=backend)
    user, user_file = prompts.render("brief.j2", ctx, brand=brand, backend=backend)
    messages = [{"role": "system", "content": system}, *_example_turns(shots, shots_file), {"role": "user", "content": user}]
    return Prompt(messages, [system_file, shots_file, user_file]), ctx


def _example_turns(text: str, source: str) -> list[dict[str, str]]:
    """The few-shot template renders a YAML list of {role, content}; empty means no examples."""
    if not text.strip():
        return []
    try:
        turns = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TemplateError(f"{source}: the few-shot template must render a YAML list of {{role, content}}: {exc}") from None
    if not isinstance(turns, list) or not all(
        isinstance(t, dict) and set(t) == {"role", "content"} and t["role"] in ("user", "assistant") and isinstance(t["content"], str) for t in turns
    ):
        raise TemplateError(f"{source}: the few-shot template must render a YAML list of {{role: user|assistant, content: text}}.")
    return turns


# Parsing ---------------------------------------------------------------------------------------


def parse_reply(reply: ChatReply, model: type[Content]) -> tuple[Content | None, str | None]:
    """The content, or a sentence saying why the reply is unusable (fed back to the model)."""
    if reply.transport_error:
        return None, reply.transport_error
    if reply.refusal:
        return None, f"you declined ({reply.refusal.strip()[:200]}). The brief is ordinary marketing content; write it."
    if reply.finish_reason == "length":
        return None, "your reply was cut off at the token limit before the JSON was complete."
    if not reply.content or not reply.content.strip():
        return None, "your reply was empty."
    raw = reply.content if reply.mode == "json_schema" else extract_json(reply.content)
    try:
        data = json.loads(raw, strict=False)  # a raw newline inside a string is fine content
    except ValueError as exc:
        return None, f"your reply is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})."
    try:
        return model.model_validate(data), None
    except pydantic.ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'top level'}: {e['msg']}" for e in exc.errors()[:4])
        return None, f"your JSON does not have the required shape ({problems})."


# The pipeline ----------------------------------------------------------------------------------

Call = dict  # keyword arguments for client.chat.completions.create
Outcome = Any  # a ChatCompletion, or the exception the call raised


class Pipeline:
    """Everything one generation needs besides the network: prompts, backend description, settings."""

    def __init__(self, prompts: Prompts, backend: Backend, settings: Settings | None = None):
        self.prompts = prompts
        self.backend = backend
        self.settings = settings or Settings()
        self.counter = TokenCounter(backend.model)

    def prepare(self, job: Job) -> tuple[Prompt, dict, TokenCount, int]:
        """Render and count the prompt; refuse before calling when it cannot fit the context window."""
        prompt, ctx = build_prompt(job, self.prompts, self.backend.kind)
        tokens = self.counter.count_messages(prompt.messages)
        max_tokens = self.settings.max_tokens.get(job.kind, 1200)
        info = model_info(self.backend.model)
        if info is not None:
            max_tokens = min(max_tokens, info.max_output)
            if tokens.tokens + max_tokens > info.context:
                raise PromptTooLongError(
                    f"The prompt is {tokens} and the answer may take {max_tokens} more, "
                    f"but {self.backend.model} has a context window of {info.context} tokens.",
                    hint="Shorten the brief or the brand's example posts, or use a model with a larger window.",
                )
        return prompt, ctx, tokens, max_tokens

    def steps(self, job: Job) -> Generator[Call, Outcome, Result]:
        started = time.perf_counter()
        model_cls = KIND_MODELS[job.kind]
        prompt, ctx, tokens, max_tokens = self.prepare(job)
        schema = _schema(model_cls)
        if self.backend.grammar:
            schema = grammar_schema(job, schema)
        base_temperature = self.backend.temperature if self.backend.temperature is not None else self.settings.temperature
        temperature = min(1.0, base_temperature + 0.1 * (job.variant - 1))
        messages = list(prompt.messages)
        allowed_links = " ".join([job.brief.text, job.brief.link or "", job.brand.model_dump_json()])
        usage, attempts, repairs, reformats = Usage(), 0, 0, 0
        content: Content | None = None
        violations: list[Violation] = []
        notes: list[str] = []
        problem: str | None = None
        mode = ""
        while True:
            # A new seed per attempt and a little more temperature per repair: asking again must not replay
            # the same sample (a small model otherwise repeats its answer word for word).
            heat = min(1.0, temperature + 0.25 * repairs)
            req = ChatRequest(messages, schema, model_cls.__name__.lower(), max_tokens, heat, seed=job.variant * 100 + attempts)
            reply = yield from self.backend.ask(req)
            attempts += 1
            usage = usage + reply.usage
            mode = reply.mode
            parsed, problem = parse_reply(reply, model_cls)
            if parsed is None:
                if reformats >= self.settings.max_format_retries:
                    break
                reformats += 1
                if reply.content:
                    messages = messages + [{"role": "assistant", "content": reply.content}]
                note, _ = self.prompts.render("reformat.j2", {**ctx, "problem": problem, "truncated": reply.finish_reason == "length"}, brand=job.brand.id, backend=self.backend.kind)
                messages = messages + [{"role": "user", "content": note}]
                continue
            content, notes = apply_fixes(parsed, job.platform, job.brand, sponsored=job.brief.sponsored, link=job.brief.link)
            violations = content.review(job.platform, job.brand, job.brief.sponsored)
            violations += check_invented_links(content.markdown(job.platform), allowed_links)
            if not has_errors(violations) or repairs >= self.settings.max_repairs:
                break
            repairs += 1
            errors = [v.to_dict() for v in violations if v.severity == "error"]
            note, _ = self.prompts.render("repair.j2", {**ctx, "violations": errors}, brand=job.brand.id, backend=self.backend.kind)
            if self.backend.repair_with_history:
                messages = messages + [
                    {"role": "assistant", "content": content.model_dump_json()},
                    {"role": "user", "content": note},
                ]
            else:  # ask afresh with the rules that broke, without the answer a small model would copy
                last = prompt.messages[-1]
                messages = prompt.messages[:-1] + [{"role": "user", "content": f"{last['content'].rstrip()}\n\n{note}"}]
        return self._result(job, prompt, tokens, content, violations, notes, usage, attempts, mode, problem, started)

    def _result(self, job, prompt, tokens, content, violations, notes, usage, attempts, mode, problem, started) -> Result:
        base = dict(
            brand=job.brand.id, platform=job.platform.id, kind=job.kind, variant=job.variant, usage=usage,
            cost_usd=cost_usd(self.backend.model, usage.prompt_tokens, usage.completion_tokens), attempts=attempts,
            prompt=prompt, prompt_tokens=tokens, model=self.backend.model, backend=self.backend.kind, mode=mode,
            seconds=time.perf_counter() - started, job=job,
        )
        if content is None:
            message = f"No usable answer after {attempts} attempt(s): {problem}"
            return Result(content=None, text="", ok=False, error=message, violations=[Violation("model_output", "error", message)], **base)
        text = content.render(job.platform)
        length, limit = _measure(content, text, job.platform)
        return Result(
            content=content, text=text, ok=not has_errors(violations), violations=violations, fixes=notes,
            markdown=content.markdown(job.platform), length=length, limit=limit, **base,
        )

    # Drivers ---------------------------------------------------------------------------------
    def run(self, job: Job) -> Result:
        steps = self.steps(job)
        client = self.backend.client()
        call = next(steps)
        while True:
            try:
                outcome = client.chat.completions.create(**call)
            except Exception as exc:  # handed to the pipeline, which decides what is fatal
                outcome = exc
            try:
                call = steps.send(outcome)
            except StopIteration as stop:
                return stop.value

    async def arun(self, job: Job, client: openai.AsyncOpenAI) -> Result:
        steps = self.steps(job)
        call = next(steps)
        while True:
            try:
                outcome = await client.chat.completions.create(**call)
            except Exception as exc:
                outcome = exc
            try:
                call = steps.send(outcome)
            except StopIteration as stop:
                return stop.value


def _measure(content: Content, text: str, platform: PlatformRules) -> tuple[int | None, int | None]:
    """The published text's length against the platform's main limit: the longest post of a thread;
    none for a story script or a hashtag set, which are not one published text."""
    if content.kind in ("story", "hashtags"):
        return None, None
    primary = platform.text.primary()
    if content.kind == "thread":
        text = max(content.rendered_posts(platform), key=lambda t: counting.count(t, primary.counting), default="")
    return counting.count(text, primary.counting), primary.max


# CamelCase words only: a small model otherwise invents tags like "#freetowncafe2018346922053".
TAG_PATTERN = "^#[A-Z][a-z]{2,12}([A-Z][a-z]{2,12}){0,2}$"


def grammar_schema(job: Job, schema: dict) -> dict:
    """The schema with the platform's limits written in (lengths, counts, hashtag shape), for backends whose
    JSON-schema grammar enforces them while sampling (llama.cpp). The validator still has the last word."""
    s = copy.deepcopy(schema)
    props = s["properties"]
    platform, policy = job.platform, policy_for(job.brand, job.platform)
    limit = platform.text.primary().max
    # Leave room for hashtags, numbering and a disclosure label that are added around the text.
    text_max = max(60, min(int(limit * 0.75), 400))
    cap = min(c for c in (policy.hashtag_cap, platform.hashtags.recommended, 5) if c is not None)

    def tags(node: dict, most: int) -> None:
        node.update({"type": "array", "items": {"type": "string", "pattern": TAG_PATTERN}, "maxItems": most})

    def text(node: dict, most: int, least: int = 20) -> None:
        node.update({"type": "string", "minLength": least, "maxLength": most})

    if "hashtags" in props and props["hashtags"].get("type") == "array" and job.kind != "hashtags":
        tags(props["hashtags"], cap)
    if "link" in props:
        props["link"] = {"type": "null"} if not job.brief.link else {"type": "string", "enum": [job.brief.link]}
    if job.kind == "post":
        text(props["text"], text_max)
    elif job.kind in ("carousel", "video_script"):
        text(props["caption"], text_max)
    if job.kind == "carousel" and platform.kinds.carousel:
        r = platform.kinds.carousel
        props["slides"].update({"minItems": max(3, r.min_slides), "maxItems": min(r.max_slides, 6)})
        slide = props["slides"]["items"]["properties"]
        text(slide["title"], min(r.slide_title_max, 50), 3)
        text(slide["body"], min(r.slide_body_max, 160), 0)
    if job.kind == "thread" and platform.kinds.thread:
        props["posts"].update({"minItems": 3, "maxItems": min(platform.kinds.thread.max_posts, 5)})
        text(props["posts"]["items"], max(60, int(limit * 0.7)))
    if job.kind == "story" and platform.kinds.story:
        props["frames"].update({"minItems": 3, "maxItems": min(platform.kinds.story.max_frames, 5)})
        text(props["frames"]["items"]["properties"]["on_screen_text"], min(platform.kinds.story.frame_text_max, 60), 3)
    if job.kind == "video_script":
        props["beats"].update({"minItems": 2, "maxItems": 5})
    if job.kind == "hashtags":
        props["hashtags"].update({"minItems": 1, "maxItems": cap})
        props["hashtags"]["items"]["properties"]["tag"] = {"type": "string", "pattern": TAG_PATTERN}
    _bound_strings(s, 160)
    return s


def _bound_strings(node, most: int) -> None:
    """Give every free-text string a ceiling, so a small model cannot ramble until max_tokens.
    (A character-class pattern would also keep out '{' debris, but makes llama.cpp's sampling ~4× slower.)"""
    if isinstance(node, dict):
        if node.get("type") == "string" and "maxLength" not in node and "pattern" not in node and "enum" not in node:
            node["maxLength"] = most
        for value in node.values():
            _bound_strings(value, most)
    elif isinstance(node, list):
        for value in node:
            _bound_strings(value, most)


@lru_cache(maxsize=None)
def _schema(model: type[Content]) -> dict:
    return strict_schema(model)


def failed_result(job: Job, backend: Backend, error: AssistantError) -> Result:
    """A job that could not run at all (the model's endpoint failed for good): reported, not raised."""
    message = str(error)
    return Result(
        brand=job.brand.id, platform=job.platform.id, kind=job.kind, variant=job.variant, content=None, text="",
        ok=False, violations=[Violation("model_error", "error", message)], usage=Usage(), cost_usd=None, attempts=0,
        prompt=Prompt([]), prompt_tokens=TokenCount(0, False, ""), model=backend.model, backend=backend.kind, error=message,
        job=job,
    )
