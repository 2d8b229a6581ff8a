"""A scriptable OpenAI-compatible HTTP server on 127.0.0.1 for tests and benchmarks."""

from __future__ import annotations

import email
import email.message
import json
import socket
import sys
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import urlsplit

__all__ = ["OpenAIServer", "Recorded", "Reply"]

# OpenAI's error "type"/"code" per status, so clients that branch on them behave as in production.
_ERROR_KINDS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    404: ("invalid_request_error", "not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


@dataclass
class Reply:
    """One scripted answer to a chat completion request."""

    content: str | None = None
    finish_reason: str = "stop"
    refusal: str | None = None
    status: int = 200
    error_message: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    usage: dict | None = None
    body: bytes | None = None
    # Optional overrides for the error object; defaults follow the status code.
    error_type: str | None = None
    error_param: str | None = None
    error_code: str | None = None

    @classmethod
    def reject_json_schema(cls) -> Reply:
        """The 400 that servers without structured-output support give, so clients can fall back."""
        return cls(
            status=400,
            error_message="response_format json_schema is not supported by this model",
            error_type="invalid_request_error",
            error_param="response_format",
            error_code="unsupported_response_format",
        )

    def error_body(self) -> dict:
        default_type, default_code = _ERROR_KINDS.get(
            self.status, ("server_error" if self.status >= 500 else "invalid_request_error", None)
        )
        return _error(
            self.error_message or f"scripted error {self.status}",
            self.error_type or default_type,
            self.error_param,
            self.error_code if self.error_code is not None else default_code,
        )


@dataclass
class Recorded:
    """One HTTP request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case keys
    body: dict | None  # parsed JSON body, None for non-JSON (e.g. multipart uploads)
    raw: bytes

    def headers_without_auth(self) -> dict[str, str]:
        return {k: v for k, v in self.headers.items() if k not in ("authorization", "api-key")}


def _error(message: str, type_: str, param: str | None = None, code: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def _as_reply(value: Reply | str | dict) -> Reply:
    if isinstance(value, Reply):
        return value
    if isinstance(value, str):
        return Reply(content=value)
    if isinstance(value, dict):
        return Reply(content=json.dumps(value))
    raise TypeError(f"cannot turn {type(value).__name__} into a Reply")


def _new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}"


def _prompt_text_len(body: dict) -> int:
    total = 0
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            total += len(content)
        elif isinstance(content, list):  # content parts: [{"type": "text", "text": ...}, ...]
            total += sum(len(p.get("text") or "") for p in content if isinstance(p, dict))
    return total


def _parse_multipart(raw: bytes, content_type: str) -> dict[str, tuple[str | None, bytes]]:
    """name -> (filename, data). Hand-rolled because `cgi` is deprecated and `email` mangles binary payloads."""
    header = email.message.Message()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    if not boundary:
        raise ValueError("multipart body without boundary")
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in raw.split(b"--" + str(boundary).encode())[1:]:
        if part.startswith(b"--"):  # closing delimiter
            break
        part = part.removeprefix(b"\r\n").removesuffix(b"\r\n")
        head, _, data = part.partition(b"\r\n\r\n")
        headers = email.message_from_bytes(head + b"\r\n\r\n")
        name = headers.get_param("name", header="content-disposition")
        if name:
            fields[str(name)] = (headers.get_filename(), data)
    return fields


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # server_close() would otherwise join every handler thread, including ones parked on idle keep-alive sockets.
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, owner: OpenAIServer):
        self.owner = owner
        self.stopping = threading.Event()
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request, client_address):
        # Clients that time out or close pooled connections are routine here, not worth a traceback.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every response therefore carries Content-Length
    server_version = "openai-test-server"
    sys_version = ""
    disable_nagle_algorithm = True
    # Buffer writes so status line, headers and body leave in one segment (flushed after each request).
    wbufsize = 1 << 16
    server: _HTTPServer

    def setup(self):
        super().setup()
        with self.server.connections_lock:
            self.server.open_connections.add(self.connection)

    def finish(self):
        with self.server.connections_lock:
            self.server.open_connections.discard(self.connection)
        super().finish()

    def log_message(self, format, *args):
        pass

    def _dispatch(self):
        try:
            raw = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        try:
            self.server.owner._handle(self, raw)
        except OSError:
            raise
        except Exception as exc:  # a bug in a responder or here must not leave the client hanging
            self.send_json(500, _error(f"test server error: {exc!r}", "server_error"))

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _dispatch

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def send_bytes(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-request-id", _new_id("req_"))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None):
        self.send_bytes(status, json.dumps(obj).encode(), "application/json", headers)

    def send_invalid(self, status: int, message: str, param: str | None = None):
        self.send_json(status, _error(message, "invalid_request_error", param))

    def send_unknown_url(self):
        self.send_json(404, _error(f"Unknown request URL: {self.command} {self.path}", "invalid_request_error",
                                   None, "unknown_url"))


class OpenAIServer:
    """Real HTTP server speaking enough of the OpenAI REST API: chat completions (+SSE), models, files, batches.

    Replies come from, in order: the `enqueue`d queue, then `responder(body)` (None defers), then `default`,
    else a 500 "no scripted reply".
    """

    def __init__(self, *, latency: float = 0.0, model: str = "test-model"):
        self.latency = latency
        self.model = model
        self.responder: Callable[[dict], Reply | str | dict | None] | None = None
        self.default: Reply | str | dict | None = None
        self.requests: list[Recorded] = []
        self.batch_polls_before_complete: int = 1
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._batch_lock = threading.Lock()  # a batch is processed exactly once even if polled concurrently
        self._files: dict[str, dict] = {}  # id -> {"meta": FileObject dict, "data": bytes}
        self._batches: dict[str, dict] = {}  # id -> {"obj": Batch dict, "polls": int, "processed": bool}
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> OpenAIServer:
        if self._httpd is not None:
            return self
        self._httpd = _HTTPServer(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="openai-test-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.stopping.set()  # wakes handlers sleeping on a scripted delay
        httpd.shutdown()
        httpd.server_close()
        # Unblock handler threads parked on keep-alive reads so they exit now instead of lingering.
        with httpd.connections_lock:
            connections = list(httpd.open_connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("OpenAIServer is not started")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # ---- scripting ---------------------------------------------------------------------------------------------
    def enqueue(self, *replies: Reply | str | dict) -> None:
        converted = [_as_reply(r) for r in replies]
        with self._lock:
            self._queue.extend(converted)

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self.requests.clear()
            self.default = None
            self.responder = None

    def _next_reply(self, body: dict) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            responder, default = self.responder, self.default
        # The responder is user code: call it outside the lock so it may be slow or enqueue more replies.
        if responder is not None:
            produced = responder(body)
            if produced is not None:
                return _as_reply(produced)
        if default is not None:
            return _as_reply(default)
        return Reply(status=500, error_message="no scripted reply")

    # ---- request handling -------------------------------------------------------------------------------------
    def _handle(self, h: _Handler, raw: bytes) -> None:
        path = urlsplit(h.path).path
        headers = {k.lower(): v for k, v in h.headers.items()}
        body = None
        if raw and "json" in headers.get("content-type", "application/json"):
            try:
                body = json.loads(raw)
            except ValueError:
                pass
        with self._lock:
            self.requests.append(Recorded(h.command, h.path, headers, body, raw))

        route = path.removeprefix("/v1").rstrip("/").split("/")[1:]  # "/v1/files/x/content" -> ["files","x","content"]
        method = h.command
        if route == ["chat", "completions"] and method == "POST":
            if not isinstance(body, dict):
                return h.send_invalid(400, "We could not parse the JSON body of your request.")
            return self._chat(h, body)
        if route == ["models"] and method == "GET":
            return h.send_json(200, {"object": "list", "data": [self._model_obj()]})
        if len(route) == 2 and route[0] == "models" and method == "GET" and route[1] == self.model:
            return h.send_json(200, self._model_obj())
        if route == ["files"] and method == "POST":
            return self._upload(h, raw, headers.get("content-type", ""))
        if len(route) >= 2 and route[0] == "files":
            return self._file(h, method, route[1], route[2:])
        if route == ["batches"] and method == "POST":
            return self._create_batch(h, body)
        if len(route) >= 2 and route[0] == "batches":
            return self._batch(h, method, route[1], route[2:])
        h.send_unknown_url()

    def _model_obj(self) -> dict:
        return {"id": self.model, "object": "model", "created": 0, "owned_by": "openai-test-server"}

    # ---- chat completions -------------------------------------------------------------------------------------
    def _chat(self, h: _Handler, body: dict) -> None:
        reply = self._next_reply(body)
        wait = self.latency + reply.delay
        if wait > 0 and h.server.stopping.wait(wait):
            h.close_connection = True  # server is stopping: abandon the stalled reply
            return
        stream = bool(body.get("stream"))
        if reply.body is not None:
            h.send_bytes(reply.status, reply.body, "text/event-stream" if stream else "application/json", reply.headers)
        elif reply.status != 200:
            h.send_json(reply.status, reply.error_body(), reply.headers)
        elif stream:
            h.send_bytes(200, self._sse(body, reply), "text/event-stream; charset=utf-8", reply.headers)
        else:
            h.send_json(200, self._completion(body, reply), reply.headers)

    def _usage(self, body: dict, reply: Reply) -> dict:
        usage = dict(reply.usage) if reply.usage is not None else {
            "prompt_tokens": _prompt_text_len(body) // 4,
            "completion_tokens": len(reply.content or "") // 4,
        }
        usage.setdefault("total_tokens", usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0))
        return usage

    def _completion(self, body: dict, reply: Reply) -> dict:
        return {
            "id": _new_id("chatcmpl-"),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.content, "refusal": reply.refusal},
                    "logprobs": None,
                    "finish_reason": reply.finish_reason,
                }
            ],
            "usage": self._usage(body, reply),
        }

    def _sse(self, body: dict, reply: Reply) -> bytes:
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        base = {
            "id": _new_id("chatcmpl-"),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model") or self.model,
        }

        def chunk(delta: dict, finish_reason: str | None = None) -> dict:
            out = {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]}
            if include_usage:
                out["usage"] = None  # as OpenAI does: null on every chunk but the last
            return out

        chunks = [chunk({"role": "assistant", "content": "" if reply.content is not None else None})]
        for key in ("content", "refusal"):
            text = getattr(reply, key)
            if text:
                step = max(1, -(-len(text) // 4))  # about four pieces, so clients must really concatenate
                chunks += [chunk({key: text[i : i + step]}) for i in range(0, len(text), step)]
        chunks.append(chunk({}, reply.finish_reason))
        if include_usage:
            chunks.append({**base, "choices": [], "usage": self._usage(body, reply)})
        events = [f"data: {json.dumps(c)}\n\n" for c in chunks] + ["data: [DONE]\n\n"]
        return "".join(events).encode()

    # ---- files ------------------------------------------------------------------------------------------------
    def _store_file(self, data: bytes, filename: str, purpose: str) -> dict:
        meta = {
            "id": _new_id("file-"),
            "object": "file",
            "bytes": len(data),
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
            "expires_at": None,
            "status_details": None,
        }
        with self._lock:
            self._files[meta["id"]] = {"meta": meta, "data": data}
        return meta

    def _upload(self, h: _Handler, raw: bytes, content_type: str) -> None:
        try:
            form = _parse_multipart(raw, content_type)
        except ValueError as exc:
            return h.send_invalid(400, str(exc))
        if "file" not in form or "purpose" not in form:
            return h.send_invalid(400, "'file' and 'purpose' are required", "file")
        filename, data = form["file"]
        h.send_json(200, self._store_file(data, filename or "upload", form["purpose"][1].decode()))

    def _file(self, h: _Handler, method: str, file_id: str, rest: list[str]) -> None:
        with self._lock:
            stored = self._files.get(file_id)
            if stored is not None and method == "DELETE" and not rest:
                del self._files[file_id]
        if stored is None:
            return h.send_invalid(404, f"No such File object: {file_id}", "id")
        if method == "GET" and not rest:
            return h.send_json(200, stored["meta"])
        if method == "GET" and rest == ["content"]:
            return h.send_bytes(200, stored["data"], "application/octet-stream")
        if method == "DELETE" and not rest:
            return h.send_json(200, {"id": file_id, "object": "file", "deleted": True})
        h.send_unknown_url()

    # ---- batches ----------------------------------------------------------------------------------------------
    def _create_batch(self, h: _Handler, body: dict | None) -> None:
        body = body or {}
        input_file_id = body.get("input_file_id")
        with self._lock:
            known = input_file_id in self._files
        if not known:
            return h.send_invalid(400, f"Invalid input_file_id: {input_file_id}", "input_file_id")
        if body.get("endpoint") != "/v1/chat/completions":
            return h.send_invalid(400, "This test server only batches /v1/chat/completions", "endpoint")
        now = int(time.time())
        obj = {
            "id": _new_id("batch_"),
            "object": "batch",
            "endpoint": body["endpoint"],
            "errors": None,
            "input_file_id": input_file_id,
            "completion_window": body.get("completion_window", "24h"),
            "status": "validating",
            "output_file_id": None,
            "error_file_id": None,
            "created_at": now,
            "in_progress_at": None,
            "expires_at": now + 86400,
            "finalizing_at": None,
            "completed_at": None,
            "failed_at": None,
            "expired_at": None,
            "cancelling_at": None,
            "cancelled_at": None,
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "metadata": body.get("metadata"),
        }
        with self._batch_lock:
            self._batches[obj["id"]] = {"obj": obj, "polls": 0, "processed": False}
            snapshot = json.loads(json.dumps(obj))
        h.send_json(200, snapshot)

    def _batch(self, h: _Handler, method: str, batch_id: str, rest: list[str]) -> None:
        with self._batch_lock:
            state = self._batches.get(batch_id)
            if state is None:
                return h.send_invalid(404, f"No such Batch object: {batch_id}", "id")
            obj = state["obj"]
            if method == "POST" and rest == ["cancel"]:
                if obj["status"] not in ("completed", "failed", "expired"):
                    obj.update(status="cancelled", cancelled_at=int(time.time()))
            elif method == "GET" and not rest:
                if obj["status"] not in ("cancelled", "completed"):
                    if not state["processed"]:
                        # Work happens on the first poll so replies are consumed at a predictable moment.
                        self._run_batch(obj)
                        state["processed"] = True
                    state["polls"] += 1
                    if state["polls"] > self.batch_polls_before_complete:
                        obj.update(status="completed", completed_at=int(time.time()))
                    else:
                        obj["status"] = "in_progress"
            else:
                return h.send_unknown_url()
            # Expose outputs only once completed, as OpenAI does.
            snapshot = json.loads(json.dumps(obj))
            if snapshot["status"] != "completed":
                snapshot.update(output_file_id=None, error_file_id=None, completed_at=None)
        h.send_json(200, snapshot)

    def _run_batch(self, obj: dict) -> None:
        """Answer every input line with the chat reply logic; Reply.delay and headers do not apply here."""
        obj["in_progress_at"] = int(time.time())
        with self._lock:
            data = self._files[obj["input_file_id"]]["data"]
        ok_lines, error_lines = [], []
        for line in data.decode().splitlines():
            if not line.strip():
                continue
            custom_id, response, error = None, None, None
            try:
                item = json.loads(line)
                custom_id = item.get("custom_id")
                if item.get("url") != obj["endpoint"]:
                    raise ValueError(f"url {item.get('url')!r} does not match batch endpoint {obj['endpoint']}")
                reply = self._next_reply(item.get("body") or {})
                if reply.body is not None:
                    try:
                        out_body = json.loads(reply.body)
                    except ValueError:
                        out_body = reply.body.decode(errors="replace")
                elif reply.status != 200:
                    out_body = reply.error_body()
                else:
                    out_body = self._completion(item.get("body") or {}, reply)
                response = {"status_code": reply.status, "request_id": _new_id("req_"), "body": out_body}
            except Exception as exc:  # malformed line or failing responder: report it per line like OpenAI
                error = {"code": "invalid_request", "message": str(exc)}
            record = {"id": _new_id("batch_req_"), "custom_id": custom_id, "response": response, "error": error}
            (ok_lines if response is not None and response["status_code"] == 200 else error_lines).append(record)

        def write(records: list[dict], suffix: str) -> str | None:
            if not records:  # OpenAI leaves output_file_id / error_file_id null when there is nothing to report
                return None
            text = "".join(json.dumps(r) + "\n" for r in records).encode()
            return self._store_file(text, f"{obj['id']}_{suffix}.jsonl", "batch_output")["id"]

        obj["output_file_id"] = write(ok_lines, "output")
        obj["error_file_id"] = write(error_lines, "error")
        obj["finalizing_at"] = int(time.time())
        obj["request_counts"] = {
            "total": len(ok_lines) + len(error_lines),
            "completed": len(ok_lines),
            "failed": len(error_lines),
        }
