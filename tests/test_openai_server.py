"""Checks the loopback OpenAI test server against the real `openai` client."""

from __future__ import annotations

import asyncio
import json
import statistics
import time

import httpx
import openai
import pytest
from openai import AsyncOpenAI, OpenAI

try:
    from openai_server import OpenAIServer, Reply
except ModuleNotFoundError:  # if tests/ ever becomes a package
    from tests.openai_server import OpenAIServer, Reply

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hi"}]


@pytest.fixture
def srv():
    with OpenAIServer() as server:
        yield server


def client(srv: OpenAIServer, **kwargs) -> OpenAI:
    kwargs.setdefault("max_retries", 0)
    return OpenAI(base_url=srv.url, api_key="sk-test", **kwargs)


def chat(c: OpenAI, **kwargs):
    return c.chat.completions.create(model="gpt-test", messages=MESSAGES, **kwargs)


def test_plain_reply(srv):
    srv.enqueue("hello there")
    r = chat(client(srv))
    assert r.choices[0].message.content == "hello there"
    assert r.choices[0].message.role == "assistant"
    assert r.choices[0].finish_reason == "stop"
    assert r.model == "gpt-test"
    assert r.object == "chat.completion"
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    assert r.usage.completion_tokens == len("hello there") // 4


def test_json_content_reply(srv):
    srv.enqueue({"caption": "Hi", "tags": ["a", "b"]})
    r = chat(client(srv))
    assert json.loads(r.choices[0].message.content) == {"caption": "Hi", "tags": ["a", "b"]}


def test_recorded_request(srv):
    srv.enqueue("ok")
    schema = {"type": "json_schema", "json_schema": {"name": "post", "schema": {"type": "object"}}}
    chat(client(srv), response_format=schema, temperature=0.2)
    [rec] = srv.requests
    assert (rec.method, rec.path) == ("POST", "/v1/chat/completions")
    assert rec.body["messages"] == MESSAGES
    assert rec.body["response_format"] == schema
    assert rec.body["model"] == "gpt-test"
    assert json.loads(rec.raw) == rec.body
    assert rec.headers["authorization"] == "Bearer sk-test"
    assert "authorization" not in rec.headers_without_auth()
    assert "sk-test" not in json.dumps(rec.headers_without_auth())


def test_queue_order_then_responder_then_default(srv):
    srv.enqueue("first", Reply(content="second"))
    srv.responder = lambda body: None if "default" in body["messages"][-1]["content"] else "from responder"
    srv.default = "from default"
    c = client(srv)
    ask = lambda text: c.chat.completions.create(model="m", messages=[{"role": "user", "content": text}])
    assert [ask(t).choices[0].message.content for t in ("a", "b", "c", "default please")] == [
        "first",
        "second",
        "from responder",
        "from default",
    ]


def test_no_scripted_reply_is_500(srv):
    with pytest.raises(openai.InternalServerError, match="no scripted reply"):
        chat(client(srv))


def test_429_with_retry_after_then_success(srv):
    srv.enqueue(Reply(status=429, error_message="Rate limit reached", headers={"retry-after": "0"}), "after retry")
    r = chat(client(srv, max_retries=2))
    assert r.choices[0].message.content == "after retry"
    assert len(srv.requests) == 2
    assert [q.headers["x-stainless-retry-count"] for q in srv.requests] == ["0", "1"]


def test_retry_after_ms_gives_fast_retries(srv):
    # The client ignores "retry-after: 0" (falls back to ~0.4 s backoff); "retry-after-ms" > 0 is honoured.
    fast = {"retry-after-ms": "1"}
    srv.enqueue(Reply(status=503, headers=fast), Reply(status=429, headers=fast), "ok")
    start = time.perf_counter()
    assert chat(client(srv, max_retries=2)).choices[0].message.content == "ok"
    assert time.perf_counter() - start < 0.3
    assert len(srv.requests) == 3


def test_500_error_shape(srv):
    srv.enqueue(Reply(status=500, error_message="boom"))
    with pytest.raises(openai.InternalServerError) as info:
        chat(client(srv))
    assert info.value.status_code == 500
    assert info.value.body == {"message": "boom", "type": "server_error", "param": None, "code": None}


