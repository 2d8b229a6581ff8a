"""Generation against a real OpenAI-protocol server on 127.0.0.1: kinds, repair, fallbacks, faults, prompts, secrets."""

from __future__ import annotations

import json
import logging
import time

import pytest

from assistant import Assistant
from assistant.catalog import Catalog
from assistant.errors import InputError, PromptTooLongError, TemplateError
from assistant.platforms import KINDS
from fake_content import content, responder
from conftest import SECRET, chat_requests
from openai_server import Reply

CATALOG = Catalog()


# Every kind x every brand x every platform that has the kind ------------------------------------

MATRIX = [
    (brand, platform, kind)
    for brand in CATALOG.brand_ids()
    for platform in sorted(CATALOG.platform_files)
    for kind in KINDS
    if CATALOG.platform(platform).supports(kind)
]


@pytest.mark.parametrize("brand,platform,kind", MATRIX)
def test_every_kind_brand_platform(server, brand, platform, kind):
    server.responder = responder
    r = Assistant().generate("Announce our new product, on sale March 1", brand=brand, platform=platform, kind=kind)
    assert r.ok, [str(v) for v in r.errors]
    assert r.attempts == 1 and r.content is not None and r.text
    assert type(r.content).kind == kind
    assert r.usage.total_tokens > 0
    sent = chat_requests(server)[-1].body
    assert sent["response_format"]["type"] == "json_schema" and sent["response_format"]["json_schema"]["strict"] is True
    profile = CATALOG.brand(brand)
    required = profile.for_platform(platform).hashtags.required
    if kind not in ("story",) and required:
        assert all(tag.lower() in r.text.lower() for tag in required)


# Repair and faults ------------------------------------------------------------------------------


def test_too_long_answer_is_repaired_on_second_call(server):
    server.enqueue(json.dumps(content("post", text="Long. " * 80)), json.dumps(content("post")))
    r = Assistant().generate("Announce pods", brand="tidewell-coffee", platform="x")
    assert r.ok and r.attempts == 2
    second = chat_requests(server)[1].body["messages"]
    repair = second[-1]["content"]
    assert "X allows 280" in repair and "Cut" in repair
    assert second[-2]["role"] == "assistant"


def test_invalid_json_then_valid(server):
    server.enqueue('{"text": "unterminated', json.dumps(content("post")))
    r = Assistant().generate("Announce pods", brand="tidewell-coffee", platform="linkedin")
    assert r.ok and r.attempts == 2
    assert "not valid JSON" in chat_requests(server)[1].body["messages"][-1]["content"]


def test_truncated_reply_then_valid(server):
    server.enqueue(Reply(content='{"text": "Our new pods', finish_reason="length"), json.dumps(content("post")))
    r = Assistant().generate("Announce pods", brand="tidewell-coffee", platform="linkedin")
    assert r.ok and r.attempts == 2
    assert "cut off" in chat_requests(server)[1].body["messages"][-1]["content"]


def test_truncated_http_body_then_valid(server):
    server.enqueue(Reply(body=b'{"id": "chatcmpl-1", "choices": [{"mess'), json.dumps(content("post")))
    r = Assistant().generate("Announce pods", brand="tidewell-coffee", platform="linkedin")
    assert r.ok and r.attempts == 2


def test_429_then_success_uses_the_clients_retries(server):
    server.enqueue(Reply(status=429, error_message="slow down", headers={"retry-after-ms": "1"}), json.dumps(content("post")))
    r = Assistant().generate("Announce pods", brand="tidewell-coffee", platform="linkedin")
    assert r.ok and r.attempts == 1
    reqs = chat_requests(server)
    assert len(reqs) == 2 and reqs[1].headers.get("x-stainless-retry-count") == "1"


def test_500_persistent_is_reported_not_raised(server, cli):
    server.default = Reply(status=500, error_message="boom", headers={"retry-after-ms": "1"})
    r = Assistant().generate("Announce pods", brand="tidewell-coffee", platform="linkedin")
    assert not r.ok and "500" in r.error
    run = cli("generate", "-b", "tidewell-coffee", "-p", "linkedin", "--brief", "pods", "--json")
    assert run.code == 1 and run.json_lines[0]["ok"] is False


def test_empty_refusal_and_wrong_shape_are_retried(server):
    server.enqueue(Reply(content=""), Reply(content=None, refusal="I can't help with that"), json.dumps({"text": "no other fields"}))
    r = Assistant(max_repairs=0).generate("Announce pods", brand="tidewell-coffee", platform="linkedin")
    assert not r.ok and r.attempts == 3  # 1 + 2 format retries, then an honest failure
    notes = [req.body["messages"][-1]["content"] for req in chat_requests(server)[1:]]
    assert "empty" in notes[0] and "declined" in notes[1]
    assert "required shape" in r.error


