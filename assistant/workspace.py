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
from .batch import BatchSummary, parse_briefs, run_batch
from .brands import BrandProfile
from .catalog import Catalog, suggest
from .errors import AssistantError, InputError, NotFoundError
from .generate import Brief, Job, Result, publish_date
from .llm import describe_backend
from .loader import load_model, parse_yaml, read_text
from .platforms import PlatformRules
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
    def from_form(cls, assistant: Assistant, brand, platforms, kind, brief, language=None, variants=1, link=None, sponsored=False,
                  date=None) -> Request:
        """Form values as typed (blank fields are None). Only what the form itself can get wrong is refused here;
        `Assistant.jobs` checks the brief, the language, the link and the number of variants."""
        if not brand:
            raise InputError("Choose a brand.", hint="Brand profiles live in the brands folder; see the Brand profiles tab.")
        known_brand(assistant, brand)
        if not platforms:
            raise InputError("Choose at least one platform.")
        try:
            variants = int(variants or 1)
        except (TypeError, ValueError):
            raise InputError("Variants must be a whole number between 1 and 10.") from None
        try:
            date = publish_date(date)
        except ValueError as exc:  # Assistant.jobs takes no date: it comes with the brief, so it is checked here
            raise InputError(f"{exc}.") from None
        return cls(
            brand=brand, platforms=tuple(dict.fromkeys(platforms)), kind=kind or "post", brief=(brief or "").strip(),
            language=(language or "").strip() or None, variants=variants, link=(link or "").strip() or None,
            sponsored=bool(sponsored), date=date,
        )

    def jobs(self, assistant: Assistant, platforms: tuple[str, ...] | None = None) -> list[Job]:
        brief = Brief(text=self.brief, date=self.date) if self.brief.strip() else self.brief  # the API refuses an empty one in words
        return assistant.jobs(
            brief, brand=self.brand, platforms=platforms or self.platforms, kinds=[self.kind], variants=self.variants,
            language=self.language, link=self.link, sponsored=self.sponsored or None,
        )


def known_brand(assistant: Assistant, brand: str) -> str:
    """A brand id from the brands folder. The catalog also loads a profile from a file path, which a form or an API
    caller must not be able to point anywhere on the server."""
    ids = assistant.catalog.brand_ids()
    if brand not in ids:
        raise NotFoundError(f"Unknown brand '{brand}'.", hint=suggest(str(brand), ids) if ids else "Add a profile on the Brand profiles tab.")
    return brand


@dataclass
class Entry:
    """One result as it stands in the session: the model's piece, and the text as the user has edited it."""

    result: Result
    text: str
    # The verdict on `text`, from the first edit on (the pipeline's stands until then; a hashtag set, whose tags the
    # pipeline does not count, gets one at once). None for a piece with no single text (a story, a failure).
    check: Check | None = None

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
        return preview.status_of(self.violations) if self.result.content is not None else "error"

    @property
    def markdown(self) -> str:
        if not self.edited:
            return self.result.markdown
        original = self.result.text
        if original and original in self.result.markdown:
            return self.result.markdown.replace(original, self.text, 1)
        return self.text

    def recheck(self, assistant: Assistant, sponsored: bool) -> Check | None:
        """The verdict on the text as it stands; None when the piece has no single text to check."""
        if not self.editable:
            return None
        return assistant.check(self.text, self.platform, self.result.brand, kind=self.kind, sponsored=sponsored)

    def record(self, request: Request | None = None) -> dict:
        """The line this piece adds to an export: the batch format, with the edited text and its verdict when edited."""
        r = self.result
        if self.edited:
            violations = self.violations
            r = replace(r, text=self.text, markdown=self.markdown, ok=not has_errors(violations), violations=violations,
                        length=self.length, limit=self.limit)
        data = export.result_record(
            r, job_id=f"{r.platform}-{r.kind}-{r.variant}", brief_id="web",
            date=request.date if request else None, link=request.link if request else None,
        )
        return {**data, "edited": True} if self.edited else data


