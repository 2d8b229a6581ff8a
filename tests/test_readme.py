"""Every command in the README runs (STYLE: a README command that is not run by a test rots)."""

from __future__ import annotations

import json
import re
import shlex

import pytest

from conftest import ROOT
from fake_content import responder

README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", README, re.S)
SH = [line.strip() for lang, body in BLOCKS if lang == "sh" for line in body.splitlines() if line.strip()]
PY = [body for lang, body in BLOCKS if lang == "python"]
RUN_CMD, TEST_CMD = SH[0], SH[1]
ASSISTANT_LINES = [line for line in SH[2:] if line.startswith("assistant ")]


@pytest.fixture
def server(server):
    server.responder = responder
    return server


def test_first_screen_commands():
    # The test command is exactly what CI runs after installing system packages.
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    setup, _, test_part = TEST_CMD.partition("&& CMAKE_ARGS=")
    assert "pip install -e '.[dev,local]' && python -m pytest" in TEST_CMD and "pip install -e '.[dev,local]' && python -m pytest" in ci
    assert 'CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"' in RUN_CMD and "-DGGML_NATIVE=OFF" in ci
    # The run command's generation is the one tests/test_local_model.py runs offline with the real model.
    generate = RUN_CMD.split("&& ")[-1]
    assert generate.startswith("assistant generate --brand tidewell-coffee --platform linkedin --kind post --brief ")


def test_run_command_generates(server, cli):
    args = shlex.split(RUN_CMD.split("&& ")[-1])[1:]
    run = cli(*args)
    assert run.code == 0, run.err
    assert "linkedin · post · ok" in run.out


@pytest.mark.parametrize("line", ASSISTANT_LINES)
def test_readme_cli_lines(line, server, cli, tmp_path):
    args = shlex.split(line)[1:]
    args = [str(tmp_path / "out") if a == "out/march" else a for a in args]
    run = cli(*args)
    assert "Traceback" not in run.err
    assert run.code == 0, (line, run.out, run.err)
    if "--json" in args and args[0] == "check":
        assert {"ok", "length", "limit", "violations"} <= set(run.json)
    if "--json" in args and args[0] == "generate":
        assert all(row["ok"] for row in run.json_lines)


def test_readme_python_example(server, capsys):
    code = PY[0]
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "#" in out and "True" in out


def test_batch_resume_line_follows_a_run(server, cli, tmp_path):
    out = tmp_path / "out"
    assert cli("batch", "examples/briefs.yaml", "--out", out).code == 0
    run = cli("batch", "examples/briefs.yaml", "--out", out, "--resume", "--json")
    assert run.code == 0 and json.loads(run.out)["skipped"] > 0
