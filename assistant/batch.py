"""Batch generation: a YAML file of briefs turned into every piece, concurrently, resumably, and without losing work.

One job per brief × platform × kind × variant, each with a stable id (a hash of its inputs). Finished jobs are
appended to `results.jsonl` the moment they land, one complete line each, so an interrupted or failed run is
finished later with `resume=True`, which only redoes the jobs that are not ok yet. The same jobs can also leave
the machine: `export_openai_batch` writes them in the OpenAI Batch API format (which vLLM's `run-batch` reads
too) and `collect_openai_batch` takes the provider's output through the same parsing, fixes and validation.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
import sys
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import openai
import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .api import Assistant
from .brands import is_language_tag
from .catalog import Catalog, suggest
from .errors import InputError, ModelError
from .export import result_record, to_calendar_csv, to_markdown
from .generate import Brief, Job, Pipeline, Result, failed_result, publish_date, web_address
from .llm import redact
from .loader import Positions, field_name, load_model, parse_yaml, read_text
from .platforms import KINDS
from .tokens import cost_usd, model_info

RESULTS_FILE = "results.jsonl"
CALENDAR_FILE = "calendar.csv"
SUMMARY_FILE = "summary.json"
BATCH_FILE = "openai-batch.json"  # the id of a submitted batch, saved before waiting for it
BATCH_INPUT_FILE = "openai-batch-input.jsonl"
BATCH_ENDPOINT = "/v1/chat/completions"
COLLECT_NOTE = "collected from a batch output: no repair round was possible (repairs need a live model); run `assistant batch --resume` to repair it live"

# A brief id names its Markdown file, so it stays a plain file-name-safe word.
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")


# The briefs file ---------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Common(_Strict):
    brand: str | None = None
    platforms: list[str] | None = None
    kinds: list[str] | None = None
    language: str | None = None
    variants: int | None = Field(default=None, ge=1, le=10)

    @field_validator("platforms", "kinds", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value  # `platforms: x` means [x]

    @field_validator("language")
    @classmethod
    def _bcp47(cls, value: str | None) -> str | None:
        if value is not None and not is_language_tag(value):
            raise ValueError(f"'{value}' is not a BCP-47 language tag; use e.g. en, en-US, fr-FR, de")
        return value


class BriefDefaults(_Common):
    """`defaults:` applies to every brief that does not set the field itself."""


class BriefEntry(_Common):
    """One item of `briefs:` as written in the file."""

    id: str | None = None
    brief: str
    link: str | None = None
    sponsored: bool | None = None
    date: str | None = None  # YYYY-MM-DD (or with a time), for the calendar export

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and not _ID.match(value):
            raise ValueError(f"'{value}' is not a usable id: use letters, digits, '-', '_' or '.' (it names the brief's Markdown file)")
        return value

    @field_validator("brief")
    @classmethod
    def _brief(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the brief is empty: say what to announce, e.g. \"Announce our compostable pods, on sale March 1\"")
        return value.strip()

    # The same checks as a Brief's: YAML reads 2027-03-01 as a date and 2027-03-01 09:30 as a timestamp.
    _link = field_validator("link")(staticmethod(web_address))
    _date = field_validator("date", mode="before")(staticmethod(publish_date))


class BriefsFile(_Strict):
    defaults: BriefDefaults = BriefDefaults()
    briefs: list[BriefEntry]

    @field_validator("briefs")
    @classmethod
    def _not_empty(cls, value: list[BriefEntry]) -> list[BriefEntry]:
        if not value:
            raise ValueError("the list is empty: add at least one item with a `brief:` text")
        return value


@dataclass(frozen=True)
class BatchBrief:
    """One brief with the defaults applied and every name checked against the catalog."""

    id: str
    brief: str
    brand: str
    platforms: tuple[str, ...]
    kinds: tuple[str, ...]
    variants: int = 1
    language: str | None = None
    link: str | None = None
    sponsored: bool = False
    date: str | None = None

    @property
    def jobs(self) -> int:
        return len(self.platforms) * len(self.kinds) * self.variants


def load_briefs(path: str | Path, *, catalog: Catalog | None = None) -> list[BatchBrief]:
    """Read a briefs file. Every mistake becomes one InputError naming the file, line, field and fix."""
    path = Path(path)
    return parse_briefs(read_text(path, "briefs file"), source=str(path), catalog=catalog)


def parse_briefs(text: str, *, source: str = "briefs", catalog: Catalog | None = None) -> list[BatchBrief]:
    """`load_briefs` for text that is not in a file (an upload in the web app)."""
    catalog = catalog or Catalog()
    data, positions = parse_yaml(text, source)
    if isinstance(data, list):
        raise InputError(
            f"{source}, line 1: the briefs file is a bare list.",
            hint="Put the list under a `briefs:` key (and shared settings under `defaults:`).",
        )
    model = load_model(BriefsFile, data, positions, source, what="briefs file")
    return _resolve(model, positions, source, catalog)


def derive_id(text: str) -> str:
    """A readable, stable id for a brief that has none: the first words as a slug, plus a short hash of the text."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z0-9]+", plain)[:5]
    slug = "-".join(words)[:40].strip("-") or "brief"
    return f"{slug}-{hashlib.sha256(text.encode()).hexdigest()[:6]}"


