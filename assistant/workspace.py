"""What the web app keeps and does besides drawing: a session of results and edits, exports, safe profile saving, batch zips.

Pure Python on top of the `Assistant` API, so every rule here is tested without a browser.
"""

from __future__ import annotations

import datetime as dt
import queue
import re
import shutil
import tempfile
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import export, preview
from .api import Assistant
from .brands import BrandProfile, is_language_tag
from .errors import AssistantError, InputError
from .generate import Brief, Job, Result
from .llm import describe_backend
from .loader import load_model, parse_yaml
from .validation import Check, Violation, has_errors

# Kinds whose publishable text can be edited and re-checked as one text (a story is a script of frames).
EDITABLE_KINDS = ("post", "carousel", "video_script", "thread", "hashtags")
EXPORT_FORMATS = {"jsonl": ".jsonl", "markdown": ".md", "csv": ".csv"}


# One generation request and its results ---------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """What the user asked for on the Generate tab."""

    brand: str
    platforms: tuple[str, ...]
    kind: str = "post"
    brief: str = ""
    language: str | None = None
    variants: int = 1
    link: str | None = None
    sponsored: bool = False
    date: str | None = None

    @classmethod
    def from_form(cls, brand, platforms, kind, brief, language=None, variants=1, link=None, sponsored=False, date=None) -> Request:
        """Form values as typed (blank fields are None), with the mistakes a form allows turned into InputErrors."""
        if not brand:
            raise InputError("Choose a brand.", hint="Brand profiles live in the brands folder; see the Brand profiles tab.")
        if not platforms:
            raise InputError("Choose at least one platform.")
        try:
            variants = int(variants or 1)
        except (TypeError, ValueError):
            raise InputError("Variants must be a whole number between 1 and 10.") from None
        if not (brief or "").strip():
            raise InputError("The brief is empty.", hint="Say what to announce, e.g. \"Announce our compostable pods, on sale March 1\".")
        language = (language or "").strip() or None
        if language and not is_language_tag(language):
            raise InputError(f"'{language}' is not a language tag.", hint="Use a BCP-47 tag such as en-US, fr-FR or de, or leave it empty for the brand's.")
        link = (link or "").strip() or None
        if link and not re.match(r"^https?://\S+$", link):
            raise InputError(f"'{link}' is not a web address.", hint="Write it in full, e.g. https://example.com/pods")
        return cls(
            brand=brand, platforms=tuple(dict.fromkeys(platforms)), kind=kind or "post", brief=(brief or "").strip(),
            language=language, variants=variants, link=link, sponsored=bool(sponsored),
            date=publish_date(date),
        )

    def jobs(self, assistant: Assistant, platforms: tuple[str, ...] | None = None) -> list[Job]:
        brief = Brief(text=self.brief, date=self.date) if self.brief.strip() else self.brief  # the API refuses an empty one
        return assistant.jobs(
            brief, brand=self.brand, platforms=platforms or self.platforms, kinds=[self.kind], variants=self.variants,
            language=self.language, link=self.link, sponsored=self.sponsored or None,
        )


def publish_date(value: str | None) -> str | None:
    """YYYY-MM-DD or YYYY-MM-DD HH:MM, as the calendar export and the briefs file write it."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InputError(f"'{value}' is not a date.", hint="Use YYYY-MM-DD, e.g. 2027-03-01 (or 2027-03-01 09:30).") from None
    return parsed.strftime("%Y-%m-%d %H:%M") if ("T" in value or " " in value) else parsed.date().isoformat()


@dataclass
class Entry:
    """One result as it stands in the session: the model's piece, and the text as the user has edited it."""

    result: Result
    text: str
    check: Check | None = None  # the verdict on `text`; None when the piece has no single text to check

    @property
    def platform(self) -> str:
        return self.result.platform

    @property
    def kind(self) -> str:
        return self.result.kind

    @property
    def editable(self) -> bool:
        return self.result.content is not None and self.kind in EDITABLE_KINDS

    @property
    def edited(self) -> bool:
        return self.editable and self.text != self.result.text

    @property
    def violations(self) -> list[Violation]:
        """The result's verdict until the text is edited; then the edited text's, plus what still concerns other parts
        (slides, beats, the title), which editing the text cannot change."""
        if not self.edited or self.check is None:
            return list(self.result.violations)
        fresh = list(self.check.violations)
        if self.kind in ("carousel", "video_script"):
            fresh = [replace(v, where=v.where or "caption") for v in fresh]
        return fresh + [v for v in self.result.violations if not _about_text(v, self.kind)]

    @property
    def length(self) -> int | None:
        return self.check.length if self.check else self.result.length

    @property
    def limit(self) -> int | None:
        return self.check.limit if self.check else self.result.limit

    @property
    def status(self) -> str:
        return preview.status_of(self.violations, self.length, self.limit) if self.result.content is not None else "error"

    @property
    def markdown(self) -> str:
        if not self.edited:
            return self.result.markdown
        original = self.result.text
        if original and original in self.result.markdown:
            return self.result.markdown.replace(original, self.text, 1)
        return self.text

    def record(self, request: Request | None = None) -> dict:
        """The line this piece adds to an export: the batch format, with the edited text where there is one."""
        r = self.result
        data = export.result_record(
            r, job_id=f"{r.platform}-{r.kind}-{r.variant}", brief_id="web",
            date=request.date if request else None, link=request.link if request else None,
        )
        if self.edited:
            violations = self.violations
            data.update(
                text=self.text, markdown=self.markdown, ok=not has_errors(violations),
                status="invalid" if has_errors(violations) else "ok", violations=[v.to_dict() for v in violations],
                length=self.length, limit=self.limit, edited=True,
            )
        return data


