"""The Python API: one `Assistant` that the CLI, the web app and batch runs all go through."""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import math
from collections.abc import Callable, Iterable
from functools import cached_property

import pydantic

from .brands import BrandProfile, is_language_tag
from .catalog import Catalog
from .errors import InputError, ModelError, NotFoundError
from .generate import Brief, Job, Pipeline, Result, Settings, failed_result
from .llm import Backend, choose_backend
from .platforms import KINDS, PlatformRules
from .prompts import Prompt, Prompts
from .tokens import TokenCount
from .validation import Check, check


class Assistant:
    """Brand voice + platform rules + a model, behind plain method calls.

    >>> a = Assistant()
    >>> r = a.generate("Announce our compostable pods, on sale March 1", brand="tidewell-coffee", platform="x")
    >>> r.ok, r.text
    """

    def __init__(
        self, *, brands_dir=None, prompts_dir=None, platforms_dir=None, catalog: Catalog | None = None,
        backend: str | Backend | None = None, model: str | None = None, max_repairs: int | None = None,
        settings: Settings | None = None, timeout: float | None = None,
    ):
        self.catalog = catalog or Catalog(brands_dir=brands_dir, prompts_dir=prompts_dir, platforms_dir=platforms_dir)
        self._backend_choice = backend
        self._model = model
        if timeout is not None and not (timeout > 0 and math.isfinite(timeout)):
            raise InputError(f"The timeout must be a positive number of seconds (got {timeout}).")
        self._timeout = timeout
        self.settings = dataclasses.replace(settings) if settings else Settings()  # never change the caller's object
        if max_repairs is not None:
            if max_repairs < 0:
                raise InputError("--max-repairs must be 0 or more.")
            self.settings.max_repairs = max_repairs

    # Parts -------------------------------------------------------------------------------------
    @cached_property
    def backend(self) -> Backend:
        """Chosen on first use, so checking text never needs a model."""
        if isinstance(self._backend_choice, Backend):
            return self._backend_choice
        return choose_backend(self._backend_choice, self._model, timeout=self._timeout)

    @cached_property
    def prompts(self) -> Prompts:
        return Prompts(self.catalog.prompts_dir)

    @cached_property
    def pipeline(self) -> Pipeline:
        return Pipeline(self.prompts, self.backend, self.settings)

    def platform(self, platform: str | PlatformRules) -> PlatformRules:
        return platform if isinstance(platform, PlatformRules) else self.catalog.platform(platform)

    def brand(self, brand: str | BrandProfile | None) -> BrandProfile | None:
        return None if brand is None else self.catalog.brand(brand)

    # Checking ----------------------------------------------------------------------------------
    def check(self, text: str, platform: str | PlatformRules, brand: str | BrandProfile | None = None, *, kind: str = "post", sponsored: bool = False) -> Check:
        """Validate a text against a platform's rules and (optionally) a brand's policy."""
        rules = self.platform(platform)
        profile = self.brand(brand)
        require_kind(rules, kind)
        return check(text, rules, profile, kind=kind, sponsored=sponsored)

    # Generating --------------------------------------------------------------------------------
    def jobs(
        self, brief: str | Brief, *, brand: str | BrandProfile, platforms: Iterable[str], kinds: Iterable[str] = ("post",),
        variants: int = 1, language: str | None = None, link: str | None = None, sponsored: bool | None = None,
    ) -> list[Job]:
        """One job per platform × kind × variant, every input checked before any model is called."""
        if isinstance(brief, str):
            if not brief.strip():
                raise InputError("The brief is empty.", hint="Say what to write about, e.g. \"Announce our compostable pods, on sale March 1\".")
            brief = Brief(text=brief)
        changes = {k: v for k, v in {"language": language, "link": link, "sponsored": sponsored}.items() if v is not None}
        try:  # validated again: a link or date given here gets the same checks as one in a briefs file
            brief = Brief.model_validate({**brief.model_dump(), **changes})
        except pydantic.ValidationError as exc:
            raise InputError("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors()) + ".") from None
        if brief.language and not is_language_tag(brief.language):
            raise InputError(f"The language '{brief.language}' is not a BCP-47 tag.", hint="Use e.g. en-US, fr-FR or de.")
        if not 1 <= variants <= 10:
            raise InputError(f"The number of variants must be between 1 and 10 (got {variants}).")
        profile = self.catalog.brand(brand)
        platforms, kinds = list(dict.fromkeys(platforms)), list(dict.fromkeys(kinds))
        if not platforms:
            raise InputError("No platform given.", hint=f"Choose from: {', '.join(self.catalog.platform_files)}.")
        rules = [self.platform(p) for p in platforms]
        for r in rules:
            for k in kinds:
                require_kind(r, k)
        return [Job(brief, profile, r, k, v, variants) for r in rules for k in kinds for v in range(1, variants + 1)]

    def generate(self, brief: str | Brief, *, brand: str | BrandProfile, platform: str = "linkedin", kind: str = "post", **options) -> Result:
        """One piece of content for one platform. See `generate_many` for several platforms, kinds or variants."""
        (job,) = self.jobs(brief, brand=brand, platforms=[platform], kinds=[kind], **options)
        return self.run_job(job)

    def generate_many(
        self, brief: str | Brief, *, brand: str | BrandProfile, platforms: Iterable[str], kinds: Iterable[str] = ("post",),
        variants: int = 1, concurrency: int = 4, on_result: Callable[[Result], None] | None = None, **options,
    ) -> list[Result]:
        """The brief for every platform × kind × variant, run concurrently; results in job order."""
        jobs = self.jobs(brief, brand=brand, platforms=platforms, kinds=kinds, variants=variants, **options)
        return self.run_jobs(jobs, concurrency=concurrency, on_result=on_result)

    def run_jobs(self, jobs: list[Job], *, concurrency: int = 4, on_result: Callable[[Result], None] | None = None) -> list[Result]:
        """Run jobs, concurrently where the backend can serve several at once; `on_result` sees each as it lands."""
        if len(jobs) == 1 or self.backend.kind == "local":  # the local model serves one request at a time anyway
            results = []
            for job in jobs:
                results.append(self.run_job(job))
                if on_result:
                    on_result(results[-1])
            return results
        return run_coroutine(self.arun_jobs(jobs, concurrency=concurrency, on_result=on_result))

    def run_job(self, job: Job) -> Result:
        try:
            return self.pipeline.run(job)
        except ModelError as exc:
            return failed_result(job, self.backend, exc)

    async def arun_jobs(self, jobs: list[Job], *, concurrency: int = 4, on_result: Callable[[Result], None] | None = None) -> list[Result]:
        semaphore = asyncio.Semaphore(max(1, concurrency))
        async with self.backend.async_client() as client:
            async def one(job: Job) -> Result:
                async with semaphore:
                    try:
                        result = await self.pipeline.arun(job, client)
                    except ModelError as exc:
                        result = failed_result(job, self.backend, exc)
                if on_result:
                    on_result(result)
                return result

            return list(await asyncio.gather(*(one(j) for j in jobs)))

    def prompt(self, brief: str | Brief, *, brand: str | BrandProfile, platform: str, kind: str = "post", **options) -> tuple[Prompt, TokenCount]:
        """The exact prompt that would be sent, and its token count, without calling a model."""
        (job,) = self.jobs(brief, brand=brand, platforms=[platform], kinds=[kind], **options)
        prompt, _, tokens, _ = self.pipeline.prepare(job)
        return prompt, tokens


def run_coroutine(coro):
    """asyncio.run, also from inside a running event loop (a notebook, an async web handler)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def require_kind(platform: PlatformRules, kind: str) -> None:
    if kind not in KINDS:
        raise NotFoundError(f"Unknown content kind '{kind}'.", hint=f"Valid: {', '.join(KINDS)}.")
    if not platform.supports(kind):
        raise InputError(
            f"{platform.name} has no '{kind}' format in its rules.",
            hint=f"{platform.name} supports: {', '.join(platform.supported_kinds())}.",
        )
