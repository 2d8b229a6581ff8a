"""Shared fixtures: a clean environment, no network beyond loopback, and a CLI runner."""

from __future__ import annotations

import contextlib
import io
import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CONFORMANCE = SHARED / "conformance" / "twitter-text" / "validate.yml"

_real_connect = socket.socket.connect
_real_getaddrinfo = socket.getaddrinfo
_LOCAL_NAMES = ("127.0.0.1", "localhost", "::1", "0.0.0.0", "")


def _is_local(host) -> bool:
    return host is None or (isinstance(host, bytes) and host.decode() in _LOCAL_NAMES) or str(host) in _LOCAL_NAMES or str(host).startswith("127.")


def _loopback_names_only(host, *args, **kwargs):
    if not _is_local(host):
        raise socket.gaierror(socket.EAI_NONAME, f"tests must not leave the machine (lookup of {host!r} blocked)")
    return _real_getaddrinfo(host, *args, **kwargs)


def _loopback_only(self, address):
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and not _is_local(host):
        raise RuntimeError(f"test tried to reach {address!r}: tests must not leave the machine")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith(("ASSISTANT_", "OPENAI_", "GRADIO_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ASSISTANT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)
    monkeypatch.setattr(socket, "getaddrinfo", _loopback_names_only)
    yield


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def json(self):
        import json
        return json.loads(self.out)

    @property
    def json_lines(self):
        import json
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


@pytest.fixture
def cli(monkeypatch):
    """Run the CLI in-process: cli("check", "--platform", "x", stdin="...")."""
    from assistant.cli import main

    def run(*args: str, stdin: str | bytes | None = None) -> Run:
        out, err = io.StringIO(), io.StringIO()
        raw = stdin.encode() if isinstance(stdin, str) else (stdin or b"")
        fake_stdin = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8")
        monkeypatch.setattr(sys, "stdin", fake_stdin)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as exc:  # argparse usage errors
                code = exc.code if isinstance(exc.code, int) else 2
        return Run(code, out.getvalue(), err.getvalue())

    return run


def run_process(*args: str, env: dict | None = None, input: str | None = None, cwd: Path | None = None, timeout: float = 120) -> Run:
    """Run a real process (the installed console script, python -m, a README command)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANT_", "OPENAI_"))}
    full_env.update(env or {})
    proc = subprocess.run(list(args), capture_output=True, text=True, env=full_env, input=input, cwd=cwd or ROOT, timeout=timeout)
    return Run(proc.returncode, proc.stdout, proc.stderr)


SECRET = "sk-test-SECRET-0123456789abcdef"  # an API key that must never show up in output, logs or files


@pytest.fixture(scope="module")
def _openai_server():
    from openai_server import OpenAIServer

    with OpenAIServer() as srv:
        yield srv


@pytest.fixture
def server(_openai_server, monkeypatch):
    """A real OpenAI-protocol server on 127.0.0.1 (one per test module, reset per test), with the
    environment pointing the assistant at it."""
    srv = _openai_server
    srv.reset()
    srv.latency = 0.0
    srv.batch_polls_before_complete = 1
    monkeypatch.setenv("OPENAI_BASE_URL", srv.url)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("ASSISTANT_MODEL", "test-model")
    monkeypatch.setenv("ASSISTANT_MAX_RETRIES", "2")
    return srv


def chat_requests(server):
    return [r for r in server.requests if r.path.endswith("/chat/completions")]