def test_reject_json_schema(srv):
    srv.enqueue(Reply.reject_json_schema(), '{"ok": true}')
    c = client(srv)
    with pytest.raises(openai.BadRequestError) as info:
        chat(c, response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": {}}})
    assert info.value.param == "response_format"
    assert "json_schema is not supported" in info.value.message
    # A client falling back to json_object gets the next scripted reply.
    assert chat(c, response_format={"type": "json_object"}).choices[0].message.content == '{"ok": true}'


def test_finish_reason_length_and_refusal(srv):
    srv.enqueue(Reply(content="truncat", finish_reason="length"), Reply(refusal="I can't help with that"))
    c = client(srv)
    assert chat(c).choices[0].finish_reason == "length"
    msg = chat(c).choices[0].message
    assert (msg.content, msg.refusal) == (None, "I can't help with that")


def test_custom_usage_and_garbage_body(srv):
    srv.enqueue(
        Reply(content="x", usage={"prompt_tokens": 7, "completion_tokens": 3}),
        Reply(body=b'{"id": "chatcmpl-1", "cho'),
    )
    c = client(srv)
    assert chat(c).usage.total_tokens == 10
    # Surprising but true: a truncated body surfaces as a bare JSONDecodeError, not an openai.APIError.
    with pytest.raises(json.JSONDecodeError):
        chat(c)


def test_streaming(srv):
    srv.enqueue("The quick brown fox jumps")
    chunks = list(chat(client(srv), stream=True, stream_options={"include_usage": True}))
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == "The quick brown fox jumps"
    assert sum(1 for ch in chunks if ch.choices and ch.choices[0].delta.content) >= 3
    finishes = [ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == len(text) // 4


def test_stalled_reply_times_out_and_server_stops_promptly():
    server = OpenAIServer().start()
    server.enqueue(Reply(content="too late", delay=1))
    start = time.perf_counter()
    with pytest.raises(openai.APITimeoutError):
        chat(client(server, timeout=0.3))
    assert time.perf_counter() - start < 0.9
    start = time.perf_counter()
    server.stop()  # the handler is still "sleeping" on the scripted delay
    assert time.perf_counter() - start < 0.5


def test_models_and_unknown_route(srv):
    c = client(srv)
    assert [m.id for m in c.models.list()] == ["test-model"]
    with pytest.raises(openai.NotFoundError):
        c.models.retrieve("other-model")
    r = httpx.get(srv.url + "/nope")
    assert r.status_code == 404
    assert set(r.json()["error"]) == {"message", "type", "param", "code"}


def test_reset(srv):
    srv.enqueue("queued")
    srv.default = "d"
    srv.responder = lambda body: "r"
    httpx.get(srv.url + "/models")
    srv.reset()
    assert srv.requests == []
    with pytest.raises(openai.InternalServerError):
        chat(client(srv))


def test_files_and_batches_round_trip(srv):
    def route(body):
        prompt = body["messages"][-1]["content"]
        if prompt == "bad":
            return Reply(status=400, error_message="bad request line")
        return {"echo": prompt}

    srv.responder = route
    lines = [
        {"custom_id": f"req-{i}", "method": "POST", "url": "/v1/chat/completions",
         "body": {"model": "gpt-test", "messages": [{"role": "user", "content": prompt}]}}
        for i, prompt in enumerate(["one", "bad", "three"])
    ]
    payload = "".join(json.dumps(line) + "\n" for line in lines).encode()
    c = client(srv)

    uploaded = c.files.create(file=("batch.jsonl", payload), purpose="batch")
    assert (uploaded.purpose, uploaded.bytes, uploaded.filename) == ("batch", len(payload), "batch.jsonl")
    assert c.files.retrieve(uploaded.id).id == uploaded.id
    assert c.files.content(uploaded.id).content == payload

    batch = c.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h")
    assert batch.status == "validating"
    seen = []
    while batch.status not in ("completed", "failed", "cancelled", "expired"):
        batch = c.batches.retrieve(batch.id)
        seen.append(batch.status)
        assert len(seen) < 10
    assert seen == ["in_progress", "completed"]
    assert (batch.request_counts.total, batch.request_counts.completed, batch.request_counts.failed) == (3, 2, 1)

    out = [json.loads(line) for line in c.files.content(batch.output_file_id).text.splitlines()]
    assert [o["custom_id"] for o in out] == ["req-0", "req-2"]
    assert all(o["response"]["status_code"] == 200 and o["error"] is None for o in out)
    contents = [json.loads(o["response"]["body"]["choices"][0]["message"]["content"]) for o in out]
    assert contents == [{"echo": "one"}, {"echo": "three"}]

    [err] = [json.loads(line) for line in c.files.content(batch.error_file_id).text.splitlines()]
    assert err["custom_id"] == "req-1"
    assert err["response"]["status_code"] == 400
    assert err["response"]["body"]["error"]["message"] == "bad request line"

    # Polling again is stable and does not re-run the batch.
    assert c.batches.retrieve(batch.id).output_file_id == batch.output_file_id


def test_batch_completes_on_first_poll_when_configured(srv):
    srv.default = "ok"
    srv.batch_polls_before_complete = 0
    c = client(srv)
    line = {"custom_id": "only", "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": "m", "messages": []}}
    f = c.files.create(file=("b.jsonl", json.dumps(line).encode()), purpose="batch")
    created = c.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h")
    batch = c.batches.retrieve(created.id)
    assert batch.status == "completed" and batch.error_file_id is None


def test_concurrent_requests_overlap():
    async def run(server):
        c = AsyncOpenAI(base_url=server.url, api_key="sk-test", max_retries=0)
        ask = lambda i: c.chat.completions.create(model="m", messages=[{"role": "user", "content": f"n{i}"}])
        start = time.perf_counter()
        replies = await asyncio.gather(*(ask(i) for i in range(32)))
        elapsed = time.perf_counter() - start
        await c.close()
        return replies, elapsed

    with OpenAIServer(latency=0.2) as server:
        server.responder = lambda body: "re:" + body["messages"][-1]["content"]
        replies, elapsed = asyncio.run(run(server))
        assert [r.choices[0].message.content for r in replies] == [f"re:n{i}" for i in range(32)]
        assert len(server.requests) == 32
    assert elapsed < 0.8, f"32 requests with 0.2 s latency took {elapsed:.2f} s: not served concurrently"


def test_bare_call_micro_benchmark(srv, capsys):
    srv.default = "hi"
    c = client(srv)
    for _ in range(20):  # warm up the connection pool and client caches
        chat(c)
    timings = []
    for _ in range(200):
        start = time.perf_counter()
        chat(c)
        timings.append(time.perf_counter() - start)
    with capsys.disabled():
        print(f"\nbare chat.completions.create against OpenAIServer: median {statistics.median(timings) * 1000:.2f} ms")