def _about_text(v: Violation, kind: str) -> bool:
    """Does this violation come from checking the piece's main text (and so get replaced when the text is re-checked)?
    A thread or a hashtag set is nothing but its text; the other kinds mark their text's violations with the `where`
    their review gives it, and keep those of the parts an edit of the text cannot change (title, slides, beats)."""
    if kind in ("thread", "hashtags"):
        return True
    if kind == "post":
        return v.where is None
    if kind in ("carousel", "video_script"):
        return v.where == "caption"
    return False


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

    @property
    def sponsored(self) -> bool:
        return bool(self.request and self.request.sponsored)

    def add(self, assistant: Assistant, result: Result) -> Entry:
        entry = Entry(result, result.text)
        if result.length is None:  # the pipeline measured the text of every kind but a hashtag set: count its tags here
            entry.check = entry.recheck(assistant, self.sponsored)
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
            entry.check = entry.recheck(assistant, self.sponsored)
        return entry

    def regenerate(self, assistant: Assistant, platform: str, on_progress: Callable[[int, int], None] | None = None) -> list[Entry]:
        """Write a platform's pieces again. The old ones stay until every new one is in, so a run that fails
        half-way loses nothing. `on_progress(done, total)` hears of each piece."""
        if self.request is None:
            raise InputError("Nothing to regenerate yet.", hint="Press Generate first.")
        jobs = self.request.jobs(assistant, platforms=(platform,))
        fresh: list[Result] = []
        if on_progress:
            on_progress(0, len(jobs))
        for result in iter_results(assistant, jobs):
            fresh.append(result)
            if on_progress:
                on_progress(len(fresh), len(jobs))
        self.drop(platform)
        return [self.add(assistant, result) for result in fresh]

    def entry(self, platform: str, variant: int | None = None) -> Entry | None:
        return self.entries.get((platform, variant or self.selected.get(platform, 1)))

    def variants(self, platform: str) -> list[int]:
        return sorted(v for p, v in self.entries if p == platform)

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


def entry_view(entry: Entry, rules: PlatformRules, brand_name: str) -> EntryView:
    r = entry.result
    page = preview.preview_html(rules, brand_name, r.kind, r.content, entry.text, error=r.error)
    if r.content is None:
        counter = preview.failed_counter_html()
    elif r.kind == "story":
        story_rules = rules.kinds.story
        counter = preview.story_counter_html(len(r.content.frames), sum(f.seconds for f in r.content.frames),
                                             story_rules.max_frames if story_rules else None, entry.status)
    else:
        counter = text_counter_html(rules, r.kind, entry.length, entry.limit, entry.status)
    usage = preview.usage_html(
        tokens=r.usage.total_tokens, prompt_tokens=r.usage.prompt_tokens, completion_tokens=r.usage.completion_tokens,
        cost_usd=r.cost_usd, calls=r.attempts, model=r.model, backend=r.backend, seconds=r.seconds,
    )
    problems = preview.violations_html(entry.violations, [] if entry.edited else r.fixes)
    return EntryView(page, counter, problems, usage)


def text_counter_html(rules: PlatformRules, kind: str, length: int | None, limit: int | None, status: str) -> str:
    """The counter of a text: against the platform's main limit, counted its way; a hashtag set against its cap."""
    if kind == "hashtags":
        unit, method = "hashtags", None
    else:
        primary = rules.text.primary()
        unit, method = primary.unit + (", longest post" if kind == "thread" else ""), primary.counting
    return preview.counter_html(length or 0, limit or 0, status, counting_method=method, unit=unit)


