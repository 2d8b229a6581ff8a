"""`assistant batch` and `run_batch` against a real OpenAI-protocol server on 127.0.0.1: briefs files, faults,
resume, Ctrl-C, dry run, the OpenAI Batch API round trip and secrets."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from assistant import Assistant, run_batch
from assistant.batch import (
    BatchInterrupted, BatchSummary, Progress, ProgressBar, collect_openai_batch, derive_id, load_briefs, parse_briefs,
    read_results,
)
from assistant.errors import InputError
from conftest import ROOT, SECRET, chat_requests
from fake_content import content, responder
from openai_server import OpenAIServer, Reply

@pytest.fixture
def server(server, monkeypatch):
    monkeypatch.setenv("ASSISTANT_MAX_RETRIES", "1")  # fault tests count calls: one client retry at most
    return server


def briefs_file(tmp_path: Path, text: str, name: str = "briefs.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


SIMPLE = """\
defaults:
  brand: tidewell-coffee
  platforms: [x, linkedin]
briefs:
  - id: pods-launch
    brief: "Announce our compostable coffee pods, on sale March 1."
    kinds: [post, hashtags]
    link: https://example.com/pods
    date: 2027-03-01
  - brief: "Meet Dana, our head roaster, who cups every batch before it ships."
    platforms: [instagram]
    date: 2027-03-10
  - id: verveine
    brand: maison-verveine
    brief: "Annoncez notre infusion de printemps, disponible le 3 mars."
    platforms: instagram
    sponsored: true