def _resolve(model: BriefsFile, positions: Positions, source: str, catalog: Catalog) -> list[BatchBrief]:
    problems: list[tuple[tuple[int, int], str]] = []

    def where(loc: tuple) -> tuple[int, int]:
        return positions.near(loc) or (0, 0)

    def problem(loc: tuple, message: str) -> None:
        line, col = where(loc)
        at = f"{source}, line {line}, column {col}" if line else source
        problems.append(((line, col), f"{at}: {message}"))

    defaults = model.defaults
    platform_ids = sorted(catalog.platform_files)
    brand_ids = catalog.brand_ids()
    resolved: list[BatchBrief] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(model.briefs):
        here = ("briefs", i)
        name = f"briefs[{i}]" + (f" ({entry.id})" if entry.id else "")

        def origin(key: str) -> tuple:
            return here + (key,) if getattr(entry, key) is not None else ("defaults", key)

        brand = entry.brand or defaults.brand
        if brand is None:
            problem(here, f"{name} has no brand, and `defaults:` sets none. Add `brand: <id>` to the brief or under `defaults:`. "
                          f"Brands: {', '.join(brand_ids) or '(none found)'}.")
        elif brand not in brand_ids:
            problem(origin("brand"), f"'{field_name(origin('brand'))}': unknown brand '{brand}'. {suggest(brand, brand_ids)}")
            brand = None
        else:
            catalog.brand(brand)  # a broken profile is reported with its own file and line

        platforms = list(dict.fromkeys(entry.platforms if entry.platforms is not None else defaults.platforms or []))
        if not platforms:
            problem(origin("platforms") if entry.platforms is not None or defaults.platforms is not None else here,
                    f"{name} has no platforms. Add `platforms: [linkedin, instagram]` to the brief or under `defaults:`. Valid: {', '.join(platform_ids)}.")
        for j, p in enumerate(platforms):
            if p not in catalog.platform_files:
                loc = origin("platforms") + (j,)
                problem(loc, f"'{field_name(loc)}': unknown platform '{p}'. {suggest(p, platform_ids)}")
        kinds = list(dict.fromkeys(entry.kinds if entry.kinds is not None else defaults.kinds or ["post"]))
        if not kinds:
            problem(origin("kinds"), f"{name} has an empty `kinds:` list. Valid: {', '.join(KINDS)}.")
        for j, k in enumerate(kinds):
            loc = origin("kinds") + (j,)
            if k not in KINDS:
                problem(loc, f"'{field_name(loc)}': unknown kind '{k}'. {suggest(k, list(KINDS))}")
                continue
            for p in platforms:
                if p in catalog.platform_files and not catalog.platform(p).supports(k):
                    rules = catalog.platform(p)
                    # When both lists come from `defaults:`, every such brief has the same problem: say it once.
                    who = "`defaults:`" if entry.kinds is None and entry.platforms is None else name
                    problem(loc, f"{who}: {rules.name} has no '{k}' format. {rules.name} supports: {', '.join(rules.supported_kinds())}. "
                                 f"Remove '{k}', or give the briefs that need it their own `platforms:` and `kinds:`.")

        brief_id = entry.id or derive_id(entry.brief)
        key = brief_id.lower()  # ids name files, and some file systems ignore case
        if key in seen:
            first = model.briefs[seen[key]]
            first_line = where(("briefs", seen[key]))[0]
            if entry.id:
                problem(here + ("id",), f"duplicate id '{brief_id}' (first used on line {first_line}). Give each brief its own id.")
            else:
                same = "the same text as" if first.brief == entry.brief else "the same derived id as"
                problem(here, f"{name} has {same} the brief on line {first_line}. Give one of them an `id:`.")
        seen.setdefault(key, i)
        if brand is None or problems:
            continue
        resolved.append(BatchBrief(
            id=brief_id, brief=entry.brief, brand=brand, platforms=tuple(platforms), kinds=tuple(kinds),
            variants=entry.variants or defaults.variants or 1, language=entry.language or defaults.language,
            link=entry.link, sponsored=bool(entry.sponsored), date=entry.date,
        ))
    if problems:
        problems = sorted(set(problems))  # a bad default is reported once, not once per brief
        if len(problems) == 1:
            raise InputError(problems[0][1])
        raise InputError("\n".join([f"{source}: the briefs file has {len(problems)} problems:", *("  - " + p for _, p in problems)]))
    return resolved


# Jobs --------------------------------------------------------------------------------------------


@dataclass
class BatchJob:
    """One piece to generate, with the id that finds it again in results.jsonl."""

    id: str
    brief: BatchBrief
    job: Job


def job_id(brief: BatchBrief, job: Job, model: str) -> str:
    """sha256 of everything that shapes the prompt and the answer, so a changed brief is a new job."""
    language = job.brief.language or job.brand.for_platform(job.platform.id).language
    inputs = [brief.id, brief.brief, job.brand.id, job.platform.id, job.kind, job.variant, language,
              job.brief.link, job.brief.sponsored, job.brief.date, model]
    return hashlib.sha256(json.dumps(inputs, ensure_ascii=False).encode()).hexdigest()[:16]


def plan_jobs(assistant: Assistant, briefs: Iterable[BatchBrief]) -> list[BatchJob]:
    """Every brief × platform × kind × variant, in file order."""
    planned = []
    model = assistant.backend.model
    for b in briefs:
        jobs = assistant.jobs(
            Brief(text=b.brief, date=b.date), brand=b.brand, platforms=b.platforms, kinds=b.kinds, variants=b.variants,
            language=b.language, link=b.link, sponsored=b.sponsored,
        )
        planned += [BatchJob(job_id(b, j, model), b, j) for j in jobs]
    return planned


# results.jsonl -----------------------------------------------------------------------------------