def check_view(assistant: Assistant, text: str, platform: str, brand: str | None, kind: str, sponsored: bool) -> EntryView:
    """The Check tab: any text against a platform's rules and (optionally) a brand's policy."""
    if not platform:
        raise InputError("Choose a platform to check against.")
    rules = assistant.platform(platform)
    brand = known_brand(assistant, brand) if brand else None
    check = assistant.check(text, rules, brand, kind=kind, sponsored=sponsored)
    status = preview.status_of(check.violations)
    brand_name = assistant.catalog.brand(brand).name if brand else "Your brand"
    return EntryView(
        preview.text_card_html(rules, brand_name, kind, text),
        text_counter_html(rules, kind, check.length, check.limit, status),
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


def check_profile(text: str, source: str, platforms: set[str] | None = None) -> ProfileCheck:
    """Validate profile YAML exactly as `assistant brands validate` does, one problem per line."""
    try:
        data, positions = parse_yaml(text, source)
        load_model(BrandProfile, data, positions, source, what="brand profile", context={"platforms": platforms} if platforms else None)
    except InputError as exc:
        problems = list(exc.problems)
        if exc.hint:  # the loader's advice goes with the last problem
            line, message = problems[-1]
            problems[-1] = (line, f"{message} → {exc.hint}")
        return ProfileCheck(problems)
    return ProfileCheck()


def profile_text(assistant: Assistant, brand_id: str | None) -> str:
    """The YAML of a profile in the brands folder, as the editor shows it ("" for none)."""
    path = assistant.catalog.brand_files().get(brand_id or "")
    return read_text(path, "brand profile") if path else ""


def _inside(folder: Path, path: Path) -> Path:
    folder = folder.resolve()
    target = path.resolve()
    if target.parent != folder:
        raise InputError("A profile can only be saved directly inside the brand profiles folder.")
    return target


def save_profile(catalog: Catalog, brand_id: str, text: str) -> ProfileCheck:
    """Overwrite a profile of the catalog's brands folder, only when the new text is valid."""
    existing = catalog.brand_files().get(brand_id or "")
    if existing is None:
        raise InputError(f"There is no profile '{brand_id}' in the brands folder to save over.", hint="Use 'Save as new' instead.")
    target = _inside(catalog.brands_dir, existing)
    result = check_profile(text, target.name, set(catalog.platform_files))
    if result.ok:
        target.write_text(_with_newline(text), encoding="utf-8")
        result.saved = target
        catalog.reload()
    return result


def save_new_profile(catalog: Catalog, name: str, text: str) -> ProfileCheck:
    """Write a new profile under a safe file name made from `name`; never outside the folder, never over a file."""
    slug = slugify(name)
    if not slug:
        raise InputError("Give the new profile a name with letters or digits, e.g. 'Tidewell Coffee EU'.")
    folder = catalog.brands_dir
    target = _inside(folder, folder / f"{slug}.yaml")
    if target.exists() or target.with_suffix(".yml").exists():
        raise InputError(f"A profile named '{slug}' already exists.", hint="Pick another name, or open that profile and use Save.")
    result = check_profile(text, target.name, set(catalog.platform_files))
    if result.ok:
        try:
            with open(target, "x", encoding="utf-8") as f:  # "x": fails rather than overwrite a file that appeared meanwhile
                f.write(_with_newline(text))
        except FileExistsError:
            raise InputError(f"A profile named '{slug}' already exists.", hint="Pick another name.") from None
        result.saved = target
        catalog.reload()
    return result


def _with_newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


# Batch -------------------------------------------------------------------------------------------


def run_batch_zip(
    assistant: Assistant, briefs_file: str | Path, folder: str | Path, *, concurrency: int = 4,
    on_progress: Callable | None = None,
) -> tuple[BatchSummary, Path]:
    """Run a briefs file with the app's assistant into a fresh folder, and zip the outputs for download.
    Returns (BatchSummary, zip path)."""
    # Checked first under the name the user knows: run_batch would name the file by its temporary upload path.
    parse_briefs(read_text(Path(briefs_file), "briefs file"), source=Path(briefs_file).name, catalog=assistant.catalog)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix=f"batch-{time.strftime('%Y%m%d-%H%M%S')}-", dir=folder))
    out = run_dir / "outputs"
    summary = run_batch(briefs_file, out=out, concurrency=concurrency, assistant=assistant, on_progress=on_progress)
    archive = shutil.make_archive(str(run_dir / f"batch-outputs-{time.strftime('%Y%m%d-%H%M%S')}"), "zip", root_dir=out)
    return summary, Path(archive)


# The header --------------------------------------------------------------------------------------


def backend_header(assistant: Assistant) -> dict:
    """Which backend the app runs on, in words, with the hint on how to switch; never raises."""
    try:
        backend = assistant.backend
    except AssistantError as exc:
        return {"ready": False, "summary": exc.message, "hint": exc.hint or "", "model": "", "label": "no model available"}
    return {**describe_backend(backend), "label": f"{backend.model} · {backend.kind}"}
