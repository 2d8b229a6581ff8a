"""The real bundled model (SmolLM2-135M through llama.cpp), offline: every kind once, and the README's first-run promise."""

from __future__ import annotations

import json
import os
import sys
import time

import pytest

from assistant import Assistant
from assistant.catalog import Catalog
from assistant.local import check_available
from assistant.validation import check_invented_links
from conftest import ROOT, run_process

AVAILABLE, WHY = check_available()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not AVAILABLE, reason=f"bundled model not installed: {WHY}")]

BRIEF = "Announce our compostable coffee pods, on sale March 1"
CATALOG = Catalog()


@pytest.fixture(scope="module")
def local():
    """One Assistant (one loaded model) for the module, as the web app keeps one per process."""
    return Assistant(backend="local")


@pytest.mark.parametrize("platform,kind", [
    ("linkedin", "post"), ("instagram", "carousel"), ("instagram", "story"),
    ("tiktok", "video_script"), ("x", "thread"), ("instagram", "hashtags"),
])
def test_each_kind_through_the_real_model(local, platform, kind):
    r = local.generate(BRIEF, brand="tidewell-coffee", platform=platform, kind=kind)
    assert r.backend == "local" and r.model == "smollm2-135m"
    assert 1 <= r.attempts <= 1 + local.settings.max_repairs + local.settings.max_format_retries
    assert r.usage.completion_tokens > 0
    # Honest by construction: ok exactly when an independent review finds no hard error.
    if r.content is None:
        assert not r.ok and r.error
    else:
        brand, rules = CATALOG.brand("tidewell-coffee"), CATALOG.platform(platform)
        review = r.content.review(rules, brand, False)
        review += check_invented_links(r.content.markdown(rules), BRIEF + brand.model_dump_json())
        assert r.ok == (not [v for v in review if v.severity == "error"]), r.violations
        assert type(r.content).kind == kind and r.text.strip()
    # The few-shot and compact templates for small models were used, through the normal lookup order.
    assert any("backends/local/system.j2" in t for t in r.prompt.templates)


def test_model_loads_once_per_process(local):
    from assistant.local import LocalModel

    first = LocalModel.get()
    local.generate(BRIEF, brand="northwind-analytics", platform="linkedin", kind="hashtags")
    assert LocalModel.get() is first


def test_french_brand_writes_french(local):
    r = local.generate("Annoncez notre nouvelle infusion du soir, en vente le 1er mars", brand="maison-verveine", platform="linkedin", kind="post")
    assert "French" in r.prompt.messages[-1]["content"]
    assert r.content is not None


# The promise, word for word: a fresh shell with no key and no base URL gets ok: true, with no network.

DONE_WHEN = [("linkedin", "post"), ("instagram", "carousel"), ("x", "thread")]


@pytest.mark.parametrize("platform,kind", DONE_WHEN)
def test_first_run_offline_cli_prints_ok(platform, kind, tmp_path):
    exe = os.path.join(os.path.dirname(sys.executable), "assistant")
    env = {"ASSISTANT_CACHE_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    run = run_process(exe, "generate", "--brand", "tidewell-coffee", "--platform", platform, "--kind", kind,
                      "--brief", BRIEF, "--json", env=env, cwd=tmp_path, timeout=600)
    assert run.code == 0, run.out + run.err
    row = json.loads(run.out.splitlines()[0])
    assert row["ok"] is True and row["backend"] == "local" and row["text"]
    assert not [v for v in row["violations"] if v["severity"] == "error"]
    print(f"{platform} {kind}: {time.perf_counter() - started:.1f} s, {row['attempts']} call(s)")


def test_doctor_names_the_bundled_model():
    run = run_process(sys.executable, "-m", "assistant", "doctor")
    assert run.code == 0
    assert "bundled SmolLM2-135M, offline" in run.out and "OPENAI_API_KEY" in run.out


def test_doctor_says_how_to_install_when_llama_is_missing(tmp_path):
    # A fresh interpreter where llama_cpp cannot be imported: the message names the extra to install.
    fake = tmp_path / "llama_cpp"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'llama_cpp'\", name='llama_cpp')\n", encoding="utf-8")
    run = run_process(sys.executable, "-m", "assistant", "doctor", env={"PYTHONPATH": str(tmp_path)})
    assert run.code == 1
    assert "llama-cpp-python is not installed" in run.out and ".[local]" in run.out
