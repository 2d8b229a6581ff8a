"""The package works from an installed wheel, not only from a checkout: rules, prompts and example brands travel inside."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import pytest

from conftest import ROOT, run_process

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    work = tmp_path_factory.mktemp("wheel")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work / "dist"), str(ROOT)],
                           capture_output=True, text=True, timeout=600)
    if build.returncode != 0:
        pytest.fail(f"building the wheel failed:\n{build.stdout}\n{build.stderr}")
    (wheel,) = (work / "dist").glob("*.whl")
    target = work / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                             capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr
    elsewhere = work / "elsewhere"
    elsewhere.mkdir()
    return wheel, target, elsewhere


def run_installed(installed, *args):
    _, target, elsewhere = installed
    return run_process(sys.executable, "-m", "assistant", *args, env={"PYTHONPATH": str(target)}, cwd=elsewhere)


def test_wheel_contents(installed):
    wheel, _, _ = installed
    names = zipfile.ZipFile(wheel).namelist()
    for needed in ("assistant/prompts/system.j2", "assistant/prompts/backends/local/fewshot.j2",
                   "assistant/brand_profiles/tidewell-coffee.yaml", "assistant/data/platforms/x.yaml",
                   "assistant/data/cliches.yaml", "assistant/data/models.yaml", "assistant/data/tlds.txt"):
        assert needed in names, needed


def test_installed_package_is_the_one_running(installed):
    _, target, elsewhere = installed
    run = run_process(sys.executable, "-c", "import assistant; print(assistant.__file__)", env={"PYTHONPATH": str(target)}, cwd=elsewhere)
    assert run.out.strip().startswith(str(target))


def test_check_platforms_brands_from_the_wheel(installed):
    run = run_installed(installed, "check", "--platform", "x", "--text", "Pods on sale March 1 https://tidewell.com/pods", "--json")
    assert run.code == 0 and json.loads(run.out)["length"] == len("Pods on sale March 1 ") + 23
    assert "youtube_shorts" in run_installed(installed, "platforms").out
    brands = json.loads(run_installed(installed, "brands", "--json").out)
    assert {b["id"] for b in brands["brands"]} >= {"tidewell-coffee", "maison-verveine", "northwind-analytics"}


def test_prompts_render_from_the_wheel(installed):
    run = run_installed(installed, "generate", "--brand", "maison-verveine", "--platform", "instagram", "--kind", "carousel",
                        "--brief", "Annoncez notre infusion", "--dry-run", "--backend", "compatible")
    # No endpoint is configured, so --backend compatible says what to set; a dry run with OpenAI settings renders.
    assert run.code == 2 and "OPENAI_BASE_URL" in run.err
    _, target, elsewhere = installed
    ok = run_process(sys.executable, "-m", "assistant", "generate", "--brand", "maison-verveine", "--platform", "instagram",
                     "--kind", "carousel", "--brief", "Annoncez notre infusion", "--dry-run",
                     env={"PYTHONPATH": str(target), "OPENAI_API_KEY": "sk-not-used-0000000000"}, cwd=elsewhere)
    assert ok.code == 0, ok.err
    assert "Maison Verveine" in ok.err and "## system" in ok.err
