"""`assistant check`, `platforms`, `brands`: exit codes, JSON shape, and every bad-input message."""

from __future__ import annotations

import json
import os
import sys

import pytest

from conftest import ROOT, run_process


def test_check_ok_json(cli):
    r = cli("check", "--platform", "x", "--text", "Compostable pods, March 1. https://tidewell.com/pods", "--json")
    assert r.code == 0, r.err
    data = r.json
    assert data["ok"] is True and data["limit"] == 280
    assert data["length"] == len("Compostable pods, March 1. ") + 23
    assert data["violations"] == [] or all(set(v) >= {"rule", "severity", "message"} for v in data["violations"])


def test_check_errors_exit_1(cli):
    r = cli("check", "-p", "x", "-t", "x" * 281, "--json")
    assert r.code == 1
    data = r.json
    assert data["ok"] is False and data["length"] == 281
    assert any(v["rule"] == "length" and v["severity"] == "error" for v in data["violations"])


def test_check_with_brand_and_human_output(cli):
    r = cli("check", "--platform", "linkedin", "--brand", "northwind-analytics", "--text", "Let us leverage synergy 🚀")
    assert r.code == 1
    assert "banned_phrase" in r.out and "emoji" in r.out and "LinkedIn" in r.out


def test_check_reads_file_and_stdin(cli, tmp_path):
    f = tmp_path / "post.txt"
    f.write_text("Hello from a file\n", encoding="utf-8")
    assert cli("check", "-p", "bluesky", "--file", str(f), "--json").json["length"] == len("Hello from a file")
    assert cli("check", "-p", "bluesky", "-", "--json", stdin="Hello from stdin\n").json["length"] == len("Hello from stdin")


def test_check_sponsored(cli):
    r = cli("check", "-p", "instagram", "-b", "maison-verveine", "--sponsored", "-t", "Notre infusion du soir.", "--json")
    assert r.code == 1 and any(v["rule"] == "disclosure" for v in r.json["violations"])


def test_check_thread_kind(cli):
    r = cli("check", "-p", "x", "--kind", "thread", "-t", "One\n---\nTwo", "--json")
    assert r.code == 0 and r.json["kind"] == "thread"


def test_platforms_and_brands_listing(cli):
    r = cli("platforms")
    assert r.code == 0 and "instagram" in r.out and "youtube_shorts" in r.out
    data = cli("platforms", "--json").json
    assert {p["id"] for p in data} >= {"x", "mastodon"}
    r = cli("brands")
    assert r.code == 0 and "maison-verveine" in r.out
    data = cli("brands", "--json").json
    assert {b["id"] for b in data["brands"]} >= {"maison-verveine", "northwind-analytics", "tidewell-coffee"}
    assert not data["invalid"]


def test_brands_validate_default_folder(cli):
    r = cli("brands", "validate")
    assert r.code == 0, r.out + r.err
    assert r.out.count("ok ") >= 3


# Bad input: a clear message naming file, line or field, exit 2, no traceback -------------------


def bad(r, *needles):
    assert r.code == 2, (r.code, r.out, r.err)
    assert "Traceback" not in r.err + r.out
    for needle in needles:
        assert needle in r.err, (needle, r.err)


VALID = (ROOT / "brand_profiles" / "tidewell-coffee.yaml").read_text(encoding="utf-8")


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def test_yaml_syntax_error_has_line_and_column(cli, tmp_path):
    p = write(tmp_path, "broken.yaml", "name: Broken\ndescription: [unclosed\naudience: x\n")
    bad(cli("brands", "validate", p), "broken.yaml", "line", "column", "YAML syntax error")


def test_unknown_key_with_suggestion(cli, tmp_path):
    p = write(tmp_path, "typo.yaml", VALID.replace("\naudience:", "\naudiance:", 1))
    r = cli("brands", "validate", p)
    bad(r, "typo.yaml", "line", "unknown key 'audiance'", "Did you mean 'audience'?")


def test_unknown_nested_key_lists_allowed(cli, tmp_path):
    p = write(tmp_path, "nested.yaml", VALID.replace("\nvoice:\n", "\nvoice:\n  zzz: 1\n", 1))
    r = cli("brands", "validate", p)
    bad(r, "nested.yaml", "unknown key 'zzz' in 'voice'", "Allowed keys:")


def test_wrong_type(cli, tmp_path):
    p = write(tmp_path, "wrongtype.yaml", VALID.replace("\n  max: 3\n", "\n  max: lots\n", 1))
    r = cli("brands", "validate", p)
    bad(r, "wrongtype.yaml", "line", "emoji.max", "integer")


def test_missing_required_field(cli, tmp_path):
    lines = [line for line in VALID.splitlines() if not line.startswith("name:")]
    p = write(tmp_path, "noname.yaml", "\n".join(lines) + "\n")
    bad(cli("brands", "validate", p), "noname.yaml", "missing required field 'name'")