def test_schema_violation_then_valid(server):
    server.enqueue(json.dumps({"text": "missing the visual"}), json.dumps(content("post")))
    r = Assistant().generate("Announce pods", brand="tidewell-coffee", platform="linkedin")
    assert r.ok and r.attempts == 2
    assert "visual" in chat_requests(server)[1].body["messages"][-1]["content"]


def test_still_invalid_after_repairs_is_honest(server):
    long = json.dumps(content("post", text="Way too long. " * 40))
    server.default = long
    r = Assistant(max_repairs=2).generate("Announce pods", brand="tidewell-coffee", platform="x")
    assert not r.ok and r.attempts == 3
    assert any(v.rule == "length" for v in r.errors)
    assert "Way too long. " * 20 in r.text  # returned whole, never silently cut


def test_repair_rounds_configurable(server):
    server.default = json.dumps(content("post", text="Way too long. " * 40))
    r = Assistant(max_repairs=0).generate("Announce pods", brand="tidewell-coffee", platform="x")
    assert r.attempts == 1 and not r.ok


def test_json_schema_rejected_falls_back_and_is_remembered(server):
    server.enqueue(Reply.reject_json_schema(), json.dumps(content("post")))
    r = Assistant().generate("Announce pods", brand="tidewell-coffee", platform="linkedin")
    assert r.ok and r.mode == "json_object"
    reqs = chat_requests(server)
    assert reqs[1].body["response_format"] == {"type": "json_object"}
    assert "JSON schema" in reqs[1].body["messages"][-1]["content"]
    server.reset()
    server.responder = responder
    Assistant().generate("Announce pods", brand="tidewell-coffee", platform="linkedin")
    assert chat_requests(server)[0].body["response_format"] == {"type": "json_object"}


def test_plain_json_extraction_fallback(server):
    server.enqueue(Reply.reject_json_schema(), Reply(status=400, error_message="response_format json_object not supported", error_param="response_format"),
                   "Sure! Here it is:\n```json\n" + json.dumps(content("post")) + "\n```")
    r = Assistant().generate("Announce pods", brand="tidewell-coffee", platform="linkedin")
    assert r.ok and r.mode == "plain"
    assert "response_format" not in chat_requests(server)[-1].body


# Fixes ------------------------------------------------------------------------------------------


def test_deterministic_fixes(server):
    tags = ["#coffee pods", "#SmallBatch", "#smallbatch", "#coffeegram", "#A", "#B", "#C", "#D", "#E"]
    server.enqueue(json.dumps(content("post", hashtags=tags)))
    r = Assistant().generate("Announce pods", brand="tidewell-coffee", platform="instagram", sponsored=True)
    assert r.ok, r.errors
    tags_out = r.content.hashtags
    assert "#coffeegram" not in tags_out and "#CoffeePods" in tags_out
    assert len(tags_out) <= 4 and len({t.lower() for t in tags_out}) == len(tags_out)
    assert r.text.startswith("#ad ")
    assert any("disclosure" in f for f in r.fixes) and any("banned" in f for f in r.fixes)


def test_french_brand_gets_french_disclosure(server):
    server.responder = responder
    r = Assistant().generate("Annoncez notre infusion", brand="maison-verveine", platform="instagram", sponsored=True)
    assert r.ok and r.text.startswith("Publicité")
    assert "Write it in French" in r.prompt.messages[-1]["content"]


def test_hallucinated_link_removed_and_given_link_used(server):
    server.enqueue(json.dumps({**content("post"), "link": "https://made.up/x"}))
    r = Assistant().generate("Announce pods", brand="tidewell-coffee", platform="linkedin", link="https://tidewell.com/pods")
    assert r.content.link == "https://tidewell.com/pods" and "https://tidewell.com/pods" in r.text


# Prompts ----------------------------------------------------------------------------------------


def test_prompt_has_brand_voice_and_only_the_chosen_platform(server):
    server.responder = responder
    r = Assistant().generate("Announce pods", brand="northwind-analytics", platform="linkedin")
    system = r.prompt.messages[0]["content"]
    brand = CATALOG.brand("northwind-analytics").for_platform("linkedin")
    assert brand.voice.tone.strip()[:40] in system
    assert brand.vocabulary.banned[0] in system
    assert CATALOG.platform("linkedin").style.strip()[:60] in system
    for other in CATALOG.platform_files:
        if other != "linkedin":
            assert CATALOG.platform(other).style.strip()[:60] not in system, other
    assert chat_requests(server)[0].body["messages"] == r.prompt.messages