def read_results(path: str | Path) -> tuple[dict[str, dict], list[str]]:
    """The latest record per job id, and warnings about lines that could not be read.

    Tolerant by design: a line cut short by a killed process is skipped with a warning, never fatal."""
    path = Path(path)
    latest: dict[str, dict] = {}
    warnings: list[str] = []
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return latest, warnings
    except OSError as exc:
        raise InputError(f"{path}: cannot read the results file ({exc.strerror}).",
                         hint=f"{RESULTS_FILE} in the --out folder must be a file that this run can read.") from None
    lines = raw.split(b"\n")
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            why = "not valid JSON" if line.rstrip().endswith(b"}") else "cut off (a run was probably killed while writing it)"
            warnings.append(f"{path}, line {number}: {why}; ignored, that job will be redone.")
            continue
        missing = _missing_field(record)
        if missing:
            warnings.append(f"{path}, line {number}: not a result record (no {missing}); ignored.")
            continue
        latest[record["id"]] = record
    return latest, warnings


STATUSES = ("ok", "invalid", "error")


def _missing_field(record: Any) -> str | None:
    """The first field a results.jsonl line lacks for resuming and the Markdown, in words; None when it has them all."""
    if not isinstance(record, dict) or not isinstance(record.get("id"), str) or not record["id"]:
        return "'id'"
    if record.get("status") not in STATUSES:
        return f"'status' of {', '.join(STATUSES)}"
    for key in ("brand", "platform", "kind"):
        if not isinstance(record.get(key), str):
            return f"'{key}'"
    if not isinstance(record.get("variant"), int) or isinstance(record["variant"], bool):
        return "'variant'"
    return None


class ResultsFile:
    """results.jsonl, append-only: one complete line per finished job, written with a single system call.

    Never truncated or rewritten. A line is in the file (and visible to readers, and safe from Ctrl-C or a kill)
    as soon as `write` returns; a background thread also fsyncs, so it survives a power cut within milliseconds,
    without the event loop waiting on the disk."""

    def __init__(self, path: Path, secrets: Iterable[str | None] = ()):
        self.path = path
        self.secrets = list(secrets)
        self.written = 0  # lines this object wrote: the jobs that finished in this run
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            raise InputError(f"{path}: cannot write the results file ({exc.strerror}).", hint="Check --out and its permissions.") from None
        size = os.fstat(self._fd).st_size
        if size:
            with open(path, "rb") as f:
                f.seek(size - 1)
                if f.read(1) != b"\n":
                    os.write(self._fd, b"\n")  # a line cut off by a kill stays as it is; we start on a fresh one
        self._dirty = threading.Event()
        self._closing = False
        self._syncer = threading.Thread(target=self._sync_loop, name="results-fsync", daemon=True)
        self._syncer.start()

    def write(self, record: dict) -> None:
        # Errors are redacted upstream; this is the last line of defence.
        line = redact(json.dumps(record, ensure_ascii=False), *self.secrets)
        data = (line + "\n").encode()
        while data:  # one call in practice; a short write (disk nearly full) must still not leave half a line
            data = data[os.write(self._fd, data):]
        self.written += 1
        self._dirty.set()

    def _sync_loop(self) -> None:
        while True:
            self._dirty.wait()
            if self._closing:
                return
            self._dirty.clear()
            try:
                os.fsync(self._fd)
            except OSError:
                return

    def close(self) -> None:
        if self._fd < 0:
            return
        self._closing = True
        self._dirty.set()
        self._syncer.join()
        try:
            os.fsync(self._fd)
        except OSError:
            pass
        os.close(self._fd)
        self._fd = -1

    def __enter__(self) -> ResultsFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# Progress and summary ----------------------------------------------------------------------------


@dataclass
class Progress:
    """Where a batch stands. `done` = ok + failed + skipped, so it reaches `total` at the end; tokens and cost
    are this run's (skipped jobs cost nothing)."""

    total: int
    done: int
    ok: int
    failed: int  # invalid or error, in this run
    skipped: int  # already ok in results.jsonl (resume)
    tokens: int
    cost_usd: float
    elapsed: float
    eta_seconds: float | None
    cost_known: bool = True  # False when the model has no price in the model table