def _about_text(v: Violation, kind: str) -> bool:
    """Does this violation come from checking the piece's main text (and so get replaced when the text is re-checked)?"""
    if kind in ("thread", "hashtags"):
        return True
    if kind == "post":
        return v.where is None
    if kind in ("carousel", "video_script"):
        return v.where == "caption"
    return False


CHECK_KIND = {"post": "post", "carousel": "carousel", "video_script": "video_script", "thread": "thread", "hashtags": "hashtags"}


def check_entry_text(assistant: Assistant, result: Result, text: str, sponsored: bool) -> Check | None:
    if result.content is None or result.kind not in EDITABLE_KINDS:
        return None
    return assistant.check(text, result.platform, result.brand, kind=CHECK_KIND[result.kind], sponsored=sponsored)


@dataclass
class Session:
    """Everything one browser session has generated, in platform order, with the user's edits."""

    request: Request | None = None
    brand_name: str = ""
    entries: dict[tuple[str, int], Entry] = field(default_factory=dict)
    selected: dict[str, int] = field(default_factory=dict)  # platform -> the variant shown in its tab

    @classmethod
    def start(cls, assistant: Assistant, request: Request) -> Session:
        return cls(request=request, brand_name=assistant.catalog.brand(request.brand).name)

    def add(self, assistant: Assistant, result: Result) -> Entry:
        check = check_entry_text(assistant, result, result.text, bool(self.request and self.request.sponsored))
        entry = Entry(result, result.text, check)
        self.entries[(result.platform, result.variant)] = entry
        self.selected.setdefault(result.platform, 1)
        return entry

    def edit(self, assistant: Assistant, platform: str, text: str, variant: int | None = None) -> Entry | None:
        """Re-check the edited text of a platform's shown variant; None when there is nothing to edit."""
        entry = self.entry(platform, variant)
        if entry is None or not entry.editable:
            return entry
        text = text or ""
        if text != entry.text:
            entry.text = text
            entry.check = check_entry_text(assistant, entry.result, text, bool(self.request and self.request.sponsored))
        return entry

    def entry(self, platform: str, variant: int | None = None) -> Entry | None:
        return self.entries.get((platform, variant or self.selected.get(platform, 1)))

    def variants(self, platform: str) -> list[int]:
        return sorted(v for p, v in self.entries if p == platform)

    def platforms(self) -> list[str]:
        return list(dict.fromkeys(p for p, _ in self.entries))

    def ordered(self) -> list[Entry]:
        order = {p: i for i, p in enumerate(self.request.platforms)} if self.request else {}
        return sorted(self.entries.values(), key=lambda e: (order.get(e.platform, 99), e.platform, e.result.variant))

    def records(self) -> list[dict]:
        return [e.record(self.request) for e in self.ordered()]

    def drop(self, platform: str) -> None:
        for key in [k for k in self.entries if k[0] == platform]:
            del self.entries[key]

    def summary(self) -> tuple[str, str]:
        """One line on the run, and its status: ok, warning (advice or edits needed) or error."""
        entries = self.ordered()
        if not entries:
            return "", "ok"
        broken = sum(e.status == "error" for e in entries)
        advice = sum(e.status == "warning" for e in entries)
        tokens = sum(e.result.usage.total_tokens for e in entries)
        costs = [e.result.cost_usd for e in entries if e.result.cost_usd]
        seconds = max((e.result.seconds for e in entries), default=0.0)
        parts = [f"{len(entries)} piece{'s' if len(entries) != 1 else ''} ready"]
        if broken:
            parts.append(f"{broken} break{'s' if broken == 1 else ''} a rule")
        if advice:
            parts.append(f"{advice} with advice")
        parts.append(f"{tokens:,} tokens")
        if costs:
            parts.append(f"≈ ${sum(costs):.4f}")
        if seconds >= 0.05:
            parts.append(f"{seconds:.1f} s")
        return " · ".join(parts), "error" if broken else ("warning" if advice else "ok")