def test_sandbox_blocks_python_internals(tmp_path, server):
    (tmp_path / "system.j2").write_text("{{ ''.__class__.__mro__ }}", encoding="utf-8")
    a = Assistant(prompts_dir=tmp_path)
    with pytest.raises(TemplateError) as exc:
        a.generate("pods", brand="tidewell-coffee", platform="x")
    assert "sandbox" in str(exc.value) and "Python internals" in str(exc.value)
    assert not chat_requests(server)


def test_sandbox_error_in_cli_is_exit_2(tmp_path, server, cli):
    (tmp_path / "brief.j2").write_text("{{ brief.__class__ }}{{ cycler.__init__.__globals__ }}", encoding="utf-8")
    run = cli("generate", "-b", "tidewell-coffee", "-p", "x", "--brief", "pods", "--prompts-dir", tmp_path)
    assert run.code == 2 and "Traceback" not in run.err and "template" in run.err.lower()


def test_undefined_variable_is_a_clear_error(tmp_path, server):
    (tmp_path / "post.j2").write_text("{{ brnad.name }}", encoding="utf-8")
    with pytest.raises(TemplateError, match="unknown variable"):
        Assistant(prompts_dir=tmp_path).generate("pods", brand="tidewell-coffee", platform="x")


def test_lookup_order_user_then_brand_then_default(tmp_path, server):
    server.responder = responder
    (tmp_path / "tidewell-coffee").mkdir()
    (tmp_path / "tidewell-coffee" / "post.j2").write_text("BRAND-SPECIFIC POST RULES", encoding="utf-8")
    r = Assistant(prompts_dir=tmp_path).generate("pods", brand="tidewell-coffee", platform="x")
    assert "BRAND-SPECIFIC POST RULES" in r.prompt.messages[0]["content"]
    r = Assistant(prompts_dir=tmp_path).generate("pods", brand="northwind-analytics", platform="x")
    assert "BRAND-SPECIFIC" not in r.prompt.messages[0]["content"]
    (tmp_path / "post.j2").write_text("USER POST RULES", encoding="utf-8")
    r = Assistant(prompts_dir=tmp_path).generate("pods", brand="northwind-analytics", platform="x")
    assert "USER POST RULES" in r.prompt.messages[0]["content"]


def test_show_prompt_and_token_count(server, cli):
    server.responder = responder
    run = cli("generate", "-b", "tidewell-coffee", "-p", "x", "--brief", "pods", "--show-prompt", "--json")
    assert run.code == 0 and "## system" in run.err and "tokens" in run.err
    assert json.loads(run.out.splitlines()[0])["prompt_tokens"]["tokens"] > 100
    dry = cli("generate", "-b", "tidewell-coffee", "-p", "x", "--brief", "pods", "--dry-run")
    assert dry.code == 0 and dry.out == "" and "## user" in dry.err


def test_language_override(server):
    server.responder = responder
    r = Assistant().generate("pods", brand="tidewell-coffee", platform="x", language="fr-FR")
    assert "Write it in French (France)" in r.prompt.messages[-1]["content"]
    assert r.content.text.startswith("Nos nouvelles")


# Variants, several platforms, CLI ----------------------------------------------------------------


def test_variants_are_distinct_requests(server):
    server.responder = responder
    results = Assistant().generate_many("pods", brand="tidewell-coffee", platforms=["x"], variants=3)
    assert [r.variant for r in results] == [1, 2, 3]
    users = [r.prompt.messages[-1]["content"] for r in results]
    assert len(set(users)) == 3 and all("variant" in u for u in users)
    temps = sorted(req.body["temperature"] for req in chat_requests(server))
    assert temps[0] < temps[-1]


def test_several_platforms_and_kinds_in_one_call(server):
    server.responder = responder
    results = Assistant().generate_many("pods", brand="tidewell-coffee", platforms=["x", "instagram", "linkedin"], kinds=["post", "hashtags"])
    assert [(r.platform, r.kind) for r in results] == [(p, k) for p in ("x", "instagram", "linkedin") for k in ("post", "hashtags")]
    assert all(r.ok for r in results)


def test_cli_generate_json(server, cli):
    server.responder = responder
    run = cli("generate", "-b", "tidewell-coffee", "-p", "x", "-p", "linkedin", "-k", "post", "--brief", "Announce pods", "--json", "--variants", "2")
    assert run.code == 0, run.err
    rows = run.json_lines
    assert len(rows) == 4
    for row in rows:
        assert {"brand", "platform", "kind", "ok", "text", "content", "violations", "usage"} <= set(row)


def test_cli_generate_exit_1_when_invalid(server, cli):
    server.default = json.dumps(content("post", text="Too long. " * 50))
    run = cli("generate", "-b", "tidewell-coffee", "-p", "x", "--brief", "pods")
    assert run.code == 1 and "NOT OK" in run.out


