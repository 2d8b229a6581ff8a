"""How fast `run_batch` turns a briefs file into content: 200 jobs against the loopback OpenAI-protocol server with
200 ms of latency per call, at concurrency 1 and 16 in the same run, compared with the ideal ceil(200/16) × 0.2 s.

    python bench/bench_batch.py                 # the full comparison (the concurrency-1 run alone takes ≥ 40 s)
    python bench/bench_batch.py --jobs 64 --latency 0.1

Timing is in-process around `run_batch` (loading the briefs, planning, every call, writing every output), after a
one-job warm-up, so interpreter start-up and first imports are excluded. Goal: concurrency 16 within 1.3× ideal.

The loopback server runs in its own process by default, as a real endpoint would: in this process its handler
threads would compete with the batch's event loop for the GIL and measure the test harness, not the batch.
`--server-in-process` shows that cost.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fake_content import responder  # noqa: E402
from openai_server import OpenAIServer  # noqa: E402

PLATFORMS = ["x", "linkedin", "instagram", "facebook", "threads"]
KINDS = ["post", "hashtags"]
VARIANTS = 2
PER_BRIEF = len(PLATFORMS) * len(KINDS) * VARIANTS


def briefs_yaml(jobs: int) -> str:
    if jobs % PER_BRIEF:
        raise SystemExit(f"--jobs must be a multiple of {PER_BRIEF} ({len(PLATFORMS)} platforms × {len(KINDS)} kinds × {VARIANTS} variants)")
    lines = ["defaults:", "  brand: tidewell-coffee", f"  platforms: [{', '.join(PLATFORMS)}]", f"  kinds: [{', '.join(KINDS)}]",
             f"  variants: {VARIANTS}", "briefs:"]
    for i in range(jobs // PER_BRIEF):
        lines += [f"  - id: brief-{i:03d}", f"    brief: \"Announce our compostable coffee pods, batch {i}, on sale March {i % 28 + 1}.\"",
                  f"    date: 2027-03-{i % 28 + 1:02d}"]
    return "\n".join(lines) + "\n"


def serve(latency: float, conn) -> None:
    """The loopback server in a child process: answers 'count' with the chat calls so far, stops on 'stop'."""
    with OpenAIServer(latency=latency) as server:
        server.responder = responder
        conn.send(server.url)
        while conn.recv() == "count":
            conn.send(sum(1 for r in server.requests if r.path.endswith("/chat/completions")))


@contextlib.contextmanager
def loopback_server(latency: float, in_process: bool):
    """Yields (base URL, a function returning the chat calls the server has answered)."""
    if in_process:
        with OpenAIServer(latency=latency) as server:
            server.responder = responder
            yield server.url, lambda: sum(1 for r in server.requests if r.path.endswith("/chat/completions"))
        return
    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe()
    child = ctx.Process(target=serve, args=(latency, theirs), daemon=True)
    child.start()
    try:
        url = ours.recv()

        def calls() -> int:
            ours.send("count")
            return ours.recv()

        yield url, calls
    finally:
        ours.send("stop")
        child.join(timeout=10)


def timed_run(path: Path, out: Path, concurrency: int) -> tuple[float, object]:
    from assistant import run_batch

    started = time.perf_counter()
    summary = run_batch(path, out=out, concurrency=concurrency)
    return time.perf_counter() - started, summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds the server waits before each answer (> 0)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--server-in-process", action="store_true", help="run the loopback server in this process (shares the GIL)")
    args = parser.parse_args()
    if args.latency <= 0 or args.concurrency < 1:
        parser.error("--latency must be more than 0 and --concurrency at least 1")

    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp, loopback_server(args.latency, args.server_in_process) as (url, calls):
        work = Path(tmp)
        os.environ.update(OPENAI_BASE_URL=url, OPENAI_API_KEY="sk-bench-not-a-real-key", ASSISTANT_MODEL="test-model",
                          ASSISTANT_CACHE_DIR=str(work / "cache"), ASSISTANT_MAX_RETRIES="0")
        for name in ("ASSISTANT_BACKEND", "ASSISTANT_MODELS_FILE", "ASSISTANT_PROMPTS_DIR", "ASSISTANT_BRANDS_DIR", "ASSISTANT_PLATFORMS_DIR"):
            os.environ.pop(name, None)
        path = work / "briefs.yaml"
        path.write_text(briefs_yaml(args.jobs), encoding="utf-8")
        warm = work / "warm.yaml"
        warm.write_text("defaults: {brand: tidewell-coffee, platforms: [x]}\nbriefs:\n  - brief: warm-up\n", encoding="utf-8")
        warm_seconds, _ = timed_run(warm, work / "warm", 1)

        results = {}
        for concurrency in (1, args.concurrency):
            seconds, summary = timed_run(path, work / f"c{concurrency}", concurrency)
            if summary.ok != args.jobs:
                print(f"concurrency {concurrency}: only {summary.ok} of {args.jobs} ok: {summary.failures[:3]}", file=sys.stderr)
                return 1
            results[concurrency] = seconds
            print(f"concurrency {concurrency:>2}: {seconds:7.2f} s for {args.jobs} jobs ({seconds / args.jobs * 1000:6.1f} ms per job, {calls()} calls so far)", flush=True)

    print(f"server: {'in this process' if args.server_in_process else 'its own process'}; CPUs: {os.cpu_count()}; "
          f"load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    serial, parallel = results[1], results[args.concurrency]
    ideal = math.ceil(args.jobs / args.concurrency) * args.latency
    serial_ideal = args.jobs * args.latency
    print(f"warm-up (first imports, tokenizer, templates; not counted): {warm_seconds:.2f} s")
    print(f"speed-up concurrency {args.concurrency} vs 1: {serial / parallel:.1f}×")
    print(f"overhead per job at concurrency 1: {(serial - serial_ideal) / args.jobs * 1000:.1f} ms above the {args.latency * 1000:.0f} ms latency")
    print(f"ideal at concurrency {args.concurrency}: ceil({args.jobs}/{args.concurrency}) × {args.latency:g} s = {ideal:.2f} s; "
          f"measured {parallel:.2f} s = {parallel / ideal:.2f}× ideal (goal ≤ 1.30×: {'met' if parallel / ideal <= 1.3 else 'NOT met'})")
    return 0 if parallel / ideal <= 1.3 else 1


if __name__ == "__main__":
    sys.exit(main())