def iter_results(assistant: Assistant, jobs: list[Job]) -> Iterator[Result]:
    """The results of `jobs` as each one lands (concurrently where the backend allows), so the web app can show
    every platform as soon as it is ready instead of after the slowest one."""
    landed: queue.Queue = queue.Queue()
    done = object()

    def work() -> None:
        try:
            assistant.run_jobs(jobs, on_result=landed.put)
        except BaseException as exc:  # handed to the caller, who decides what the user sees
            landed.put(exc)
        else:
            landed.put(done)

    threading.Thread(target=work, name="web-generate", daemon=True).start()
    while (item := landed.get()) is not done:
        if isinstance(item, BaseException):
            raise item
        yield item


@dataclass(frozen=True)
class EntryView:
    """The HTML of one platform tab."""

    preview: str
    counter: str
    problems: str
    usage: str


def entry_view(entry: Entry, rules, brand_name: str) -> EntryView:
    r = entry.result
    page = preview.preview_html(rules, brand_name, r.kind, r.content, entry.text, error=r.error)
    if r.content is None:
        counter = preview.failed_counter_html()
    elif r.kind == "story":
        story_rules = rules.kinds.story
        counter = preview.story_counter_html(len(r.content.frames), sum(f.seconds for f in r.content.frames),
                                             story_rules.max_frames if story_rules else None, entry.status)
    else:
        check = entry.check
        unit = check.measures[0].unit if check and check.measures else ("hashtags" if r.kind == "hashtags" else "characters")
        if r.kind == "thread":
            unit = f"{unit}, longest post"
        counter = preview.counter_html(entry.length or 0, entry.limit or 0, entry.status,
                                       counting_method=check.counting if check else None, unit=unit)
    usage = preview.usage_html(
        tokens=r.usage.total_tokens, prompt_tokens=r.usage.prompt_tokens, completion_tokens=r.usage.completion_tokens,
        cost_usd=r.cost_usd, calls=r.attempts, model=r.model, backend=r.backend, seconds=r.seconds,
    )
    problems = preview.violations_html(entry.violations, [] if entry.edited else r.fixes)
    return EntryView(page, counter, problems, usage)


def check_view(assistant: Assistant, text: str, platform: str, brand: str | None, kind: str, sponsored: bool) -> EntryView:
    """The Check tab: any text against a platform's rules and (optionally) a brand's policy."""
    rules = assistant.platform(platform)
    check = assistant.check(text, platform, brand or None, kind=kind, sponsored=sponsored)
    unit = check.measures[0].unit if check.measures else ("hashtags" if kind == "hashtags" else "characters")
    status = preview.status_of(check.violations, check.length, check.limit)
    brand_name = assistant.catalog.brand(brand).name if brand else "Your brand"
    return EntryView(
        preview.text_card_html(rules, brand_name, kind, text),
        preview.counter_html(check.length, check.limit, status, counting_method=check.counting, unit=unit),
        preview.violations_html(check.violations), "",
    )


# Export ------------------------------------------------------------------------------------------


def export_session(session: Session, fmt: str, folder: str | Path) -> Path:
    """Write the session's results (edits included) as JSON lines, Markdown or the calendar CSV, the batch formats."""
    if fmt not in EXPORT_FORMATS:
        raise InputError(f"Unknown export format '{fmt}'.", hint=f"Use one of: {', '.join(EXPORT_FORMATS)}.")
    records = session.records()
    if not records:
        raise InputError("Nothing to export yet.", hint="Generate something first, then export.")
    request = session.request
    if fmt == "jsonl":
        text = export.to_jsonl(records)
    elif fmt == "markdown":
        title = f"{session.brand_name or request.brand} · {preview.KIND_LABELS.get(request.kind, request.kind)}"
        text = export.to_markdown(records, title=title, brief=request.brief)
    else:
        text = export.to_calendar_csv(records)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    name = {"jsonl": "results", "markdown": "content", "csv": "calendar"}[fmt]
    path = folder / f"{slugify(request.brand) or 'brand'}-{name}-{stamp}{EXPORT_FORMATS[fmt]}"
    path.write_text(text, encoding="utf-8")
    return path


# Brand profiles ----------------------------------------------------------------------------------


def slugify(name: str, *, max_length: int = 60) -> str:
    """A file-name-safe id: lowercase ASCII letters, digits and single dashes ('Café Crème' → 'cafe-creme')."""
    plain = unicodedata.normalize("NFKD", name or "")
    plain = "".join(c for c in plain if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:max_length].strip("-")


