"""The `assistant` command: a thin shell over the Python API. Errors become messages and exit codes here."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import counting
from .api import Assistant
from .brands import load_brand
from .catalog import Catalog
from .errors import AssistantError, InputError
from .loader import read_text
from .platforms import KINDS


def _common(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("folders")
    group.add_argument("--brands-dir", default=argparse.SUPPRESS, help="brand profiles folder (env ASSISTANT_BRANDS_DIR)")
    group.add_argument("--prompts-dir", default=argparse.SUPPRESS, help="your prompt templates, looked up before the defaults (env ASSISTANT_PROMPTS_DIR)")
    group.add_argument("--platforms-dir", default=argparse.SUPPRESS, help="platform rule files that replace or add to the defaults (env ASSISTANT_PLATFORMS_DIR)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="assistant", description="Social media content in your brand's voice, valid for every platform.")
    _common(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("check", help="validate a text against a platform's rules and a brand's policy")
    _common(p)
    p.add_argument("--platform", "-p", required=True, help="platform id, e.g. x, linkedin, instagram")
    p.add_argument("--brand", "-b", help="brand id (file name in the brands folder) or path to a profile")
    p.add_argument("--kind", "-k", default="post", choices=KINDS, help="content kind (thread: posts separated by lines of '---')")
    p.add_argument("--sponsored", action="store_true", help="the text is paid content: require the disclosure label")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--text", "-t", help="the text to check")
    src.add_argument("--file", "-f", help="read the text from a UTF-8 file")
    src.add_argument("stdin", nargs="?", choices=["-"], help="read the text from standard input")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("platforms", help="list the platforms and their key limits")
    _common(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_platforms)

    p = sub.add_parser("brands", help="list brand profiles; `brands validate [PATH]` checks profile files")
    _common(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_brands)
    brands_sub = p.add_subparsers(dest="brands_command", metavar="validate")
    v = brands_sub.add_parser("validate", help="check brand profile files (a file or a folder; default: the brands folder)")
    _common(v)
    v.add_argument("path", nargs="?", help="a profile file or a folder of profiles")
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=cmd_brands_validate)
    p = sub.add_parser("generate", help="write content for one brief: every platform x kind x variant")
    _common(p)
    _model_options(p)
    p.add_argument("--brand", "-b", required=True, help="brand id or path to a profile")
    p.add_argument("--platform", "-p", action="append", required=True, help="platform id; repeat for several")
    p.add_argument("--kind", "-k", action="append", choices=KINDS, help="content kind; repeat for several (default: post)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--brief", help="what to write about")
    src.add_argument("--brief-file", help="read the brief from a UTF-8 file")
    p.add_argument("--variants", "-n", type=int, default=1, help="distinct variants per platform and kind, for A/B tests")
    p.add_argument("--language", "-l", help="BCP-47 language to write in (default: the brand's)")
    p.add_argument("--link", help="the link to share")
    p.add_argument("--sponsored", action="store_true", help="paid content: the brand's disclosure label is required")
    p.add_argument("--show-prompt", action="store_true", help="print each rendered prompt and its token count to stderr")
    p.add_argument("--dry-run", action="store_true", help="render and count the prompts, call no model")
    p.add_argument("--json", action="store_true", help="one JSON object per result, one per line")
    p.set_defaults(func=cmd_generate)
    p = sub.add_parser("batch", help="generate every brief of a YAML file: concurrent, resumable, results appended as they land")
    _common(p)
    _model_options(p)
    p.add_argument("briefs", metavar="BRIEFS.yaml", help="the briefs file (see examples/briefs.yaml)")
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="folder for results.jsonl, Markdown per brief, calendar.csv, summary.json")
    p.add_argument("--concurrency", "-c", type=int, default=4, help="model calls in flight at once (default 4)")
    p.add_argument("--resume", action="store_true", help="skip jobs already ok in DIR/results.jsonl, redo the rest")
    p.add_argument("--dry-run", action="store_true", help="render and count every prompt, estimate the cost, call no model")
    p.add_argument("--timeout", type=float, help="seconds to wait for each model call (env ASSISTANT_TIMEOUT, default 60)")
    p.add_argument("--export-openai-batch", metavar="FILE.jsonl", help="write the requests in the OpenAI Batch API format (vLLM run-batch reads it too) instead of running them")
    p.add_argument("--submit", action="store_true", help="upload the requests to the OpenAI Batch API, wait for the batch, and collect its output")
    p.add_argument("--poll-interval", type=float, default=30.0, help="seconds between batch status checks with --submit (default 30)")
    p.add_argument("--json", action="store_true", help="print the summary (or the dry-run plan) as one JSON object")
    p.set_defaults(func=cmd_batch)

    p = sub.add_parser("batch-collect", help="turn a provider's batch output file into the same results, Markdown and calendar")
    _common(p)
    _model_options(p)
    p.add_argument("outputs", nargs="*", metavar="RESULTS.jsonl", help="the provider's output file(s), e.g. the output and error files")
    p.add_argument("--briefs", required=True, metavar="BRIEFS.yaml", help="the briefs file the batch was exported from")
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="folder for results.jsonl, Markdown per brief, calendar.csv, summary.json")
    p.add_argument("--batch-id", help="download a submitted batch's output (waiting for it to finish) instead of reading files")
    p.add_argument("--poll-interval", type=float, default=30.0, help="seconds between batch status checks with --batch-id (default 30)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.set_defaults(func=cmd_batch_collect)

    p = sub.add_parser("ui", help="open the web app in the browser (same as `python ui.py`)", add_help=False)
    p.add_argument("ui_args", nargs=argparse.REMAINDER, help="options of the web app (see `assistant ui --help`)")
    p.set_defaults(func=cmd_ui)

    p = sub.add_parser("doctor", help="which model backend is active, why, and how to switch")
    _common(p)
    _model_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_doctor)
    return parser


def _model_options(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("model")
    group.add_argument("--model", "-m", help="model name (env ASSISTANT_MODEL; default gpt-4.1-mini on OpenAI)")
    group.add_argument("--backend", choices=["auto", "local", "openai", "compatible"], help="auto (default): OPENAI_BASE_URL, else OPENAI_API_KEY, else the bundled local model")
    group.add_argument("--max-repairs", type=int, help="rounds of sending violations back to the model (default 2)")


def _catalog(args: argparse.Namespace) -> Catalog:
    return Catalog(
        brands_dir=getattr(args, "brands_dir", None),
        prompts_dir=getattr(args, "prompts_dir", None),
        platforms_dir=getattr(args, "platforms_dir", None),
    )


def _read_input(args: argparse.Namespace) -> tuple[str, str]:
    if args.text is not None:
        return args.text, "--text"
    if args.file is not None:
        return read_text(Path(args.file), "text file"), args.file
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8").removeprefix("\ufeff"), "standard input"
    except UnicodeDecodeError as exc:
        raise InputError(f"standard input: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}).", hint="Send UTF-8 text.") from None


def cmd_check(args: argparse.Namespace) -> int:
    assistant = Assistant(catalog=_catalog(args))
    text, source = _read_input(args)
    # A trailing newline from a file or a shell pipe is not part of the post.
    text = text.rstrip("\n") if source != "--text" else text
    if not text.strip():
        raise InputError(f"{source}: the text is empty.", hint="Give the text to check with --text, --file or on standard input.")
    result = assistant.check(text, args.platform, args.brand, kind=args.kind, sponsored=args.sponsored)
    if args.json:
        print(json.dumps({**result.to_dict(), "kind": args.kind, "brand": args.brand}, ensure_ascii=False))
    else:
        platform = assistant.platform(args.platform)
        status = "ok" if result.ok else "NOT OK"
        sizes = " and ".join(f"{m.length} / {m.limit} {counting.METHODS.get(m.counting, m.unit)}" for m in result.measures) or f"{result.length} / {result.limit} {result.counting}"
        print(f"{platform.name}: {sizes} · {status}")
        for v in result.violations:
            print(f"  {v.severity:<7} {v.rule}{f' ({v.where})' if v.where else ''}: {v.message}")
    return 0 if result.ok else 1


def _assistant(args: argparse.Namespace) -> Assistant:
    return Assistant(catalog=_catalog(args), backend=args.backend, model=args.model, max_repairs=args.max_repairs)


def cmd_generate(args: argparse.Namespace) -> int:
    assistant = _assistant(args)
    brief = args.brief if args.brief is not None else read_text(Path(args.brief_file), "brief file")
    jobs = assistant.jobs(
        brief, brand=args.brand, platforms=args.platform, kinds=args.kind or ["post"], variants=args.variants,
        language=args.language, link=args.link, sponsored=args.sponsored or None,
    )
    if args.show_prompt or args.dry_run:
        for job in jobs:
            prompt, _, tokens, max_tokens = assistant.pipeline.prepare(job)
            print(f"===== prompt: {job.platform.id} · {job.kind} · variant {job.variant} · {tokens} (+ up to {max_tokens} for the answer)", file=sys.stderr)
            print(prompt.text, file=sys.stderr)
        if args.dry_run:
            return 0
    if not args.json:
        print(f"Generating {len(jobs)} piece(s) with {assistant.backend.describe()}…", file=sys.stderr)

    def show(result) -> None:
        if args.json:
            print(json.dumps(result.to_dict(), ensure_ascii=False), flush=True)
        else:
            print(render_result(result), flush=True)

    results = assistant.run_jobs(jobs, on_result=show)
    bad = [r for r in results if not r.ok]
    if bad and not args.json:
        print(f"{len(bad)} of {len(results)} result(s) break a hard rule (see above).", file=sys.stderr)
    return 1 if bad else 0


def render_result(result) -> str:
    status = "ok" if result.ok else "NOT OK"
    cost = f" · ${result.cost_usd:.4f}" if result.cost_usd else ""
    size = f" · {result.length}/{result.limit}" if result.length is not None else ""
    head = f"===== {result.platform} · {result.kind}{f' · variant {result.variant}' if result.variant > 1 else ''} · {status}{size} · {result.attempts} call(s) · {result.usage.total_tokens} tokens{cost}"
    lines = [head, result.markdown or result.text or (result.error or "")]
    for v in result.violations:
        lines.append(f"  {v.severity:<7} {v.rule}{f' ({v.where})' if v.where else ''}: {v.message}")
    for note in result.fixes:
        lines.append(f"  fixed   {note}")
    return "\n".join(lines) + "\n"


def cmd_batch(args: argparse.Namespace) -> int:
    from .batch import BatchInterrupted, BatchWaitInterrupted, ProgressBar, describe_batch_status, describe_plan, run_batch

    bar = ProgressBar(sys.stderr)
    try:
        summary = run_batch(
            args.briefs, out=args.out, concurrency=args.concurrency, resume=args.resume, dry_run=args.dry_run,
            model=args.model, backend=args.backend, max_repairs=args.max_repairs, timeout=args.timeout, catalog=_catalog(args),
            export_openai_batch=args.export_openai_batch, submit=args.submit, poll_interval=args.poll_interval,
            on_progress=bar, on_batch_status=lambda b: print(describe_batch_status(b), file=sys.stderr),
        )
    except BatchInterrupted as stop:
        bar.finish()
        s = stop.summary
        _print_warnings(s)
        _batch_report(s, args.json)
        print(f"Interrupted: {s.ok + s.invalid + s.error} of {s.total} job(s) have a result, every finished one in {s.results_path}.", file=sys.stderr)
        print(f"Finish with: assistant batch {args.briefs} --out {args.out} --resume", file=sys.stderr)
        return 130
    except BatchWaitInterrupted as stop:
        bar.finish()
        print(f"Stopped waiting. Batch {stop.batch_id} keeps running at the provider; collect it when it is done with:\n"
              f"  assistant batch-collect --batch-id {stop.batch_id} --briefs {args.briefs} --out {args.out}", file=sys.stderr)
        return 130
    bar.finish()
    _print_warnings(summary)
    if summary.dry_run:
        print(json.dumps(summary.to_dict(), ensure_ascii=False) if args.json else describe_plan(summary))
        return 0
    if summary.export_only:
        if args.json:
            print(json.dumps(summary.to_dict(), ensure_ascii=False))
        else:
            skipped = f" ({summary.skipped} already ok, left out)" if summary.skipped else ""
            print(f"Wrote {summary.exported} request(s){skipped} to {summary.export_path} (OpenAI Batch API format; vLLM run-batch reads it too).", file=sys.stderr)
            print(f"Then: assistant batch-collect OUTPUT.jsonl --briefs {args.briefs} --out {args.out}", file=sys.stderr)
        return 0
    _batch_report(summary, args.json)
    return summary.exit_code


def cmd_batch_collect(args: argparse.Namespace) -> int:
    from .batch import collect_openai_batch, describe_batch_status, download_openai_batch

    if bool(args.outputs) == bool(args.batch_id):
        raise InputError("Give the batch output file(s), or --batch-id to download a submitted batch (not both).",
                         hint=f"e.g. assistant batch-collect output.jsonl --briefs {args.briefs} --out {args.out}")
    assistant = _assistant(args)
    outputs = args.outputs
    if args.batch_id:
        outputs = download_openai_batch(assistant.backend, args.batch_id, args.out, poll_interval=args.poll_interval,
                                        on_status=lambda b: print(describe_batch_status(b), file=sys.stderr))
    summary = collect_openai_batch(outputs, briefs=args.briefs, out=args.out, assistant=assistant)
    _print_warnings(summary)
    _batch_report(summary, args.json)
    return summary.exit_code


def _print_warnings(summary) -> None:
    for warning in summary.warnings:
        print(f"warning: {warning}", file=sys.stderr)


def _batch_report(summary, as_json: bool) -> None:
    if as_json:
        print(json.dumps(summary.to_dict(), ensure_ascii=False))
    else:
        print(summary.describe())
        if summary.exit_code and not summary.interrupted:
            print(f"{summary.total - summary.ok} job(s) not ok: fix what the messages say, or run again with --resume to retry them.", file=sys.stderr)


def cmd_ui(args: argparse.Namespace) -> int:
    from .webapp import main as webapp_main

    return webapp_main(args.ui_args)


def cmd_doctor(args: argparse.Namespace) -> int:
    from .llm import backend_status
    from .local import check_available
    from .tokens import TokenCounter

    status = backend_status(args.backend, args.model)
    catalog = _catalog(args)
    local_ok, local_detail = check_available()
    tokens = TokenCounter(status["model"]).count("hello") if status.get("model") else None
    report = {
        **status,
        "local_model": {"available": local_ok, "detail": local_detail},
        "token_counting": tokens.method if tokens else None,
        "token_counting_exact": tokens.exact if tokens else None,
        "brands_dir": str(catalog.brands_dir), "brands": catalog.brand_ids(),
        "platforms": sorted(catalog.platform_files),
        "prompts_dir": str(catalog.prompts_dir) if catalog.prompts_dir else None,
    }
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
    else:
        mark = "ok" if status["ready"] else "NOT READY"
        print(f"{status['summary']} [{mark}]")
        if status.get("reason"):
            print(f"  why: {status['reason']}")
        if status.get("hint"):
            print(f"  → {status['hint']}")
        print(f"Bundled model: {'available' if local_ok else 'not available'} ({local_detail})")
        if tokens:
            print(f"Token counting for {status['model']}: {'exact' if tokens.exact else 'estimated'} ({tokens.method})")
        print(f"Brands: {len(report['brands'])} in {report['brands_dir']}")
        print(f"Platforms: {', '.join(report['platforms'])}")
        print(f"Prompts: {report['prompts_dir'] or 'bundled defaults'}")
    return 0 if status["ready"] else 1


def cmd_platforms(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    platforms = catalog.platforms
    if args.json:
        print(json.dumps([p.model_dump(mode="json") for p in platforms.values()], ensure_ascii=False, indent=1))
        return 0
    print(f"{'id':<15} {'limit':<26} {'hashtags':<13} {'fold':<8} {'links':<10} kinds")
    for p in platforms.values():
        limit = " + ".join(f"{lim.max} {lim.unit}" for lim in p.text.limits)
        tags = f"max {p.hashtags.max}" if p.hashtags.max is not None else f"≤{p.hashtags.recommended} advised"
        fold = str(p.fold.chars or f"{p.fold.lines} lines") if p.fold else "-"
        links = "clickable" if p.links.clickable else "no"
        print(f"{p.id:<15} {limit:<26} {tags:<13} {fold:<8} {links:<10} {', '.join(p.supported_kinds())}")
    return 0


def cmd_brands(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    rows, failures = [], []
    for brand_id in catalog.brand_ids():
        try:
            b = catalog.brand(brand_id)
        except AssistantError as exc:
            failures.append({"id": brand_id, "error": str(exc)})
            continue
        rows.append({
            "id": b.id, "name": b.name, "language": b.language, "audience": b.audience,
            "emoji": "no" if not b.emoji.allowed else (f"max {b.emoji.max}" if b.emoji.max is not None else "yes"),
            "hashtags_max": b.hashtags.max, "brand_hashtags": b.hashtags.brand,
            "disclosure": b.disclosure_labels(), "platform_overrides": sorted(b.platforms),
        })
    if args.json:
        print(json.dumps({"brands_dir": str(catalog.brands_dir), "brands": rows, "invalid": failures}, ensure_ascii=False, indent=1))
    else:
        print(f"Brand profiles in {catalog.brands_dir}:")
        for r in rows:
            print(f"  {r['id']:<22} {r['name']:<24} {r['language']:<6} emoji {r['emoji']:<6} {r['audience'][:60]}")
        for f in failures:
            print(f"  {f['id']:<22} INVALID: {f['error']}", file=sys.stderr)
    return 2 if failures else 0


def cmd_brands_validate(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    target = Path(args.path) if args.path else catalog.brands_dir
    if target.is_dir():
        files = sorted(target.glob("*.yaml")) + sorted(target.glob("*.yml"))
        if not files:
            raise InputError(f"{target}: no .yaml brand profiles in this folder.")
    else:
        files = [target]
    results = []
    for path in files:
        try:
            brand = load_brand(path, set(catalog.platform_files))
            results.append({"file": str(path), "ok": True, "name": brand.name})
        except AssistantError as exc:
            results.append({"file": str(path), "ok": False, "error": str(exc)})
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=1))
    else:
        for r in results:
            if r["ok"]:
                print(f"ok    {r['file']} ({r['name']})")
            else:
                print(f"error: {r['error']}", file=sys.stderr)
    return 0 if all(r["ok"] for r in results) else 2


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