def test_cli_generate_bad_input(server, cli, tmp_path):
    assert cli("generate", "-b", "nope", "-p", "x", "--brief", "pods").code == 2
    assert cli("generate", "-b", "tidewell-coffee", "-p", "x", "-k", "carousel", "--brief", "pods").code == 2
    assert cli("generate", "-b", "tidewell-coffee", "-p", "x", "--brief", "  ").code == 2
    assert cli("generate", "-b", "tidewell-coffee", "-p", "x", "--brief-file", tmp_path / "missing.txt").code == 2
    assert cli("generate", "-b", "tidewell-coffee", "-p", "x", "--brief", "pods", "--language", "french").code == 2
    assert not chat_requests(server)


# Tokens and cost ----------------------------------------------------------------------------------


def test_context_window_refusal(server, tmp_path, monkeypatch):
    table = tmp_path / "models.yaml"
    table.write_text("test-model: {context: 1000, max_output: 500, input: 1.0, output: 2.0}\n", encoding="utf-8")
    monkeypatch.setenv("ASSISTANT_MODELS_FILE", str(table))
    with pytest.raises(PromptTooLongError, match="context window of 1000"):
        Assistant().generate("pods", brand="tidewell-coffee", platform="x")
    assert not chat_requests(server)


def test_cost_from_price_table(server, tmp_path, monkeypatch):
    table = tmp_path / "models.yaml"
    table.write_text("test-model: {context: 100000, max_output: 4000, input: 1.0, output: 2.0}\n", encoding="utf-8")
    monkeypatch.setenv("ASSISTANT_MODELS_FILE", str(table))
    server.enqueue(Reply(content=json.dumps(content("post")), usage={"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500}))
    r = Assistant().generate("pods", brand="tidewell-coffee", platform="x")
    assert r.usage.prompt_tokens == 1000 and r.cost_usd == pytest.approx(0.002)


def test_token_count_offline_falls_back_fast(monkeypatch):
    import tiktoken

    from assistant import tokens

    def hang(name):
        time.sleep(30)

    monkeypatch.setattr(tiktoken, "get_encoding", hang)
    monkeypatch.setattr(tokens, "FETCH_TIMEOUT", 0.2)
    monkeypatch.setattr(tokens, "_encodings", {})
    monkeypatch.setattr(tokens, "_failed", set())
    started = time.perf_counter()
    count = tokens.TokenCounter("gpt-4o").count("hello world " * 100)
    assert time.perf_counter() - started < 2
    assert not count.exact and "estimate" in count.method and count.tokens > 50


def test_token_count_exact_for_cl100k_offline():
    from assistant.tokens import TokenCounter

    count = TokenCounter("gpt-4").count("hello world")
    assert count.exact and count.tokens == 2


# Secrets --------------------------------------------------------------------------------------------


def test_api_key_never_in_output_or_logs(server, cli, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    server.enqueue(Reply(status=401, error_message=f"Incorrect API key provided: {SECRET}"))
    run = cli("generate", "-b", "tidewell-coffee", "-p", "x", "--brief", "pods", "--json")
    assert run.code == 1
    server.responder = responder
    run2 = cli("generate", "-b", "tidewell-coffee", "-p", "x", "--brief", "pods", "--json", "--show-prompt")
    everything = run.out + run.err + run2.out + run2.err + caplog.text
    assert SECRET not in everything and SECRET[:12] not in everything
    assert chat_requests(server)[0].headers["authorization"] == f"Bearer {SECRET}"  # it was really used


def test_strict_schema_keeps_fields_named_title():
    from assistant.content import KIND_MODELS
    from assistant.llm import strict_schema

    for kind, model in KIND_MODELS.items():
        schema = strict_schema(model)
        text = json.dumps(schema)
        assert "$ref" not in text and '"default"' not in text

        def walk(node, path=""):
            if isinstance(node, dict):
                if node.get("type") == "object":
                    assert node["additionalProperties"] is False
                    assert node["required"] == list(node["properties"]), path
                for k, v in node.items():
                    walk(v, f"{path}.{k}")
            elif isinstance(node, list):
                for v in node:
                    walk(v, path)

        walk(schema)
    assert "title" in strict_schema(KIND_MODELS["post"])["properties"]
    assert "title" in strict_schema(KIND_MODELS["carousel"])["properties"]["slides"]["items"]["properties"]


def test_emoji_fix_removes_banned_and_extra(server):
    server.enqueue(json.dumps(content("post", text="Pods are here 🚀 ☕ ☕ ☕ ☕ for March 1.")))
    r = Assistant().generate("Announce pods", brand="tidewell-coffee", platform="linkedin")
    assert r.ok, r.errors
    assert "🚀" not in r.text and r.text.count("☕") <= (CATALOG.brand("tidewell-coffee").for_platform("linkedin").emoji.max or 3)
    assert any("emoji" in f for f in r.fixes)
