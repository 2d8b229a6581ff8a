"""The bundled local model through the whole pipeline, beside bare llama_cpp on the same prompts, in one run.

    python bench/bench_local.py [--briefs 20]

Reports: time to first result (model load included), tokens per second, the share of results valid on the first
call and after repair (hard rules), and the pipeline's overhead: for every job, its first request is also run
through bare `llama_cpp.Llama.create_chat_completion` with the same messages, grammar, sampling and seed, so
both produce the same tokens; overhead = pipeline time / bare time - 1 (the whole pipeline for one-call jobs, the first request for others).
Goals: overhead <= 10%; 100% of delivered results valid on hard rules or honestly marked not ok.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BRIEFS = [
    ("tidewell-coffee", "Announce our compostable coffee pods, on sale March 1"),
    ("tidewell-coffee", "Invite people to a free cupping session at the SE Division café on Saturday at 10 a.m."),
    ("tidewell-coffee", "Low Tide decaf is back in stock: $17 for 12 oz, roasted Monday"),
    ("tidewell-coffee", "The café now opens at 6:30 on weekdays"),
    ("tidewell-coffee", "Subscribers can now skip a delivery from their account page"),
    ("tidewell-coffee", "Meet Dana, our head roaster, who has roasted for us since 2016"),
    ("tidewell-coffee", "Cold brew season starts Friday: our recipe uses 1 part coffee to 8 parts water"),
    ("northwind-analytics", "We released schema-change alerts for Postgres sources"),
    ("northwind-analytics", "Webinar on March 12: cutting pipeline incident time in half"),
    ("northwind-analytics", "Our new report: 41% of data incidents start with a silent schema change"),
    ("northwind-analytics", "Northwind now integrates with dbt Cloud"),
    ("northwind-analytics", "We are hiring two backend engineers in Chicago"),
    ("northwind-analytics", "A customer cut their on-call pages by 60% in three months"),
    ("northwind-analytics", "Free tier now covers up to 10 pipelines"),
    ("maison-verveine", "Annoncez notre nouvelle infusion du soir, en vente le 1er mars"),
    ("maison-verveine", "La boutique de la Croix-Rousse ouvre le dimanche matin en décembre"),
    ("maison-verveine", "Atelier dégustation le samedi 14 à 10 h, 12 places"),
    ("maison-verveine", "La récolte de tilleul de la Drôme est arrivée"),
    ("maison-verveine", "Nos sachets sont désormais en papier compostable"),
    ("maison-verveine", "Le coffret de Noël : trois infusions, 29 €"),
]
TARGETS = [("linkedin", "post"), ("instagram", "carousel"), ("x", "thread")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--briefs", type=int, default=20)
    args = parser.parse_args()
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        os.environ.pop(name, None)

    started = time.perf_counter()
    from assistant import Assistant
    from assistant.local import SAMPLING, LocalModel
    from assistant.validation import check_invented_links

    a = Assistant(backend="local")
    jobs = [job for brand, brief in BRIEFS[: args.briefs] for platform, kind in TARGETS
            for job in a.jobs(brief, brand=brand, platforms=[platform], kinds=[kind])]

    # Each job runs through the pipeline, then its first request runs again through bare llama_cpp with the
    # same messages, grammar, sampling and seed. llama.cpp reuses the previous prompt's matching prefix, so the
    # model state is reset before each arm: both evaluate the whole prompt.
    llama = LocalModel.get().llama
    client = a.backend.client()
    create = client.chat.completions.create
    first: dict = {}

    def timed_create(**kwargs):
        t = time.perf_counter()
        out = create(**kwargs)
        first.setdefault("seconds", time.perf_counter() - t)
        first.setdefault("tokens", out.usage.completion_tokens)
        return out

    client.chat.completions.create = timed_create
    results, pairs = [], []
    first_result_at = None
    for i, job in enumerate(jobs):
        first.clear()
        llama.reset()
        t = time.perf_counter()
        result = a.run_job(job)
        elapsed = time.perf_counter() - t
        if first_result_at is None:
            first_result_at = time.perf_counter() - started
        kwargs = next(a.pipeline.steps(job))
        llama.reset()
        t = time.perf_counter()
        bare = llama.create_chat_completion(
            messages=kwargs["messages"], max_tokens=kwargs.get("max_tokens"), temperature=kwargs["temperature"], seed=kwargs["seed"],
            response_format={"type": "json_object", "schema": kwargs["response_format"]["json_schema"]["schema"]}, **SAMPLING,
        )
        bare_seconds = time.perf_counter() - t
        same = bare["usage"]["completion_tokens"] == first["tokens"]
        # One-call jobs: the whole pipeline (render, count, HTTP, parse, fix, validate) against bare llama_cpp.
        # Others: their first request alone, as the bare arm makes only that one.
        pipeline_seconds = elapsed if result.attempts == 1 else first["seconds"]
        if same:
            pairs.append((pipeline_seconds, bare_seconds))
        results.append((job, result, elapsed))
        status = "ok" if result.ok else "NOT OK"
        print(f"[{i + 1}/{len(jobs)}] {job.brand.id:<20} {job.platform.id:<9} {job.kind:<8} {status:<6} calls={result.attempts} "
              f"{elapsed:5.1f} s | first request {first['seconds']:5.2f} s vs bare {bare_seconds:5.2f} s"
              f"{'' if same else ' (different tokens: not compared)'}", flush=True)

    n = len(results)
    ok_first = sum(1 for _, r, _ in results if r.ok and r.attempts == 1)
    ok_final = sum(1 for _, r, _ in results if r.ok)
    def independent_errors(job, content):
        found = content.review(job.platform, job.brand, job.brief.sponsored)
        found += check_invented_links(content.markdown(job.platform), job.brief.text + job.brand.model_dump_json())
        return [v for v in found if v.severity == "error"]

    honest = sum(1 for job, r, _ in results if r.ok == (r.content is not None and not independent_errors(job, r.content)))
    completion = sum(r.usage.completion_tokens for _, r, _ in results)
    gen_seconds = sum(e for _, _, e in results)
    overheads = [p / b - 1 for p, b in pairs]
    whole_pipeline = sum(p for p, _ in pairs) / sum(b for _, b in pairs) - 1

    print()
    print(f"{n} results: {args.briefs} briefs x {len(TARGETS)} platform/kind pairs ({', '.join(f'{p} {k}' for p, k in TARGETS)}), {os.cpu_count()} CPUs")
    print(f"  model load                        {LocalModel.get().load_seconds:6.2f} s")
    print(f"  time to first result              {first_result_at:6.2f} s  (from start, imports and model load included)")
    print(f"  throughput                        {completion / gen_seconds:6.1f} completion tokens/s over {gen_seconds:.0f} s")
    print(f"  valid on the first call           {ok_first:3d}/{n} = {ok_first / n:6.1%}")
    print(f"  valid after repair                {ok_final:3d}/{n} = {ok_final / n:6.1%}")
    print(f"  delivered honestly (ok == review) {honest:3d}/{n} = {honest / n:6.1%}   (goal 100%)")
    print(f"  pipeline vs bare llama_cpp, same request and seed ({len(pairs)} of {n} produced the same tokens): "
          f"median overhead {statistics.median(overheads):+.1%}, summed {whole_pipeline:+.1%}   (goal <= +10%)")
    print(f"    bare median {statistics.median(b for _, b in pairs):.2f} s, through the pipeline {statistics.median(p for p, _ in pairs):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
