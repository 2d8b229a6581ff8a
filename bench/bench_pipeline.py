"""Pipeline overhead per generation against a zero-latency loopback OpenAI server, beside a bare `openai` call.

    python bench/bench_pipeline.py [--calls 300]

Both sides send the same request (the same rendered messages, the same strict json_schema response format) to
the same server, which runs in its own process so it does not share our interpreter. The pipeline side also
renders the templates, counts the prompt's tokens, parses the reply into the typed model, applies the fixes and
validates. Goal: overhead <= 5 ms and total <= 1.10x the bare call.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def serve(queue) -> None:
    from fake_content import responder
    from openai_server import OpenAIServer

    server = OpenAIServer().start()
    server.responder = responder
    queue.put(server.url)
    while True:
        time.sleep(3600)


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--platform", default="linkedin")
    parser.add_argument("--kind", default="post")
    args = parser.parse_args()

    queue = multiprocessing.Queue()
    proc = multiprocessing.Process(target=serve, args=(queue,), daemon=True)
    proc.start()
    url = queue.get(timeout=30)
    os.environ.update(OPENAI_BASE_URL=url, OPENAI_API_KEY="sk-bench-not-a-key", ASSISTANT_MODEL="test-model")

    import openai

    from assistant import Assistant
    from assistant.content import KIND_MODELS
    from assistant.fixes import apply_fixes
    from assistant.generate import parse_reply
    from assistant.llm import ChatReply

    brief = "Announce our compostable coffee pods, on sale March 1"
    a = Assistant()
    (job,) = a.jobs(brief, brand="tidewell-coffee", platforms=[args.platform], kinds=[args.kind])
    first_call = next(a.pipeline.steps(job))  # the exact kwargs the pipeline sends
    client = openai.OpenAI(base_url=url, api_key="sk-bench-not-a-key", max_retries=0)

    def bare():
        client.chat.completions.create(**first_call)

    def pipeline():
        r = a.run_job(job)
        assert r.ok and r.attempts == 1, r.violations

    for _ in range(30):  # warm both paths: imports, template compilation, tokenizer, connection pool
        bare()
        pipeline()
    # Interleave the two so that machine noise hits both alike.
    bare_t, pipe_t = [], []
    for _ in range(args.calls):
        bare_t += timed(bare, 1)
        pipe_t += timed(pipeline, 1)

    # The pipeline's own steps, timed alone.
    reply_text = client.chat.completions.create(**first_call).choices[0].message.content
    model = KIND_MODELS[job.kind]
    render = timed(lambda: a.pipeline.prepare(job), args.calls)
    counter = a.pipeline.counter
    prompt, *_ = a.pipeline.prepare(job)
    count = timed(lambda: counter.count_messages(prompt.messages), args.calls)
    parse = timed(lambda: parse_reply(ChatReply(reply_text), model), args.calls)
    content, _ = parse_reply(ChatReply(reply_text), model)
    fix = timed(lambda: apply_fixes(content, job.platform, job.brand), args.calls)
    review = timed(lambda: content.review(job.platform, job.brand, False), args.calls)

    b, p = median_ms(bare_t), median_ms(pipe_t)
    print(f"{args.calls} generations of a {args.platform} {args.kind}, loopback server with zero latency, {os.cpu_count()} CPUs")
    print(f"  bare openai call      median {b:7.3f} ms")
    print(f"  full pipeline         median {p:7.3f} ms")
    print(f"  overhead              median {p - b:7.3f} ms   (goal <= 5 ms)")
    print(f"  ratio pipeline / bare        {p / b:7.3f} x   (goal <= 1.10 x)")
    print("  pipeline steps alone (median):")
    print(f"    render + count prompt     {median_ms(render):7.3f} ms  (of which token count {median_ms(count):.3f} ms, {counter.count_messages(prompt.messages)})")
    print(f"    parse reply               {median_ms(parse):7.3f} ms")
    print(f"    deterministic fixes       {median_ms(fix):7.3f} ms")
    print(f"    validation                {median_ms(review):7.3f} ms")
    proc.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