@dataclass
class ProfileCheck:
    """The verdict on a profile's YAML: problems as (line or None, message); `saved` is where it was written."""

    problems: list[tuple[int | None, str]] = field(default_factory=list)
    profile: BrandProfile | None = None
    saved: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def lines(self) -> list[int | None]:
        return [line for line, _ in self.problems]

    @property
    def messages(self) -> list[str]:
        return [message for _, message in self.problems]


_LINE = re.compile(r"line (\d+)")


def check_profile(text: str, source: str, platforms: set[str] | None = None) -> ProfileCheck:
    """Validate profile YAML exactly as `assistant brands validate` does, split into one problem per line."""
    try:
        data, positions = parse_yaml(text, source)
        profile = load_model(BrandProfile, data, positions, source, what="brand profile",
                             context={"platforms": platforms} if platforms else None)
    except InputError as exc:
        parts = exc.message.split("\n  - ")
        if len(parts) > 1:
            parts = parts[1:]  # the first line only says how many problems follow
        if exc.hint:
            parts[-1] = f"{parts[-1]} → {exc.hint}"
        return ProfileCheck([(int(m.group(1)) if (m := _LINE.search(p)) else None, p) for p in parts])
    return ProfileCheck(profile=profile)


def _inside(folder: Path, path: Path) -> Path:
    folder = folder.resolve()
    target = path.resolve()
    if target.parent != folder:
        raise InputError("A profile can only be saved directly inside the brand profiles folder.")
    return target


def save_profile(brands_dir: str | Path, brand_id: str, text: str, platforms: set[str] | None = None) -> ProfileCheck:
    """Overwrite an existing profile, only when the new text is valid."""
    folder = Path(brands_dir)
    candidates = [folder / f"{brand_id}.yaml", folder / f"{brand_id}.yml"]
    existing = next((p for p in candidates if p.is_file()), None)
    if not brand_id or slugify(brand_id) != brand_id.lower() or existing is None:
        raise InputError(f"There is no profile '{brand_id}' in the brands folder to save over.", hint="Use 'Save as new' instead.")
    target = _inside(folder, existing)
    result = check_profile(text, target.name, platforms)
    if result.ok:
        target.write_text(_with_newline(text), encoding="utf-8")
        result.saved = target
    return result


def save_new_profile(brands_dir: str | Path, name: str, text: str, platforms: set[str] | None = None) -> ProfileCheck:
    """Write a new profile under a safe file name made from `name`; never outside the folder, never over a file."""
    slug = slugify(name)
    if not slug:
        raise InputError("Give the new profile a name with letters or digits, e.g. 'Tidewell Coffee EU'.")
    folder = Path(brands_dir)
    target = _inside(folder, folder / f"{slug}.yaml")
    if target.exists() or target.with_suffix(".yml").exists():
        raise InputError(f"A profile named '{slug}' already exists.", hint="Pick another name, or open that profile and use Save.")
    result = check_profile(text, target.name, platforms)
    if result.ok:
        try:
            with open(target, "x", encoding="utf-8") as f:  # "x": fails rather than overwrite a file that appeared meanwhile
                f.write(_with_newline(text))
        except FileExistsError:
            raise InputError(f"A profile named '{slug}' already exists.", hint="Pick another name.") from None
        result.saved = target
    return result


def _with_newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


# Batch -------------------------------------------------------------------------------------------


def run_batch_zip(
    assistant: Assistant, briefs_file: str | Path, folder: str | Path, *, concurrency: int = 4,
    on_progress: Callable | None = None,
):
    """Run a briefs file with the app's assistant into a fresh folder, and zip the outputs for download.
    Returns (BatchSummary, zip path)."""
    from .batch import run_batch

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix=f"batch-{time.strftime('%Y%m%d-%H%M%S')}-", dir=folder))
    out = run_dir / "outputs"
    try:
        summary = run_batch(briefs_file, out=out, concurrency=concurrency, assistant=assistant, on_progress=on_progress)
    except InputError as exc:  # name the file as the user knows it, not by its upload path
        raise InputError(exc.message.replace(str(briefs_file), Path(briefs_file).name), hint=exc.hint) from None
    archive = shutil.make_archive(str(run_dir / f"batch-outputs-{time.strftime('%Y%m%d-%H%M%S')}"), "zip", root_dir=out)
    return summary, Path(archive)


# The header --------------------------------------------------------------------------------------


def backend_header(assistant: Assistant) -> dict:
    """Which backend the app runs on, in words, with the hint on how to switch; never raises."""
    try:
        backend = assistant.backend
    except AssistantError as exc:
        return {"ready": False, "summary": exc.message, "hint": exc.hint or "", "model": "", "label": "no model available"}
    status = describe_backend(backend)
    return {**status, "reason": backend.reason, "model": backend.model, "label": f"{backend.model} · {backend.kind}"}