@dataclass
class BatchSummary:
    """The outcome of a batch. ok/invalid/error count every job of the briefs file by its latest status (skipped
    jobs are ok); tokens and cost are this run's."""

    total: int
    ok: int
    invalid: int
    error: int
    skipped: int
    tokens: int
    cost_usd: float
    seconds: float
    out_dir: Path
    markdown_files: list[Path]
    cost_known: bool = True
    model: str = ""
    ran: int = 0  # jobs that finished in this run (sent to the model, or collected from a batch output)
    dry_run: bool = False
    interrupted: bool = False
    plan: list[dict] = field(default_factory=list)  # dry run: one row per job that would run
    estimated_tokens: int = 0  # dry run: prompt tokens plus the maximum output tokens
    estimated_cost_usd: float | None = None  # dry run: a ceiling, None when the model has no price
    export_path: Path | None = None  # OpenAI Batch API input file, when exported
    exported: int = 0
    batch_id: str | None = None  # the provider's batch, when submitted
    failures: list[dict] = field(default_factory=list)  # {id, brief_id, platform, kind, variant, status, error}
    warnings: list[str] = field(default_factory=list)

    @property
    def export_only(self) -> bool:
        """The requests were written to a file for a provider, and nothing ran."""
        return self.export_path is not None and self.batch_id is None

    @property
    def results_path(self) -> Path:
        return self.out_dir / RESULTS_FILE

    @property
    def calendar_path(self) -> Path | None:
        """None when nothing was run or collected (a dry run, an export), so no calendar was written."""
        return None if self.dry_run or self.export_only else self.out_dir / CALENDAR_FILE

    @property
    def summary_path(self) -> Path | None:
        return None if self.dry_run or self.export_only else self.out_dir / SUMMARY_FILE

    @property
    def exit_code(self) -> int:
        """0 when every job is ok (or nothing was meant to run), 1 when some are not."""
        if self.dry_run or self.export_only:
            return 0
        return 0 if self.ok == self.total else 1

    def to_dict(self) -> dict:
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Path):
                value = str(value)
            elif isinstance(value, list) and value and isinstance(value[0], Path):
                value = [str(v) for v in value]
            out[f.name] = value
        for name in ("results_path", "calendar_path", "summary_path"):
            value = getattr(self, name)
            out[name] = None if value is None else str(value)
        out["exit_code"] = self.exit_code
        return out

    def describe(self) -> str:
        """A few lines for people, after a run or a collection (a dry run has `describe_plan`)."""
        cost = f"${self.cost_usd:.4f}" if self.cost_known else "cost unknown (no price for this model)"
        head = "Interrupted" if self.interrupted else "Done"
        lines = [
            f"{head} in {self.seconds:.1f} s: {self.ok} of {self.total} ok, {self.invalid} invalid, {self.error} error"
            + (f" ({self.skipped} already ok, skipped)" if self.skipped else "") + f"; {self.tokens:,} tokens, {cost}.",
        ]
        for f in self.failures[:10]:
            reason = (f.get("error") or "; ".join(f.get("problems", [])[:2])).splitlines()[0][:160]
            lines.append(f"  {f['status']:<8} {f['brief_id']} {f['platform']}/{f['kind']} v{f['variant']}: {reason}")
        if len(self.failures) > 10:
            lines.append(f"  … and {len(self.failures) - 10} more (status in {self.results_path.name})")
        lines.append(f"Results: {self.results_path}")
        if self.markdown_files:
            lines.append(f"Markdown: {len(self.markdown_files)} file(s) in {self.out_dir}")
        if self.calendar_path:
            lines.append(f"Calendar: {self.calendar_path}")
        return "\n".join(lines)