def test_unknown_platform_lists_valid(cli):
    bad(cli("check", "--platform", "twiter", "-t", "hi"), "Unknown platform 'twiter'", "Valid:", "instagram")
    bad(cli("check", "--platform", "linkdin", "-t", "hi"), "Did you mean 'linkedin'?")


def test_unknown_brand_lists_valid(cli):
    bad(cli("check", "-p", "x", "--brand", "tidewel-coffee", "-t", "hi"), "Unknown brand 'tidewel-coffee'", "Did you mean 'tidewell-coffee'?")


def test_unknown_platform_in_brand_overrides(cli, tmp_path):
    p = write(tmp_path, "plat.yaml", VALID.replace("\nplatforms:\n", "\nplatforms:\n  myspace:\n    notes: hi\n", 1))
    bad(cli("brands", "validate", p), "plat.yaml", "myspace", "instagram")


def test_empty_text(cli):
    bad(cli("check", "-p", "x", "-t", "   "), "empty")
    bad(cli("check", "-p", "x", "-", stdin=""), "empty")


def test_file_not_utf8(cli, tmp_path):
    p = write(tmp_path, "latin1.txt", "Caf\xe9 cr\xe8me", encoding="latin-1")
    bad(cli("check", "-p", "x", "--file", p), "latin1.txt", "not UTF-8", "UTF-8")
    y = write(tmp_path, "latin1.yaml", "name: Caf\xe9\n", encoding="latin-1")
    bad(cli("brands", "validate", y), "latin1.yaml", "line 1", "not UTF-8")


def test_unreadable_paths(cli, tmp_path):
    bad(cli("check", "-p", "x", "--file", tmp_path / "nope.txt"), "nope.txt", "no such")
    bad(cli("check", "-p", "x", "--file", tmp_path), "is a folder")
    if os.geteuid() != 0:  # root reads everything
        locked = write(tmp_path, "locked.txt", "hi")
        locked.chmod(0)
        bad(cli("check", "-p", "x", "--file", locked), "permission denied")


def test_bad_brands_dir(cli, tmp_path):
    bad(cli("check", "-p", "x", "-t", "hi", "--brands-dir", tmp_path / "missing"), "--brands-dir", "not a folder")


def test_duplicate_key(cli, tmp_path):
    p = write(tmp_path, "dup.yaml", "name: A\nname: B\n")
    bad(cli("brands", "validate", p), "dup.yaml", "line 2", "appears twice")


def test_broken_platform_override(cli, tmp_path):
    (tmp_path / "x.yaml").write_text("name: X\ntext:\n  limits:\n    - max: 280\n      counting: twitter_v4\n      source: me\n", encoding="utf-8")
    bad(cli("check", "-p", "x", "-t", "hi", "--platforms-dir", tmp_path), "x.yaml", "twitter_v4")


def test_bad_usage_exit_2(cli):
    assert cli("check", "--text", "hi").code == 2  # --platform missing
    assert cli("check", "-p", "x").code == 2  # no text source
    assert cli("check", "-p", "x", "-t", "hi", "--kind", "poem").code == 2


def test_kind_not_supported(cli):
    bad(cli("check", "-p", "x", "--kind", "carousel", "-t", "hi"), "no 'carousel' format", "supports")


def test_env_var_brands_dir(cli, tmp_path, monkeypatch):
    (tmp_path / "solo.yaml").write_text(VALID, encoding="utf-8")
    monkeypatch.setenv("ASSISTANT_BRANDS_DIR", str(tmp_path))
    data = cli("brands", "--json").json
    assert [b["id"] for b in data["brands"]] == ["solo"]


def test_platform_override_dir_replaces_rule(cli, tmp_path):
    src = (ROOT / "assistant" / "data" / "platforms" / "x.yaml").read_text(encoding="utf-8")
    (tmp_path / "x.yaml").write_text(src.replace("max: 280", "max: 25000", 1), encoding="utf-8")
    r = cli("check", "-p", "x", "-t", "y" * 1000, "--json", "--platforms-dir", tmp_path)
    assert r.code == 0 and r.json["limit"] == 25000


# Real processes: the console script and python -m ---------------------------------------------


def test_console_script_and_module():
    r = run_process(sys.executable, "-m", "assistant", "check", "-p", "x", "-t", "hello", "--json")
    assert r.code == 0 and json.loads(r.out)["length"] == 5
    exe = os.path.join(os.path.dirname(sys.executable), "assistant")
    r = run_process(exe, "platforms")
    assert r.code == 0 and "bluesky" in r.out


def test_mistyped_number_in_environment(cli, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("ASSISTANT_MODEL", "m")
    monkeypatch.setenv("ASSISTANT_TIMEOUT", "sixty")
    bad(cli("generate", "-b", "tidewell-coffee", "-p", "x", "--brief", "pods"), "ASSISTANT_TIMEOUT='sixty' is not a number")