"""


# The briefs file -------------------------------------------------------------------------------------


def test_briefs_file_defaults_overrides_and_derived_ids(tmp_path):
    briefs = load_briefs(briefs_file(tmp_path, SIMPLE))
    pods, dana, verveine = briefs
    assert pods.id == "pods-launch" and pods.brand == "tidewell-coffee"
    assert pods.platforms == ("x", "linkedin") and pods.kinds == ("post", "hashtags") and pods.jobs == 4
    assert pods.date == "2027-03-01" and pods.link == "https://example.com/pods"
    assert dana.platforms == ("instagram",) and dana.kinds == ("post",) and dana.variants == 1
    assert dana.id.startswith("meet-dana-our-head-roaster-") and dana.id == derive_id(dana.brief)
    assert verveine.brand == "maison-verveine" and verveine.platforms == ("instagram",) and verveine.sponsored
    assert load_briefs(briefs_file(tmp_path, SIMPLE, "again.yaml"))[1].id == dana.id  # stable across reads
    assert derive_id("Annoncez notre infusion glacée").startswith("annoncez-notre-infusion-glacee-")
    assert [b.id for b in parse_briefs(SIMPLE, source="upload.yaml")] == [b.id for b in briefs]  # text, e.g. an upload
    with pytest.raises(InputError, match=r"upload.yaml, line 6, column 5: unknown key 'platfroms'"):
        parse_briefs(SIMPLE.replace("  - id: pods-launch\n", "  - id: pods-launch\n    platfroms: [x]\n"), source="upload.yaml")


def test_job_ids_are_stable_hashes_of_the_inputs(tmp_path, server):
    from assistant.batch import plan_jobs

    a = Assistant()
    first = plan_jobs(a, load_briefs(briefs_file(tmp_path, SIMPLE)))
    again = plan_jobs(Assistant(), load_briefs(briefs_file(tmp_path, SIMPLE, "copy.yaml")))
    assert [j.id for j in first] == [j.id for j in again]
    assert len({j.id for j in first}) == len(first) == 4 + 1 + 1
    assert all(re.fullmatch(r"[0-9a-f]{16}", j.id) for j in first)
    changed = plan_jobs(a, load_briefs(briefs_file(tmp_path, SIMPLE.replace("example.com/pods", "example.com/pods2"), "b.yaml")))
    assert [j.id for j in changed][:4] != [j.id for j in first][:4]  # the brief whose link changed
    assert [j.id for j in changed][4:] == [j.id for j in first][4:]  # the others keep their ids
    other_model = plan_jobs(Assistant(model="other-model"), load_briefs(briefs_file(tmp_path, SIMPLE)))
    assert not {j.id for j in other_model} & {j.id for j in first}
    assert not chat_requests(server)


ONE_BRIEF = "defaults: {brand: tidewell-coffee, platforms: [x]}\nbriefs:\n  - brief: pods\n"

BAD_INPUT = [
    ("yaml_syntax", "briefs:\n  - brief: \"unterminated\n    platforms: [x\n", ["line", "YAML syntax error"]),
    ("unknown_key", "defaults: {brand: tidewell-coffee}\nbriefs:\n  - brief: pods\n    platfroms: [x]\n",
     ["line 4", "unknown key 'platfroms'", "Did you mean 'platforms'?"]),
    ("wrong_type", ONE_BRIEF + "    variants: many\n",
     ["line 4", "briefs[0].variants", "integer", "str 'many'"]),
    ("too_many_variants", ONE_BRIEF + "    variants: 12\n",
     ["line 4", "briefs[0].variants", "10"]),
    ("missing_brief", "defaults: {brand: tidewell-coffee, platforms: [x]}\nbriefs:\n  - id: pods\n    link: https://example.com\n",
     ["line 3", "missing required field 'brief'", "Add it"]),
    ("empty_brief", "defaults: {brand: tidewell-coffee, platforms: [x]}\nbriefs:\n  - brief: '  '\n", ["line 3", "the brief is empty"]),
    ("unknown_brand", "briefs:\n  - brief: pods\n    brand: tidewell-cofee\n    platforms: [x]\n",
     ["line 3", "unknown brand 'tidewell-cofee'", "Did you mean 'tidewell-coffee'?", "maison-verveine"]),
    ("unknown_default_brand", "defaults: {brand: nope, platforms: [x]}\nbriefs:\n  - brief: pods\n",
     ["line 1", "defaults.brand", "unknown brand 'nope'", "Valid: maison-verveine, northwind-analytics, tidewell-coffee"]),
    ("unknown_platform", "defaults: {brand: tidewell-coffee}\nbriefs:\n  - brief: pods\n    platforms: [linkedin, twiter]\n",
     ["line 4", "briefs[0].platforms[1]", "unknown platform 'twiter'", "bluesky, facebook"]),
    ("unknown_kind", ONE_BRIEF + "    kinds: [psot]\n",
     ["line 4", "unknown kind 'psot'", "Did you mean 'post'?"]),
    ("unsupported_kind", "defaults: {brand: tidewell-coffee, platforms: [x, instagram]}\nbriefs:\n  - brief: pods\n    kinds: [post, carousel]\n",
     ["line 4", "X has no 'carousel' format", "X supports: post, video_script, thread, hashtags"]),
    ("empty_list", "defaults: {brand: tidewell-coffee}\nbriefs: []\n", ["line 2", "briefs", "the list is empty"]),
    ("duplicate_ids", "defaults: {brand: tidewell-coffee, platforms: [x]}\nbriefs:\n  - id: pods\n    brief: a\n  - id: pods\n    brief: b\n",
     ["line 5", "duplicate id 'pods'", "first used on line 3"]),
    ("duplicate_text", "defaults: {brand: tidewell-coffee, platforms: [x]}\nbriefs:\n  - brief: same\n  - brief: same\n",
     ["line 4", "same text as the brief on line 3", "id:"]),
    ("no_brand", "defaults: {platforms: [x]}\nbriefs:\n  - brief: pods\n", ["line 3", "has no brand", "defaults", "tidewell-coffee"]),
    ("no_platforms", "defaults: {brand: tidewell-coffee}\nbriefs:\n  - brief: pods\n", ["line 3", "has no platforms", "linkedin"]),
    ("bad_date", ONE_BRIEF + "    date: March 1\n",
     ["line 4", "briefs[0].date", "YYYY-MM-DD"]),
    ("bad_link", ONE_BRIEF + "    link: example.com\n",
     ["line 4", "briefs[0].link", "https://"]),
    ("bad_language", "defaults: {brand: tidewell-coffee, platforms: [x], language: french}\nbriefs:\n  - brief: pods\n",
     ["line 1", "defaults.language", "BCP-47"]),
    ("bad_id", "defaults: {brand: tidewell-coffee, platforms: [x]}\nbriefs:\n  - id: ../etc/passwd\n    brief: pods\n",
     ["line 3", "briefs[0].id", "not a usable id"]),
    ("bare_list", "- brief: pods\n", ["line 1", "bare list", "briefs:"]),
    ("empty_file", "# nothing yet\n", ["briefs file is empty"]),
    ("several", "defaults: {brand: tidewell-coffee}\nbriefs:\n  - brief: a\n    platforms: [twiter]\n  - brief: b\n    platforms: [x]\n    kinds: [story]\n",
     ["2 problems", "line 4", "line 7", "twiter", "story"]),
]


@pytest.mark.parametrize("name,text,expected", BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_briefs_files_give_clear_messages(server, cli, tmp_path, name, text, expected):
    path = briefs_file(tmp_path, text)
    run = cli("batch", path, "--out", tmp_path / "out")
    assert run.code == 2, run.err
    assert "Traceback" not in run.err and str(path) in run.err
    for part in expected:
        assert part in run.err, f"{part!r} not in {run.err!r}"
    assert not chat_requests(server) and not (tmp_path / "out").exists()
    with pytest.raises(InputError):
        run_batch(path, out=tmp_path / "out")


def test_not_utf8_and_missing_file(server, cli, tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("defaults: {brand: tidewell-coffee, platforms: [x]}\nbriefs:\n  - brief: café\n".encode("latin-1"))
    run = cli("batch", path, "--out", tmp_path / "out")
    assert run.code == 2 and "line 3" in run.err and "not UTF-8" in run.err and "Save it as UTF-8" in run.err
    run = cli("batch", tmp_path / "missing.yaml", "--out", tmp_path / "out")
    assert run.code == 2 and "no such briefs file" in run.err and "Traceback" not in run.err
    path = briefs_file(tmp_path, SIMPLE)
    (tmp_path / "afile").write_text("x")
    for args, message in [(("--out", tmp_path / "afile"), "is a file, not a folder"),
                          (("--out", tmp_path / "o", "-c", "0"), "--concurrency must be 1 or more")]:
        run = cli("batch", path, *args)
        assert run.code == 2 and message in run.err and "Traceback" not in run.err, run.err
    assert not chat_requests(server)


def test_example_briefs_file_is_valid():
    briefs = load_briefs(ROOT / "examples" / "briefs.yaml")
    assert {b.brand for b in briefs} == {"tidewell-coffee", "northwind-analytics", "maison-verveine"}
    assert sum(b.jobs for b in briefs) >= 20 and all(b.date for b in briefs)


# A healthy run ---------------------------------------------------------------------------------------


def test_batch_writes_results_markdown_calendar_and_summary(server, cli, tmp_path):
    server.responder = responder
    out = tmp_path / "out"
    run = cli("batch", briefs_file(tmp_path, SIMPLE), "--out", out, "--concurrency", "3")
    assert run.code == 0, run.err
    assert "6 of 6 ok" in run.out and "results.jsonl" in run.out
    records = lines_of(out / "results.jsonl")
    assert len(records) == 6 == len({r["id"] for r in records})
    for r in records:
        assert {"id", "brief_id", "brand", "platform", "kind", "status", "text", "content", "violations", "usage", "error"} <= set(r)
        assert r["status"] == "ok" and r["text"] and r["usage"]["total_tokens"] > 0
    pods = [r for r in records if r["brief_id"] == "pods-launch"]
    assert {(r["platform"], r["kind"]) for r in pods} == {("x", "post"), ("x", "hashtags"), ("linkedin", "post"), ("linkedin", "hashtags")}
    assert all(r["link"] == "https://example.com/pods" and r["date"] == "2027-03-01" for r in pods)
    verveine = next(r for r in records if r["brief_id"] == "verveine")
    assert verveine["text"].startswith("Publicité") and verveine["text"].count("Nos nouvelles") == 1  # French + disclosure

    md = (out / "pods-launch.md").read_text(encoding="utf-8")
    assert md.startswith("# pods-launch") and "Announce our compostable coffee pods" in md and "## x · post · ✅ ok" in md
    assert len(list(out.glob("*.md"))) == 3
    import csv

    rows = list(csv.DictReader((out / "calendar.csv").open(encoding="utf-8")))
    assert list(rows[0])[:4] == ["date", "platform", "text", "link"]
    assert [r["date"] for r in rows][:4] == ["2027-03-01"] * 4 and rows[-1]["date"] == ""  # dated first, undated last
    assert all(r["link"] == "https://example.com/pods" for r in rows if r["date"] == "2027-03-01")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["total"] == summary["ok"] == 6 and summary["exit_code"] == 0 and summary["tokens"] > 0
    assert "[" + "#" * 24 + "] 6/6 ok 6 failed 0" in run.err  # the progress bar, in log mode off a terminal

    again = cli("batch", briefs_file(tmp_path, SIMPLE), "--out", out, "--resume", "--json")
    assert again.code == 0 and again.json["skipped"] == 6 and again.json["ran"] == 0 and again.json["exit_code"] == 0
    assert len(lines_of(out / "results.jsonl")) == 6


def test_python_api_shape_progress_and_given_assistant(server, tmp_path, monkeypatch):
    server.responder = responder
    from assistant.llm import Backend

    backend = Backend("compatible", "test-model", server.url, "test", SECRET, 5.0, 0)
    monkeypatch.delenv("OPENAI_BASE_URL")  # the given assistant's backend is used, not the environment
    seen: list[Progress] = []
    summary = run_batch(briefs_file(tmp_path, SIMPLE), out=tmp_path / "out", concurrency=2, assistant=Assistant(backend=backend),
                        on_progress=seen.append)
    assert isinstance(summary, BatchSummary) and summary.exit_code == 0
    assert (summary.total, summary.ok, summary.invalid, summary.error, summary.skipped) == (6, 6, 0, 0, 0)
    assert summary.results_path == tmp_path / "out" / "results.jsonl" and summary.calendar_path.exists()
    dana = derive_id("Meet Dana, our head roaster, who cups every batch before it ships.")
    assert [p.name for p in summary.markdown_files] == ["pods-launch.md", f"{dana}.md", "verveine.md"]
    assert summary.to_dict()["out_dir"] == str(tmp_path / "out")
    assert [p.done for p in seen] == list(range(7)) and seen[-1].ok == 6 and seen[-1].eta_seconds == 0
    assert seen[0].eta_seconds is None and seen[-1].tokens == summary.tokens > 0
    assert all(isinstance(p.elapsed, float) for p in seen) and not seen[-1].cost_known


def test_concurrency_is_bounded_and_real(server, tmp_path):
    active, peak, lock = [0], [0], threading.Lock()

    def slow(body):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.1)
        with lock:
            active[0] -= 1
        return responder(body)

    server.responder = slow
    text = "defaults: {brand: tidewell-coffee, platforms: [x, linkedin, instagram], kinds: [post, hashtags]}\nbriefs:\n  - brief: pods\n"
    started = time.perf_counter()
    summary = run_batch(briefs_file(tmp_path, text), out=tmp_path / "out", concurrency=3)
    elapsed = time.perf_counter() - started
    assert summary.ok == 6 and peak[0] == 3
    assert elapsed < 0.6 * 1.5 and elapsed >= 0.2  # two rounds of 0.1 s, never six


def test_progress_bar_terminal_and_log_modes():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    def p(done, total=20):
        return Progress(total, done, done, 0, 0, done * 100, 0.01 * done, 1.0, 3.0 if done else None)

    tty = Tty()
    bar = ProgressBar(tty)
    for i in range(21):
        bar(p(i))
        time.sleep(0.11 if i in (0, 9) else 0)
    text = tty.getvalue()
    assert text.count("\r") == 4 and text.endswith("\n")  # at most 10 redraws a second, and always the last one
    assert "20/20 ok 20 failed 0" in text and "ETA 0:03" in text and "$0.2000" in text
    log = io.StringIO()
    bar = ProgressBar(log)
    for i in range(21):
        bar(p(i))
    lines = log.getvalue().splitlines()
    assert 10 <= len(lines) <= 12 and "\r" not in log.getvalue() and lines[-1].startswith("[" + "#" * 24 + "] 20/20")
    assert "2,000 tokens" in lines[-1]


# Faults, isolation and resume ------------------------------------------------------------------------

# A marker in the brief text decides what the server does with every job of that brief, so which jobs end as
# what is known in advance. "once" faults hit only the first request of a job; the rest hit every request.
FAULTS = {
    "OK-A": "ok", "OK-B": "ok",
    "F429": "ok", "F500": "ok", "FJSON": "ok", "FTRUNC": "ok", "FBODY": "ok", "FEMPTY1": "ok",
    "F503": "error", "FJSONX": "error", "FEMPTY": "error", "FSTALL": "error", "FLONG": "invalid",
}


def faulty(body: dict, counts: dict, lock: threading.Lock):
    marker = next(m for m in FAULTS if f"[{m}]" in body["messages"][-1]["content"] or f"[{m}]" in body["messages"][1]["content"])
    key = hashlib.sha256(json.dumps(body["messages"][:2]).encode()).hexdigest()
    with lock:
        counts[key] = counts.get(key, 0) + 1
        first = counts[key] == 1
    fast = {"retry-after-ms": "1"}
    if marker == "F429" and first:
        return Reply(status=429, error_message="Rate limit reached", headers=fast)
    if marker == "F500" and first:
        return Reply(status=500, error_message="The server had an error", headers=fast)
    if marker == "F503":
        return Reply(status=503, error_message="The engine is currently overloaded", headers=fast)
    if marker == "FJSON" and first or marker == "FJSONX":
        return '{"text": "Our new pods arrive'
    if marker == "FTRUNC" and first:
        return Reply(content='{"text": "Our new pods', finish_reason="length")
    if marker == "FBODY" and first:
        return Reply(body=b'{"id": "chatcmpl-1", "choices": [{"mess')
    if marker == "FEMPTY1" and first or marker == "FEMPTY":
        return Reply(content="")
    if marker == "FSTALL":
        return Reply(content=responder(body), delay=3.0)
    if marker == "FLONG":
        return json.dumps(content("post", text="Way too long for X. " * 30))
    return responder(body)


FAULT_BRIEFS = "defaults:\n  brand: tidewell-coffee\n  platforms: [x, linkedin, instagram]\n  kinds: [post, hashtags]\n  variants: 2\nbriefs:\n" + "".join(
    f"  - id: brief-{m.lower()}\n    brief: \"Announce our compostable pods, on sale March 1 [{m}].\"\n"
    + ("    platforms: [x]\n    kinds: [post]\n" if m == "FLONG" else "")
    + ("    platforms: [linkedin]\n    kinds: [post]\n" if m == "FSTALL" else "")
    for m in FAULTS
)


def test_faults_are_isolated_every_job_lands_once_and_resume_finishes(server, cli, tmp_path):
    counts, lock = {}, threading.Lock()
    server.responder = lambda body: faulty(body, counts, lock)
    path = briefs_file(tmp_path, FAULT_BRIEFS)
    out = tmp_path / "out"
    started = time.perf_counter()
    run = cli("batch", path, "--out", out, "--concurrency", "16", "--timeout", "0.5")
    elapsed = time.perf_counter() - started
    total = 11 * 12 + 2 + 2
    assert total >= 100
    assert run.code == 1, run.err
    records = lines_of(out / "results.jsonl")
    assert len(records) == total and len({r["id"] for r in records}) == total  # every job exactly once
    expected = {f"brief-{m.lower()}": status for m, status in FAULTS.items()}
    for r in records:
        assert r["status"] == expected[r["brief_id"]], (r["brief_id"], r["platform"], r["kind"], r["error"])
    by_brief = {b: [r for r in records if r["brief_id"] == b] for b in expected}
    assert all(r["attempts"] == 2 for r in by_brief["brief-fjson"] + by_brief["brief-ftrunc"] + by_brief["brief-fbody"])
    assert all(r["attempts"] == 1 for r in by_brief["brief-f429"] + by_brief["brief-f500"])  # the client's own retries
    assert all("503" in r["error"] for r in by_brief["brief-f503"])
    assert all("did not answer within 0.5 s" in r["error"] for r in by_brief["brief-fstall"])
    assert all("not valid JSON" in r["error"] for r in by_brief["brief-fjsonx"])
    assert all(any(v["rule"] == "length" for v in r["violations"]) and r["text"] for r in by_brief["brief-flong"])
    not_ok = {r["id"] for r in records if r["status"] != "ok"}
    assert len(not_ok) == 12 * 3 + 2 + 2
    assert f"{len(not_ok)} job(s) not ok" in run.err and "--resume" in run.err
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["ok"], summary["invalid"], summary["error"]) == (total - len(not_ok), 2, 38)
    assert "❌ failed" in (out / "brief-f503.md").read_text() and "**Error:**" in (out / "brief-f503.md").read_text()
    assert elapsed < 15

    before = (out / "results.jsonl").read_bytes()
    server.reset()
    server.responder = responder
    run = cli("batch", path, "--out", out, "--concurrency", "16", "--timeout", "0.5", "--resume")
    assert run.code == 0, run.err
    assert len(chat_requests(server)) == len(not_ok)  # the model was called only for the jobs not ok yet
    after = (out / "results.jsonl").read_bytes()
    assert after.startswith(before)  # appended, never rewritten
    new = [json.loads(line) for line in after[len(before):].decode().splitlines()]
    assert {r["id"] for r in new} == not_ok and all(r["status"] == "ok" for r in new)
    latest, warnings = read_results(out / "results.jsonl")
    assert not warnings and all(latest[r["id"]]["status"] == "ok" for r in records)
    assert f"{total} of {total} ok" in run.out and f"{total - len(not_ok)} already ok, skipped" in run.out


def test_rerun_without_resume_appends_and_latest_wins(server, tmp_path):
    server.default = json.dumps(content("post", text="Too long for X. " * 30))
    text = "defaults: {brand: tidewell-coffee, platforms: [x]}\nbriefs:\n  - id: pods\n    brief: pods\n"
    path = briefs_file(tmp_path, text)
    first = run_batch(path, out=tmp_path / "out", max_repairs=0)
    assert first.exit_code == 1 and first.invalid == 1 and first.failures[0]["problems"]
    server.default = None
    server.responder = responder
    second = run_batch(path, out=tmp_path / "out")
    assert second.exit_code == 0 and second.ok == 1 and any("--resume" in w for w in second.warnings)
    records = lines_of(tmp_path / "out" / "results.jsonl")
    assert [r["status"] for r in records] == ["invalid", "ok"]
    assert "✅ ok" in (tmp_path / "out" / "pods.md").read_text() and "breaks a hard rule" not in (tmp_path / "out" / "pods.md").read_text()


def test_resume_ignores_a_cut_off_last_line_and_never_rewrites_it(server, tmp_path):
    server.responder = responder
    path = briefs_file(tmp_path, SIMPLE)
    out = tmp_path / "out"
    run_batch(path, out=out)
    raw = (out / "results.jsonl").read_bytes().splitlines(keepends=True)
    kept = b"".join(raw[:3]) + raw[3][: len(raw[3]) // 2]  # three whole lines, then half a line, as after a kill
    (out / "results.jsonl").write_bytes(kept)
    server.reset()
    server.responder = responder
    summary = run_batch(path, out=out, resume=True)
    assert summary.exit_code == 0 and summary.skipped == 3 and summary.ran == 3
    assert len(chat_requests(server)) == 3
    assert any("line 4" in w and "cut off" in w for w in summary.warnings)
    after = (out / "results.jsonl").read_bytes()
    assert after.startswith(kept + b"\n")  # the fragment stays as it was; new lines start on a fresh line
    latest, warnings = read_results(out / "results.jsonl")
    assert len(latest) == 6 and len(warnings) == 1 and "line 4: cut off" in warnings[0]  # still reported, still harmless


def test_interrupt_leaves_valid_lines_and_resume_finishes(server, tmp_path):
    server.latency = 0.25
    server.responder = responder
    text = "defaults:\n  brand: tidewell-coffee\n  platforms: [x, linkedin, instagram]\n  kinds: [post, hashtags]\nbriefs:\n" + "".join(
        f"  - brief: \"Announce pods, batch {i}\"\n" for i in range(5)
    )
    path = briefs_file(tmp_path, text)
    out = tmp_path / "out"
    results = out / "results.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "batch", str(path), "--out", str(out), "--concurrency", "2"],
        cwd=ROOT, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # A shell that starts a job in the background (as CI may) leaves SIGINT ignored, and Python then never
        # turns Ctrl-C into KeyboardInterrupt: give the child the default disposition, as a terminal would.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if results.exists() and results.read_bytes().count(b"\n") >= 4:
                break
            time.sleep(0.02)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "Interrupted" in stderr and "--resume" in stderr
    written = lines_of(results)  # every line parses
    assert 4 <= len(written) < 30 and len({r["id"] for r in written}) == len(written)
    assert results.read_bytes().endswith(b"\n")
    assert json.loads((out / "summary.json").read_text())["interrupted"] is True

    server.reset()
    server.latency = 0.0
    server.responder = responder
    summary = run_batch(path, out=out, resume=True, concurrency=8)
    assert summary.exit_code == 0 and summary.ok == 30 and summary.skipped == len(written)
    assert len(chat_requests(server)) == 30 - len(written)
    new = lines_of(results)[len(written):]
    assert not {r["id"] for r in new} & {r["id"] for r in written}  # only the jobs without a result ran again
    assert len(lines_of(results)) == 30 == len({r["id"] for r in lines_of(results)})


def test_keyboard_interrupt_in_process_raises_batch_interrupted(server, tmp_path, monkeypatch):
    server.responder = responder
    from assistant import batch

    real = batch.ResultsFile.write
    calls = []

    def interrupt_after_two(self, record):
        real(self, record)
        calls.append(record["id"])
        if len(calls) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(batch.ResultsFile, "write", interrupt_after_two)
    with pytest.raises(BatchInterrupted) as stop:
        run_batch(briefs_file(tmp_path, SIMPLE), out=tmp_path / "out", concurrency=1)
    assert stop.value.summary.interrupted and stop.value.summary.ok == 2 and stop.value.summary.ran == 2
    assert [r["id"] for r in lines_of(tmp_path / "out" / "results.jsonl")] == calls


# Dry run ----------------------------------------------------------------------------------------------


def test_dry_run_counts_and_prices_without_calling_a_model(server, cli, tmp_path, monkeypatch):
    table = tmp_path / "models.yaml"
    table.write_text("test-model: {context: 100000, max_output: 4000, input: 1.0, output: 2.0}\n", encoding="utf-8")
    monkeypatch.setenv("ASSISTANT_MODELS_FILE", str(table))
    path = briefs_file(tmp_path, SIMPLE)
    run = cli("batch", path, "--out", tmp_path / "out", "--dry-run")
    assert run.code == 0, run.err
    assert not chat_requests(server) and not (tmp_path / "out").exists()
    assert "6 job(s)" in run.out and "pods-launch" in run.out and "hashtags" in run.out and "(estimate)" in run.out
    data = cli("batch", path, "--out", tmp_path / "out", "--dry-run", "--json").json
    prompt = sum(r["prompt_tokens"] for r in data["plan"])
    output = sum(r["max_output_tokens"] for r in data["plan"])
    assert len(data["plan"]) == 6 and prompt > 6 * 500 and output == 4 * 700 + 700 + 700
    assert data["estimated_cost_usd"] == pytest.approx((prompt * 1.0 + output * 2.0) / 1e6)
    assert f"at most ${data['estimated_cost_usd']:.4f}" in run.out
    monkeypatch.delenv("ASSISTANT_MODELS_FILE")
    run = cli("batch", path, "--out", tmp_path / "out", "--dry-run")
    assert "Estimated cost: unknown" in run.out
    assert not chat_requests(server)


def test_dry_run_with_resume_lists_only_what_would_run(server, tmp_path):
    server.responder = responder
    path = briefs_file(tmp_path, SIMPLE)
    run_batch(path, out=tmp_path / "out")
    server.reset()
    summary = run_batch(path, out=tmp_path / "out", resume=True, dry_run=True)
    assert summary.plan == [] and summary.skipped == 6 and summary.exit_code == 0
    assert not chat_requests(server)


# Secrets -----------------------------------------------------------------------------------------------


def test_api_key_never_in_results_markdown_csv_summary_or_logs(server, cli, tmp_path, caplog):
    import logging

    caplog.set_level(logging.DEBUG)

    def leaky(body):
        prompt = body["messages"][-1]["content"]
        if "[401]" in prompt:
            return Reply(status=401, error_message=f"Incorrect API key provided: {SECRET}")
        if "[404]" in prompt:
            return Reply(status=404, error_message=f"The model does not exist for key {SECRET}")
        if "[400]" in prompt:
            return Reply(status=400, error_message=f"Bad value; your key is {SECRET}")
        return responder(body)

    server.responder = leaky
    text = "defaults: {brand: tidewell-coffee, platforms: [x, linkedin]}\nbriefs:\n" + "".join(
        f"  - brief: \"pods [{c}]\"\n    date: 2027-03-0{i + 1}\n" for i, c in enumerate(["401", "404", "400", "ok"])
    )
    out = tmp_path / "out"
    run = cli("batch", briefs_file(tmp_path, text), "--out", out)
    assert run.code == 1
    assert chat_requests(server)[0].headers["authorization"] == f"Bearer {SECRET}"  # it was really used
    everything = run.out + run.err + caplog.text + "".join(p.read_text(encoding="utf-8") for p in out.iterdir())
    assert SECRET not in everything and SECRET[:12] not in everything
    errors = [r["error"] for r in lines_of(out / "results.jsonl") if r["error"]]
    assert len(errors) == 6 and any("401" in e for e in errors) and any("404" in e for e in errors)


# Beyond one machine: OpenAI Batch API ------------------------------------------------------------------


def test_export_is_exactly_what_the_live_pipeline_sends_first(server, cli, tmp_path):
    path = briefs_file(tmp_path, SIMPLE)
    export = tmp_path / "batch-input.jsonl"
    run = cli("batch", path, "--out", tmp_path / "out", "--export-openai-batch", export)
    assert run.code == 0, run.err
    assert not chat_requests(server) and "6 request(s)" in run.err
    lines = lines_of(export)
    assert len(lines) == 6
    assert all(set(line) == {"custom_id", "method", "url", "body"} and line["method"] == "POST" and line["url"] == "/v1/chat/completions" for line in lines)
    assert all(line["body"]["model"] == "test-model" and line["body"]["response_format"]["type"] == "json_schema" for line in lines)
    server.responder = responder
    run_batch(path, out=tmp_path / "live")
    live = sorted(json.dumps(r.body, sort_keys=True) for r in chat_requests(server))
    assert live == sorted(json.dumps(line["body"], sort_keys=True) for line in lines)
    ids = {r["id"] for r in lines_of(tmp_path / "live" / "results.jsonl")}
    assert ids == {line["custom_id"] for line in lines}


def provider_output(export: Path, answer) -> list[dict]:
    """What OpenAI (or vLLM run-batch) writes back for an input file, with `answer(line)` choosing each reply."""
    server = OpenAIServer()
    out = []
    for line in lines_of(export):
        reply = answer(line)
        if reply is None:
            continue
        if isinstance(reply, Reply) and reply.status != 200:
            response = {"status_code": reply.status, "request_id": "req_1", "body": reply.error_body()}
        else:
            reply = reply if isinstance(reply, Reply) else Reply(content=reply)
            response = {"status_code": 200, "request_id": "req_1", "body": server._completion(line["body"], reply)}
        out.append({"id": "batch_req_1", "custom_id": line["custom_id"], "response": response, "error": None})
    return out


def test_batch_collect_parses_fixes_validates_and_writes_the_same_outputs(server, cli, tmp_path):
    path = briefs_file(tmp_path, SIMPLE)
    export = tmp_path / "input.jsonl"
    run_batch(path, out=tmp_path / "out", export_openai_batch=export)
    lines = lines_of(export)
    special = {lines[0]["custom_id"]: "too long", lines[1]["custom_id"]: "bad json", lines[2]["custom_id"]: "500", lines[3]["custom_id"]: "missing"}
    tags = ["#coffee pods", "#SmallBatch", "#smallbatch"]

    def answer(line):
        what = special.get(line["custom_id"])
        if what == "too long":
            return json.dumps(content("post", text="Far too long for X. " * 30))
        if what == "bad json":
            return '{"text": "cut'
        if what == "500":
            return Reply(status=500, error_message="internal error")
        if what == "missing":
            return None
        body = {"messages": line["body"]["messages"], "response_format": line["body"]["response_format"]}
        if line["body"]["response_format"]["json_schema"]["name"] == "post":
            return json.dumps(content("post", hashtags=tags))  # needs the deterministic fixes
        return responder(body)

    output = tmp_path / "output.jsonl"
    output.write_text("".join(json.dumps(o) + "\n" for o in provider_output(export, answer)) + "not json\n", encoding="utf-8")
    run = cli("batch-collect", output, "--briefs", path, "--out", tmp_path / "out")
    assert run.code == 1, run.err
    assert not chat_requests(server)
    records = {r["id"]: r for r in lines_of(tmp_path / "out" / "results.jsonl")}
    assert len(records) == 6
    assert records[lines[0]["custom_id"]]["status"] == "invalid" and "repair" in records[lines[0]["custom_id"]]["note"]
    assert records[lines[1]["custom_id"]]["status"] == "error" and "not valid JSON" in records[lines[1]["custom_id"]]["error"]
    assert records[lines[2]["custom_id"]]["status"] == "error" and "500" in records[lines[2]["custom_id"]]["error"]
    assert records[lines[3]["custom_id"]]["status"] == "error" and "no answer" in records[lines[3]["custom_id"]]["error"]
    fixed = [records[line["custom_id"]] for line in lines[4:]]
    assert all(r["status"] == "ok" and r["source"] == "openai-batch" and r["attempts"] == 1 for r in fixed)
    post = next(r for r in fixed if r["kind"] == "post")
    assert post["fixes"] and "#CoffeePods" in post["text"] and "#smallbatch" not in post["text"]
    assert "not valid JSON; ignored" in run.err
    assert (tmp_path / "out" / "calendar.csv").exists() and (tmp_path / "out" / "summary.json").exists()
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["error"] == 3

    # The jobs left unfinished can go out again as a batch, or be done live with --resume; only they reach the model.
    again = cli("batch", path, "--out", tmp_path / "out", "--resume", "--export-openai-batch", tmp_path / "retry.jsonl")
    assert again.code == 0 and "4 request(s) (2 already ok, left out)" in again.err
    assert {line["custom_id"] for line in lines_of(tmp_path / "retry.jsonl")} == {line["custom_id"] for line in lines[:4]}
    server.responder = responder
    assert cli("batch", path, "--out", tmp_path / "out", "--resume").code == 0
    assert len(chat_requests(server)) == 4


def test_batch_collect_with_the_wrong_model_says_so(server, cli, tmp_path):
    path = briefs_file(tmp_path, SIMPLE)
    export = tmp_path / "input.jsonl"
    run_batch(path, out=tmp_path / "out", export_openai_batch=export)
    output = tmp_path / "output.jsonl"
    output.write_text("".join(json.dumps(o) + "\n" for o in provider_output(export, responder_for_line)), encoding="utf-8")
    run = cli("batch-collect", output, "--briefs", path, "--out", tmp_path / "out", "--model", "another-model")
    assert run.code == 2 and "same briefs file and the same --model" in run.err
    run = cli("batch-collect", "--briefs", path, "--out", tmp_path / "out")
    assert run.code == 2 and "--batch-id" in run.err
    summary = collect_openai_batch(output, briefs=path, out=tmp_path / "out")
    assert summary.exit_code == 0 and summary.ok == 6


def responder_for_line(line):
    return responder(line["body"])


def test_submit_uploads_waits_and_collects_through_the_loopback_server(server, cli, tmp_path):
    server.responder = responder
    server.batch_polls_before_complete = 2
    path = briefs_file(tmp_path, SIMPLE)
    out = tmp_path / "out"
    run = cli("batch", path, "--out", out, "--submit", "--poll-interval", "0.01")
    assert run.code == 0, run.err
    paths = [(r.method, r.path.split("/v1")[-1].split("/")[1]) for r in server.requests]
    assert ("POST", "files") in paths and ("POST", "batches") in paths and ("GET", "batches") in paths
    assert not chat_requests(server)  # everything went through the batch
    upload = next(r for r in server.requests if r.method == "POST" and r.path.endswith("/files"))
    assert b'"custom_id"' in upload.raw and b"purpose" in upload.raw
    assert "in_progress" in run.err and "completed" in run.err
    records = lines_of(out / "results.jsonl")
    assert len(records) == 6 and all(r["status"] == "ok" and r["source"] == "openai-batch" for r in records)
    saved = json.loads((out / "openai-batch.json").read_text())
    summary = json.loads((out / "summary.json").read_text())
    assert summary["batch_id"] == saved["batch_id"] and summary["exported"] == 6 and summary["ok"] == 6
    assert (out / "openai-batch-output.jsonl").exists()

    # A wait that was interrupted is picked up by id.
    again = cli("batch-collect", "--batch-id", saved["batch_id"], "--briefs", path, "--out", tmp_path / "again", "--poll-interval", "0.01")
    assert again.code == 0, again.err
    assert len(lines_of(tmp_path / "again" / "results.jsonl")) == 6


# Paths that must end in a message, not a traceback ------------------------------------------------------


def test_bad_numbers_are_input_errors_before_any_request(server, cli, tmp_path):
    path = briefs_file(tmp_path, ONE_BRIEF)
    out = tmp_path / "out"
    cases = [
        (("batch", path, "--out", out, "--submit", "--poll-interval", "-1"), "--poll-interval must be 0 or more"),
        (("batch-collect", "--batch-id", "batch_1", "--briefs", path, "--out", out, "--poll-interval", "-1"), "--poll-interval must be 0 or more"),
        (("batch", path, "--out", out, "--timeout", "nan"), "timeout must be a positive number"),
        (("batch", path, "--out", out, "--timeout", "0"), "timeout must be a positive number"),
    ]
    for args, message in cases:
        run = cli(*args)
        assert run.code == 2 and message in run.err and "Traceback" not in run.err, (args, run.err)
    assert not server.requests and not out.exists()


def test_out_paths_that_are_files_or_folders_are_input_errors(server, cli, tmp_path):
    path = briefs_file(tmp_path, ONE_BRIEF)
    (tmp_path / "afile").write_text("x")
    run = cli("batch-collect", "--batch-id", "batch_1", "--briefs", path, "--out", tmp_path / "afile", "--poll-interval", "0")
    assert run.code == 2 and "is a file, not a folder" in run.err and "Traceback" not in run.err
    assert not server.requests

    folder = tmp_path / "exports"
    folder.mkdir()
    run = cli("batch", path, "--out", tmp_path / "out", "--export-openai-batch", folder)
    assert run.code == 2 and "is a folder" in run.err and "Traceback" not in run.err
    assert not list(folder.iterdir())  # no stray .tmp file
    run = cli("batch", path, "--out", tmp_path / "out", "--export-openai-batch", tmp_path / "afile" / "requests.jsonl")
    assert run.code == 2 and "cannot write the batch input file" in run.err and "Traceback" not in run.err

    (tmp_path / "out" / "results.jsonl").mkdir(parents=True)
    for extra in ((), ("--dry-run",)):
        run = cli("batch", path, "--out", tmp_path / "out", *extra)
        assert run.code == 2 and "cannot read the results file" in run.err and "Traceback" not in run.err
    assert not chat_requests(server)


def test_a_record_without_the_fields_of_a_result_is_ignored(server, cli, tmp_path):
    server.responder = responder
    path = briefs_file(tmp_path, ONE_BRIEF)
    out = tmp_path / "out"
    run_batch(path, out=out)
    (real,) = lines_of(out / "results.jsonl")
    broken = [{"id": real["id"], "status": "ok"}, {"id": real["id"], "status": "done", **{k: real[k] for k in ("brand", "platform", "kind", "variant")}},
              {**real, "variant": "1"}]
    (out / "results.jsonl").write_text("".join(json.dumps(b) + "\n" for b in broken), encoding="utf-8")
    latest, warnings = read_results(out / "results.jsonl")
    assert latest == {} and len(warnings) == 3 and all("not a result record" in w for w in warnings)
    assert "no 'brand'" in warnings[0] and "no 'status'" in warnings[1] and "no 'variant'" in warnings[2]
    server.reset()
    server.responder = responder
    run = cli("batch", path, "--out", out, "--resume")
    assert run.code == 0 and "Traceback" not in run.err, run.err
    assert run.err.count("not a result record") == 3 and len(chat_requests(server)) == 1  # the job ran again


def test_warnings_are_printed_once_in_every_branch(server, cli, tmp_path):
    server.responder = responder
    path = briefs_file(tmp_path, ONE_BRIEF)
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.jsonl").write_text('{"id": "cut\n', encoding="utf-8")
    for extra in (("--dry-run",), ("--export-openai-batch", tmp_path / "requests.jsonl"), ("--submit", "--poll-interval", "0")):
        run = cli("batch", path, "--out", out, *extra)
        assert run.code == 0, run.err
        assert run.err.count("line 1: cut off") == 1, (extra, run.err)
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["warnings"]) == 1 and summary["batch_id"] and summary["ran"] == 1


def test_batch_collect_refuses_a_file_with_no_answer(server, cli, tmp_path):
    path = briefs_file(tmp_path, SIMPLE)
    export = tmp_path / "input.jsonl"
    run_batch(path, out=tmp_path / "out", export_openai_batch=export)
    (tmp_path / "notes.txt").write_text("not json\nnor this\n", encoding="utf-8")
    for given, message in [(tmp_path / "notes.txt", "not valid JSON"), (export, "looks like the batch input file")]:
        run = cli("batch-collect", given, "--briefs", path, "--out", tmp_path / "out")
        assert run.code == 2 and "no line is an answer" in run.err and message in run.err and "Traceback" not in run.err, run.err
    assert not (tmp_path / "out").exists() and not server.requests


def test_an_unknown_batch_id_is_named_not_blamed_on_the_model(server, cli, tmp_path):
    path = briefs_file(tmp_path, ONE_BRIEF)
    run = cli("batch-collect", "--batch-id", "batch_nope", "--briefs", path, "--out", tmp_path / "out")
    assert run.code == 2 and "no batch 'batch_nope'" in run.err and "--batch-id" in run.err, run.err
    assert "model" not in run.err and "Traceback" not in run.err


def test_submit_with_every_job_ok_sends_nothing_and_finishes(server, cli, tmp_path):
    server.responder = responder
    path = briefs_file(tmp_path, SIMPLE)
    out = tmp_path / "out"
    run_batch(path, out=out)
    server.reset()
    (out / "summary.json").unlink()
    run = cli("batch", path, "--out", out, "--submit", "--resume")
    assert run.code == 0, run.err
    assert not server.requests and not (out / "openai-batch-input.jsonl").exists() and "batch-collect" not in run.err
    assert "6 of 6 ok" in run.out and "6 already ok" in run.out
    assert json.loads((out / "summary.json").read_text())["ran"] == 0


def test_ctrl_c_while_waiting_names_this_runs_batch(server, cli, tmp_path, monkeypatch):
    from assistant import batch

    server.responder = responder
    server.batch_polls_before_complete = 5
    out = tmp_path / "out"
    out.mkdir()
    (out / "openai-batch.json").write_text('{"batch_id": "batch_from_last_week"}', encoding="utf-8")

    def stop(b):
        raise KeyboardInterrupt

    monkeypatch.setattr(batch, "describe_batch_status", stop)
    run = cli("batch", briefs_file(tmp_path, ONE_BRIEF), "--out", out, "--submit", "--poll-interval", "0")
    saved = json.loads((out / "openai-batch.json").read_text())["batch_id"]
    assert run.code == 130 and f"--batch-id {saved}" in run.err and "batch_from_last_week" not in run.err, run.err