class ProgressBar:
    """One line on stderr, redrawn in place on a terminal (at most 10 times a second); elsewhere (CI logs, pipes)
    a line every ~10%."""

    def __init__(self, stream: TextIO | None = None, width: int = 24):
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.width = width
        self._step = -1
        self._drawn = False
        self._last_draw = 0.0

    def __call__(self, p: Progress) -> None:
        if self.tty:
            now = time.monotonic()
            if now - self._last_draw < 0.1 and p.done < p.total:
                return
            self._last_draw = now
            self.stream.write("\r" + self.line(p) + "\033[K")
            self._drawn = True
            if p.done >= p.total:
                self.finish()
        else:
            step = 10 * p.done // max(1, p.total)
            if step != self._step:
                self._step = step
                self.stream.write(self.line(p) + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False

    def line(self, p: Progress) -> str:
        filled = self.width * p.done // max(1, p.total)
        bar = "#" * filled + "-" * (self.width - filled)
        eta = "--:--" if p.eta_seconds is None else _clock(p.eta_seconds)
        cost = f"${p.cost_usd:.4f}" if p.cost_known else "cost n/a"
        skipped = f" skipped {p.skipped}" if p.skipped else ""
        return f"[{bar}] {p.done}/{p.total} ok {p.ok} failed {p.failed}{skipped} · ETA {eta} · {p.tokens:,} tokens · {cost}"


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C during a batch: every finished job is in results.jsonl; `summary` says how far it got."""

    def __init__(self, summary: BatchSummary):
        super().__init__("batch interrupted")
        self.summary = summary


class BatchWaitInterrupted(KeyboardInterrupt):
    """Ctrl-C while waiting for a submitted batch: it keeps running at the provider; collect it later by `batch_id`."""

    def __init__(self, batch_id: str):
        super().__init__(f"stopped waiting for batch {batch_id}")
        self.batch_id = batch_id


class _Tally:
    """Counts for the progress bar, updated as each job lands (always in the event loop's thread)."""

    def __init__(self, total: int, skipped: int, cost_known: bool, on_progress: Callable[[Progress], None] | None):
        self.total, self.skipped, self.cost_known = total, skipped, cost_known
        self.ok = self.failed = self.tokens = 0
        self.cost = 0.0
        self.started = time.perf_counter()
        self.on_progress = on_progress

    def add(self, record: dict | None) -> None:
        if record is not None:
            if record["status"] == "ok":
                self.ok += 1
            else:
                self.failed += 1
            self.tokens += (record.get("usage") or {}).get("total_tokens", 0)
            self.cost += record.get("cost_usd") or 0.0
        if self.on_progress:
            self.on_progress(self.progress())

    def progress(self) -> Progress:
        elapsed = time.perf_counter() - self.started
        finished = self.ok + self.failed
        done = finished + self.skipped
        eta = elapsed / finished * (self.total - done) if finished else None
        return Progress(self.total, done, self.ok, self.failed, self.skipped, self.tokens, round(self.cost, 6), elapsed, eta, self.cost_known)


# Running ------------------------------------------------------------------------------------------


def run_batch(
    path: str | Path, *, out: str | Path, concurrency: int = 4, resume: bool = False, dry_run: bool = False,
    model: str | None = None, backend: str | None = None, assistant: Assistant | None = None,
    on_progress: Callable[[Progress], None] | None = None, timeout: float | None = None, max_repairs: int | None = None,
    catalog: Catalog | None = None, export_openai_batch: str | Path | None = None, submit: bool = False,
    poll_interval: float = 30.0, on_batch_status: Callable[[Any], None] | None = None,
) -> BatchSummary:
    """Generate every job of a briefs file into `out`: results.jsonl (appended as jobs land), one Markdown file
    per brief, calendar.csv and summary.json.

    resume: skip jobs whose latest record in results.jsonl is ok; redo the rest.
    dry_run: render and count every prompt, estimate the cost, call no model, write nothing.
    export_openai_batch: write the requests in the OpenAI Batch API format instead of running them;
    with submit, upload them, wait for the provider (polling every poll_interval s) and collect its output.
    assistant: the configured Assistant to use (its backend, pipeline and catalog); otherwise one is built from
    backend/model/max_repairs/timeout/catalog (timeout: seconds per model call).
    Raises InputError on bad input and BatchInterrupted on Ctrl-C (after closing results.jsonl cleanly).
    """
    started = time.perf_counter()
    if concurrency < 1:
        raise InputError(f"--concurrency must be 1 or more (got {concurrency}).")
    if submit and dry_run:
        raise InputError("--submit and --dry-run do not go together.", hint="Use --dry-run alone to see the jobs and their cost.")
    _check_poll_interval(poll_interval)
    if assistant is not None and timeout is not None:
        raise InputError("A timeout and an Assistant were both given.", hint="Give the timeout to the Assistant: Assistant(timeout=...).")
    assistant = assistant or Assistant(catalog=catalog, backend=backend, model=model, max_repairs=max_repairs, timeout=timeout)
    briefs = load_briefs(path, catalog=assistant.catalog)
    out_dir = _out_dir(out)
    results_path = out_dir / RESULTS_FILE
    pipeline = assistant.pipeline
    jobs = plan_jobs(assistant, briefs)
    previous, warnings = read_results(results_path)
    done_before = {j.id for j in jobs if previous.get(j.id, {}).get("status") == "ok"} if resume else set()
    if not resume and any(j.id in previous for j in jobs):
        warnings.append(f"{results_path} already has results for some of these jobs; they are run again (use --resume to skip the ok ones).")
    pending = [j for j in jobs if j.id not in done_before]
    base = dict(total=len(jobs), skipped=len(done_before), out_dir=out_dir, model=pipeline.backend.model,
                cost_known=model_info(pipeline.backend.model) is not None, warnings=warnings)

    if dry_run:
        return _dry_run(pipeline, pending, base, started)
    if submit and pending:
        export_path = Path(export_openai_batch) if export_openai_batch is not None else out_dir / BATCH_INPUT_FILE
        exported = export_requests(pipeline, pending, export_path)
        batch_id, outputs = submit_openai_batch(pipeline.backend, export_path, out_dir, poll_interval=poll_interval, on_status=on_batch_status)
        lines, more = read_batch_output(outputs)
        base.update(warnings=warnings + more, export_path=export_path, exported=exported, batch_id=batch_id)
        return _collect(pipeline, jobs, briefs, lines, previous, base, started)
    if export_openai_batch is not None and not submit:
        export_path = Path(export_openai_batch)
        exported = export_requests(pipeline, pending, export_path)
        return BatchSummary(**base, ok=0, invalid=0, error=0, tokens=0, cost_usd=0.0, seconds=time.perf_counter() - started,
                            markdown_files=[], export_path=export_path, exported=exported)

    # A live run; also --submit with every job already ok, which has nothing to send and rewrites the outputs.
    _preflight(pipeline, pending)
    tally = _Tally(len(jobs), len(done_before), base["cost_known"], on_progress)
    latest = dict(previous)
    batch_job = {id(bj.job): bj for bj in pending}  # a Result names its Job; this finds the batch's job for it
    interrupted = False
    with ResultsFile(results_path, secrets=[pipeline.backend.api_key]) as results:
        def landed(result: Result) -> None:
            bj = batch_job[id(result.job)]
            record = _record(bj, result)
            results.write(record)
            latest[bj.id] = record
            tally.add(record)

        tally.add(None)
        try:
            if pending:
                assistant.run_jobs([bj.job for bj in pending], concurrency=concurrency, on_result=landed)
        except KeyboardInterrupt:
            interrupted = True
    if interrupted:  # the file is the truth: a line may have landed between two of our own updates
        latest, _ = read_results(results_path)
    summary = finish(jobs, briefs, latest, base, tally, started, interrupted=interrupted, ran=results.written)
    if interrupted:
        raise BatchInterrupted(summary)
    return summary


def _preflight(pipeline: Pipeline, jobs: list[BatchJob]) -> None:
    """Render and count every prompt before the first call, so a broken template or a prompt too long for the model
    is exit 2 with nothing spent, not a run of error records (a run isolates only what the model does)."""
    for bj in jobs:
        try:
            pipeline.prepare(bj.job)
        except InputError as exc:
            where = f"{bj.brief.id} · {bj.job.platform.id} · {bj.job.kind} · variant {bj.job.variant}"
            raise type(exc)(f"{where}: {exc.message}", hint=exc.hint) from None


def _check_poll_interval(seconds: float) -> None:
    if not (math.isfinite(seconds) and seconds >= 0):
        raise InputError(f"--poll-interval must be 0 or more seconds (got {seconds:g}).", hint="e.g. --poll-interval 30")


def _out_dir(out: str | Path) -> Path:
    out_dir = Path(out)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out {out_dir}: is a file, not a folder.", hint="Give a folder for the results; it is created if missing.")
    return out_dir


def _record(bj: BatchJob, result: Result, **extra) -> dict:
    return {**result_record(result, job_id=bj.id, brief_id=bj.brief.id, date=bj.brief.date, link=bj.brief.link), **extra}


def _dry_run(pipeline: Pipeline, jobs: list[BatchJob], base: dict, started: float) -> BatchSummary:
    plan, prompt_total, output_total, exact = [], 0, 0, True
    for bj in jobs:
        _, _, tokens, max_tokens = pipeline.prepare(bj.job)
        prompt_total += tokens.tokens
        output_total += max_tokens
        exact = exact and tokens.exact
        plan.append({"id": bj.id, "brief_id": bj.brief.id, "brand": bj.job.brand.id, "platform": bj.job.platform.id, "kind": bj.job.kind,
                     "variant": bj.job.variant, "prompt_tokens": tokens.tokens, "exact": tokens.exact, "method": tokens.method,
                     "max_output_tokens": max_tokens})
    ceiling = cost_usd(pipeline.backend.model, prompt_total, output_total)
    return BatchSummary(**base, ok=0, invalid=0, error=0, tokens=0, cost_usd=0.0, seconds=time.perf_counter() - started,
                        markdown_files=[], dry_run=True, plan=plan,
                        estimated_tokens=prompt_total + output_total, estimated_cost_usd=ceiling)


def describe_plan(summary: BatchSummary) -> str:
    """The dry run's table: one line per job, then the totals."""
    rows = [f"{'job':<17} {'brief':<28} {'platform':<15} {'kind':<13} {'var':>3} {'prompt tokens':>15}"]
    for r in summary.plan:
        label = "exact" if r["exact"] else "estimate"
        rows.append(f"{r['id']:<17} {r['brief_id'][:28]:<28} {r['platform']:<15} {r['kind']:<13} {r['variant']:>3} {r['prompt_tokens']:>7,} ({label})")
    prompt = sum(r["prompt_tokens"] for r in summary.plan)
    output = sum(r["max_output_tokens"] for r in summary.plan)
    exact = all(r["exact"] for r in summary.plan)
    skipped = f" ({summary.skipped} already ok, skipped)" if summary.skipped else ""
    rows.append(f"{len(summary.plan)} job(s){skipped}: {prompt:,} prompt tokens ({'exact' if exact else 'estimate'}) "
                f"+ up to {output:,} output tokens = {summary.estimated_tokens:,} tokens at most.")
    if summary.estimated_cost_usd is None:
        rows.append(f"Estimated cost: unknown (no price for {summary.model or 'this model'} in the model table; see ASSISTANT_MODELS_FILE).")
    else:
        rows.append(f"Estimated cost: at most ${summary.estimated_cost_usd:.4f} ({summary.model} list prices, every answer at its maximum length).")
    return "\n".join(rows)


def finish(jobs: list[BatchJob], briefs: list[BatchBrief], latest: dict[str, dict], base: dict, tally: _Tally, started: float,
           *, interrupted: bool = False, ran: int = 0) -> BatchSummary:
    """Regenerate the Markdown, calendar and summary from the latest record of every job of this briefs file."""
    out_dir: Path = base["out_dir"]
    out_dir.mkdir(parents=True, exist_ok=True)
    by_brief: dict[str, list[dict]] = {b.id: [] for b in briefs}
    counts = {"ok": 0, "invalid": 0, "error": 0}
    failures = []
    missing: dict[str, int] = {}
    for bj in jobs:
        record = latest.get(bj.id)
        if record is None:
            missing[bj.brief.id] = missing.get(bj.brief.id, 0) + 1
            continue
        # Date and link come from the briefs file as it is now (a record may predate an edit of the date).
        record = {**record, "date": bj.brief.date, "link": bj.brief.link}
        by_brief[bj.brief.id].append(record)
        status = record["status"]
        counts[status] += 1
        if status != "ok":
            failures.append({"id": bj.id, "brief_id": bj.brief.id, "platform": bj.job.platform.id, "kind": bj.job.kind, "variant": bj.job.variant,
                             "status": status, "error": record.get("error"),
                             "problems": [v["message"] for v in record.get("violations", []) if v.get("severity") == "error"][:3]})
    markdown_files = []
    for b in briefs:
        records = by_brief[b.id]
        path = out_dir / f"{b.id}.md"
        brand = records[0]["brand"] if records else b.brand
        meta = " · ".join(x for x in (f"**Brand:** {brand}", f"**Date:** {b.date}" if b.date else "", f"**Link:** {b.link}" if b.link else "",
                                      "**Sponsored**" if b.sponsored else "") if x)
        text = f"# {b.id}\n\n> {b.brief}\n\n{meta}\n\n"
        if records:
            text += to_markdown(records)
        if missing.get(b.id):
            text += f"\n_{missing[b.id]} piece(s) not generated yet: run the batch again with --resume._\n"
        _write_text(path, text)
        markdown_files.append(path)
    ordered = sorted((r for b in briefs for r in by_brief[b.id]), key=lambda r: (r.get("date") is None, r.get("date") or ""))
    summary = BatchSummary(
        **base, ok=counts["ok"], invalid=counts["invalid"], error=counts["error"], tokens=tally.tokens, cost_usd=round(tally.cost, 6),
        seconds=time.perf_counter() - started, markdown_files=markdown_files, interrupted=interrupted, ran=ran, failures=failures,
    )
    _write_text(summary.calendar_path, to_calendar_csv(ordered))
    _write_json(summary.summary_path, summary.to_dict())
    return summary


def _write_text(path: Path, text: str) -> None:
    """Whole-file outputs are replaced atomically, so a reader never sees half a calendar."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_json(path: Path, data: dict) -> None:
    _write_text(path, json.dumps(data, ensure_ascii=False, indent=1) + "\n")


# Beyond one machine: the OpenAI Batch API (and vLLM run-batch) ----------------------------------


def batch_request(pipeline: Pipeline, bj: BatchJob) -> dict:
    """One line of a Batch API input file: exactly the call the pipeline would make first for this job."""
    steps = pipeline.steps(bj.job)
    body = next(steps)
    steps.close()
    return {"custom_id": bj.id, "method": "POST", "url": BATCH_ENDPOINT, "body": body}


def export_requests(pipeline: Pipeline, jobs: list[BatchJob], path: str | Path) -> int:
    """Write the jobs as an OpenAI Batch API input file (vLLM's `run-batch` reads the same format). Every prompt is
    rendered before anything is written, so a broken template leaves no file."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder; the batch input file needs a file name.",
                         hint=f"Give --export-openai-batch a file, e.g. {path / BATCH_INPUT_FILE}.")
    text = "".join(json.dumps(batch_request(pipeline, bj), ensure_ascii=False) + "\n" for bj in jobs)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_text(path, text)
    except OSError as exc:
        reason = "a folder on its path is a file" if isinstance(exc, (FileExistsError, NotADirectoryError)) else exc.strerror
        raise InputError(f"{path}: cannot write the batch input file ({reason}).",
                         hint="Give --export-openai-batch a file in a folder you can write to.") from None
    return len(jobs)


def collection_pipeline(pipeline: Pipeline) -> Pipeline:
    """The pipeline for answers that come back from a batch provider: it takes one reply through parsing, fixes
    and validation, and stops there (no reformat or repair round, since those need a live model). A result that
    still breaks a hard rule is recorded as invalid, and `run_batch(resume=True)` can repair it live later."""
    settings = dataclasses.replace(pipeline.settings, max_repairs=0, max_format_retries=0)
    return Pipeline(pipeline.prompts, pipeline.backend, settings)


def collect_result(collecting: Pipeline, bj: BatchJob, line: dict | None) -> Result:
    """One provider output line → the Result the live pipeline would have produced from that reply.
    `collecting` is a `collection_pipeline`, built once per collection."""
    if line is None:
        return failed_result(bj.job, collecting.backend, ModelError("no answer for this job in the batch output"))
    response = line.get("response") or {}
    status = response.get("status_code")
    body = response.get("body")
    if line.get("error") or status != 200:
        error = line.get("error") or (body.get("error") if isinstance(body, dict) else None) or {}
        message = error.get("message") if isinstance(error, dict) else str(error)
        return failed_result(bj.job, collecting.backend, ModelError(f"the batch answered {status or 'with an error'}: {message or 'no details'}"))
    try:
        completion = openai.types.chat.ChatCompletion.model_validate(body)
    except pydantic.ValidationError as exc:
        return failed_result(bj.job, collecting.backend, ModelError(f"the batch answer is not a chat completion ({exc.error_count()} problem(s))"))
    steps = collecting.steps(bj.job)
    next(steps)
    try:
        steps.send(completion)
    except StopIteration as stop:
        return stop.value
    raise AssertionError("a collection pipeline allows no second model call")


def read_batch_output(paths: Iterable[str | Path]) -> tuple[dict[str, dict], list[str]]:
    """custom_id → output line, from one or more provider files (output and error files alike)."""
    lines: dict[str, dict] = {}
    warnings: list[str] = []
    for path in paths:
        text = read_text(Path(path), "batch output file")
        for number, raw in enumerate(text.split("\n"), 1):  # not splitlines(): U+2028 inside a string is not a line end
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
            except ValueError:
                warnings.append(f"{path}, line {number}: not valid JSON; ignored.")
                continue
            if not isinstance(item, dict) or not isinstance(item.get("custom_id"), str):
                warnings.append(f"{path}, line {number}: no custom_id; ignored.")
                continue
            if "body" in item and "response" not in item:
                warnings.append(f"{path}, line {number}: a request, not an answer (this looks like the batch input file); ignored.")
                continue
            if item["custom_id"] in lines:
                warnings.append(f"{path}, line {number}: custom_id {item['custom_id']} appears again; the later line wins.")
            lines[item["custom_id"]] = item
    return lines, warnings


def collect_openai_batch(
    outputs: str | Path | Iterable[str | Path], *, briefs: str | Path, out: str | Path, model: str | None = None,
    backend: str | None = None, assistant: Assistant | None = None, catalog: Catalog | None = None,
) -> BatchSummary:
    """Take a provider's batch output file(s) through the same parsing, deterministic fixes and validation as a
    live run, and write the same outputs. Jobs are matched by custom_id, so use the same briefs file and model as
    the export. A job with no line is an error, unless results.jsonl already has it ok."""
    started = time.perf_counter()
    paths = [outputs] if isinstance(outputs, (str, Path)) else list(outputs)
    files = ", ".join(map(str, paths))
    assistant = assistant or Assistant(catalog=catalog, backend=backend, model=model)
    batch_briefs = load_briefs(briefs, catalog=assistant.catalog)
    out_dir = _out_dir(out)
    lines, warnings = read_batch_output(paths)
    if not lines:
        shown = "".join(f"\n  - {w}" for w in warnings[:3]) + (f"\n  … and {len(warnings) - 3} more" if len(warnings) > 3 else "")
        raise InputError(f"{files}: no line is an answer from a batch.{shown}",
                         hint="Give the output (and error) file the provider wrote: for OpenAI the batch's output file, for vLLM the file run-batch wrote.")
    pipeline = assistant.pipeline
    jobs = plan_jobs(assistant, batch_briefs)
    ids = {j.id for j in jobs}
    if not ids & set(lines):
        raise InputError(
            f"None of the {len(lines)} line(s) in {files} belong to a job of {briefs} with model {pipeline.backend.model}.",
            hint="Collect with the same briefs file and the same --model (or ASSISTANT_MODEL) as the export: job ids include both.",
        )
    strangers = len(set(lines) - ids)
    if strangers:
        warnings.append(f"{strangers} line(s) of the batch output belong to no job of {briefs}; ignored.")
    previous, more = read_results(out_dir / RESULTS_FILE)
    base = dict(total=len(jobs), out_dir=out_dir, model=pipeline.backend.model, cost_known=model_info(pipeline.backend.model) is not None,
                warnings=warnings + more)
    return _collect(pipeline, jobs, batch_briefs, lines, previous, base, started)


def _collect(pipeline: Pipeline, jobs: list[BatchJob], briefs: list[BatchBrief], lines: dict[str, dict], previous: dict[str, dict],
             base: dict, started: float) -> BatchSummary:
    """Record a result for every job from its output line, then write the outputs. A job with no line keeps an ok
    record from before; otherwise it is an error."""
    done_before = {j.id for j in jobs if j.id not in lines and previous.get(j.id, {}).get("status") == "ok"}
    base = {**base, "skipped": len(done_before)}
    collecting = collection_pipeline(pipeline)
    tally = _Tally(len(jobs), len(done_before), base["cost_known"], None)
    latest = dict(previous)
    with ResultsFile(base["out_dir"] / RESULTS_FILE, secrets=[pipeline.backend.api_key]) as results:
        for bj in jobs:
            if bj.id in done_before:
                continue
            result = collect_result(collecting, bj, lines.get(bj.id))
            note = {"note": COLLECT_NOTE} if result.content is not None and not result.ok else {}
            record = _record(bj, result, source="openai-batch", **note)
            results.write(record)
            latest[bj.id] = record
            tally.add(record)
    return finish(jobs, briefs, latest, base, tally, started, ran=results.written)


def submit_openai_batch(backend, export_path: Path, out_dir: Path, *, poll_interval: float = 30.0,
                        on_status: Callable[[Any], None] | None = None) -> tuple[str, list[Path]]:
    """Upload a Batch API input file, start the batch, wait for it, and download its output (and error) files
    into `out_dir`. Returns the batch id and the downloaded files. The batch id is saved in `out_dir/openai-batch.json`
    at once; Ctrl-C while waiting raises BatchWaitInterrupted with it, for `batch-collect --batch-id`."""
    _check_poll_interval(poll_interval)
    client = backend.client()
    try:
        with open(export_path, "rb") as f:
            uploaded = client.files.create(file=(Path(export_path).name, f.read(), "application/jsonl"), purpose="batch")
        batch = client.batches.create(input_file_id=uploaded.id, endpoint=BATCH_ENDPOINT, completion_window="24h")
    except openai.NotFoundError as exc:
        raise ModelError(f"{_where(backend)} has no Batch API ({redact(exc.message, backend.api_key)}).",
                         hint="Use --export-openai-batch and run the file with the provider's own batch tool (e.g. vLLM run-batch).") from None
    except openai.APIError as exc:
        raise backend.error_for(exc) from None
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_json(out_dir / BATCH_FILE, {"batch_id": batch.id, "input_file_id": uploaded.id, "input_file": str(export_path)})
    try:
        return batch.id, download_openai_batch(backend, batch.id, out_dir, poll_interval=poll_interval, on_status=on_status)
    except KeyboardInterrupt:
        raise BatchWaitInterrupted(batch.id) from None


TERMINAL = ("completed", "failed", "expired", "cancelled")


def download_openai_batch(backend, batch_id: str, out_dir: str | Path, *, poll_interval: float = 30.0,
                          on_status: Callable[[Any], None] | None = None) -> list[Path]:
    """Wait for a submitted batch to end, then save its output and error files in `out_dir`."""
    _check_poll_interval(poll_interval)
    out_dir = _out_dir(out_dir)
    client = backend.client()
    try:
        batch = client.batches.retrieve(batch_id)
    except openai.NotFoundError as exc:
        raise InputError(f"{_where(backend)} has no batch '{batch_id}' ({redact(exc.message, backend.api_key)}).",
                         hint=f"Check --batch-id: `assistant batch --submit` saves it in {BATCH_FILE} in its --out folder.") from None
    except openai.APIError as exc:
        raise backend.error_for(exc) from None
    out_dir.mkdir(parents=True, exist_ok=True)
    what = f"batch '{batch_id}'"
    try:
        while batch.status not in TERMINAL:
            if on_status:
                on_status(batch)
            time.sleep(poll_interval)
            batch = client.batches.retrieve(batch_id)
        if on_status:
            on_status(batch)
        if batch.status != "completed" and not (batch.output_file_id or batch.error_file_id):
            errors = "; ".join(e.message or "" for e in (batch.errors.data if batch.errors and batch.errors.data else []))
            raise ModelError(f"Batch {batch_id} ended {batch.status}" + (f": {errors}" if errors else "."),
                             hint="Fix the cause and submit again; nothing was collected.")
        saved = []
        for file_id, name in ((batch.output_file_id, "openai-batch-output.jsonl"), (batch.error_file_id, "openai-batch-errors.jsonl")):
            if file_id:
                what = f"file '{file_id}' (of batch {batch_id})"
                path = out_dir / name
                _write_text(path, client.files.content(file_id).text)
                saved.append(path)
    except openai.NotFoundError as exc:  # backend.error_for would blame the model: here it is the batch or a file
        raise ModelError(f"{_where(backend)} has no {what} any more ({redact(exc.message, backend.api_key)}).") from None
    except openai.APIError as exc:
        raise backend.error_for(exc) from None
    return saved


def _where(backend) -> str:
    return backend.base_url or "OpenAI"


def describe_batch_status(batch) -> str:
    counts = batch.request_counts
    done = f" {counts.completed + counts.failed}/{counts.total}" if counts and counts.total else ""
    return f"batch {batch.id}: {batch.status}{done}"
