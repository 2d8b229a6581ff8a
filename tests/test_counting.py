"""Counting as each platform counts: twitter-text's conformance suite for X, hand cases for the rest."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

import pytest
import yaml

from assistant import counting
from assistant.twitter_text import TLD_FILE, extract_urls, is_valid, weighted_length

VALIDATE_YML = Path(__file__).resolve().parents[2] / "shared/conformance/twitter-text/validate.yml"
COUNTER_SECTIONS = ("WeightedTweetsWithDiscountedEmojiCounterTest", "UnicodeDirectionalMarkerCounterTest")
# isValidUrl accepts these, but twitter-text's extractor (which we follow) does not: it
# knows no userinfo or IP hosts, and a query may not end on "+".
URL_VALIDATION_ONLY = frozenset({
    "Valid url: port and userinfo",
    "Valid url: ipv4",
    "Valid url: ipv6",
    "Valid url: sub delims and question marks",
})


@cache
def _validate_yml() -> dict:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader is 10x faster
    return yaml.load(VALIDATE_YML.read_text(encoding="utf-8"), Loader=loader)["tests"]


def _conformance(*sections: str, known_differences: frozenset[str] = frozenset()) -> list:
    if not VALIDATE_YML.exists():
        return [pytest.param(None, None, id="validate.yml-absent")]
    tests = _validate_yml()
    xfail = pytest.mark.xfail(reason="valid for isValidUrl, not extracted by twitter-text's extractor", strict=True)
    return [
        pytest.param(section, case, id=f"{section}-{case['description']}",
                     marks=[xfail] if case["description"] in known_differences else [])
        for section in sections
        for case in tests[section]
    ]


def _skip_if_absent(case: dict | None) -> None:
    if case is None:
        pytest.skip(f"{VALIDATE_YML} not found (it lives in shared/, beside the repository)")


# --- X: the official conformance cases ---------------------------------------------------


@pytest.mark.parametrize(("section", "case"), _conformance(*COUNTER_SECTIONS))
def test_x_counts_like_twitter_text(section, case):
    _skip_if_absent(case)
    expected = case["expected"]
    assert weighted_length(case["text"]) == expected["weightedLength"]
    assert is_valid(case["text"]) is expected["valid"]
    assert counting.count(case["text"], "twitter_v3") == expected["weightedLength"]


@pytest.mark.parametrize(
    ("section", "case"), _conformance("urls", "urls_without_protocol", known_differences=URL_VALIDATION_ONLY)
)
def test_url_validation_cases_as_extraction(section, case):
    """validate.yml's isValidUrl cases, read as: is the whole text extracted as one URL?"""
    _skip_if_absent(case)
    text = case["text"]
    whole = extract_urls(text, require_scheme=section == "urls") == [(0, len(text))]
    assert whole is case["expected"]


# --- X: hand cases ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("Hi http://test.co", 26),
        ("see example.com and t.co/abc", 4 + 23 + 5 + 23),
        ("日本語", 6),
        ("€", 2),
        ("\u2014", 1),  # em dash: U+2010–U+201F is light
        ("❤️‍🔥", 2),
        ("❤️", 2),
        ("©", 1),  # text-style ©: by its code point
        ("©️", 2),
        ("1️⃣", 2),
        ("🇫🇷", 2),
        ("👍🏽👍🏽", 4),
        ("e\u0301", 1),  # NFC first: é is one light code point
    ],
)
def test_x_weighted_length(text, expected):
    assert counting.count(text, "twitter_v3") == expected


def test_x_limits_and_invalid_characters():
    assert is_valid("a" * 280) and not is_valid("a" * 281) and not is_valid("")
    assert is_valid("日" * 140) and not is_valid("日" * 141)
    assert not is_valid("ok\ufeff")
    assert counting.invalid_characters("a\ufeffb\uffffc\ufffe", "twitter_v3") == ["\ufeff", "\uffff", "\ufffe"]
    assert counting.invalid_characters("a\ufeffb", "graphemes") == []


@pytest.mark.parametrize(
    ("text", "urls"),
    [
        ("visit example.com.", ["example.com"]),
        ("(see https://en.wikipedia.org/wiki/Primer_(film))", ["https://en.wikipedia.org/wiki/Primer_(film)"]),
        ("http://example.com/path..........", ["http://example.com/path"]),
        ("I like http://t.co/pbY2NfTZ's site", ["http://t.co/pbY2NfTZ"]),
        ("これは日本語です。example.com/path/index.html中国語", ["example.com/path/index.html"]),
        ("foo.jp it.so t.co", ["foo.jp", "it.so", "t.co"]),
        ("http://foobar.پاکستان/ ok", ["http://foobar.پاکستان/"]),
        ("Example.COM and WWW.EXAMPLE.CO.UK/x", ["Example.COM", "WWW.EXAMPLE.CO.UK/x"]),
        ("foo.xn--p1ai", ["foo.xn--p1ai"]),
        ("$twitter.com #test.com @test.com _x.com", []),
        ("john.doe.gov@mail.com and file.tar.bz2", []),
        ("http://domain-dash_2314.foo-cow_4352.com", []),
        ("x" * 64 + ".com", []),  # a DNS label has at most 63 characters
    ],
)
def test_extract_urls(text, urls):
    assert [text[s:e] for s, e in extract_urls(text)] == urls


def test_extract_urls_can_require_a_scheme():
    text = "example.com and https://example.org/a"
    assert [text[s:e] for s, e in extract_urls(text, require_scheme=True)] == ["https://example.org/a"]


# --- the other platforms ------------------------------------------------------------------

FAMILY = "👨‍👩‍👧‍👦"


@pytest.mark.parametrize(
    ("text", "method", "expected"),
    [
        # Bluesky: extended grapheme clusters
        ("नमस्ते", "graphemes", 3),
        (FAMILY, "graphemes", 1),
        ("❤️‍🔥", "graphemes", 1),
        ("a\r\nb", "graphemes", 3),
        # UTF-8 bytes (Bluesky's second cap)
        ("héllo", "utf8_bytes", 6),
        ("😷", "utf8_bytes", 4),
        (FAMILY, "utf8_bytes", 25),
        # TikTok: UTF-16 code units
        ("😷", "utf16", 2),
        ("a😷", "utf16", 3),
        (FAMILY, "utf16", 11),
        ("😷", "codepoints", 1),
        (FAMILY, "codepoints", 7),
        # Threads: emoji by their UTF-8 bytes, at least 4
        ("😷", "threads", 4),
        (FAMILY, "threads", 25),
        ("hi ❤️", "threads", 3 + 6),
        ("hi ☺", "threads", 3 + 4),
        ("hello", "threads", 5),
    ],
)
def test_count(text, method, expected):
    assert counting.count(text, method) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Read https://example.com/" + "a" * 40, 5 + 23),  # a 60-character link counts 23
        ("https://example.com/" + "a" * 40, 23),
        ("@alice@example.social", len("@alice")),
        ("cc @alice@example.social and @bob", len("cc @alice and @bob")),
        ("example.com", 11),  # no scheme: counted by its characters
        ("gemini://example.org/x y", 23 + 2),
        ("mail bob@example.com", 20),  # an address, not a mention
        ("नमस्ते", 3),
    ],
)
def test_mastodon(text, expected):
    assert counting.count(text, "mastodon") == expected


# --- emoji ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cluster", "expected"),
    [
        ("😷", True),
        (FAMILY, True),
        ("❤️‍🔥", True),
        ("👍🏽", True),
        ("🇫🇷", True),
        ("🏴󠁧󠁢󠁥󠁮󠁧󠁿", True),
        ("1⃣", True),
        ("1️⃣", True),
        ("©️", True),
        ("☺", True),  # twemoji takes text-default pictographs bare; X counts it 2 either way
        ("❤", True),
        ("☺︎", False),  # U+FE0E asks for text style
        ("©", False),
        ("™", False),
        ("1", False),
        ("a", False),
        ("日", False),
    ],
)
def test_is_emoji(cluster, expected):
    assert counting.is_emoji(cluster) is expected


def test_emojis_and_graphemes():
    assert counting.emojis("Hi 👋🏽, © 2026 ❤️ 🇫🇷!") == ["👋🏽", "❤️", "🇫🇷"]
    assert counting.emojis("plain ascii") == []
    assert counting.graphemes("e\u0301😷") == ["e\u0301", "😷"]


def test_methods_and_unknown_method():
    assert set(counting.METHODS) == {"twitter_v3", "graphemes", "utf8_bytes", "utf16", "codepoints", "mastodon", "threads"}
    assert all(counting.METHODS.values())
    with pytest.raises(ValueError, match="twitter_v3"):
        counting.count("x", "twitter_v4")
    with pytest.raises(ValueError):
        counting.invalid_characters("x", "nope")


# --- the TLD list and its generator -------------------------------------------------------


def test_tld_file_is_unicode_one_per_line_with_source():
    lines = TLD_FILE.read_text(encoding="utf-8").splitlines()
    header = "\n".join(line for line in lines if line.startswith("#"))
    assert "Public Suffix List" in header and "Mozilla Public License 2.0" in header and "Generated" in header
    tlds = [line for line in lines if line and not line.startswith("#")]
    assert len(tlds) == len(set(tlds)) > 1000
    assert {"com", "co", "jp", "onion", "рф", "پاکستان", "みんな"} <= set(tlds)
    assert not [t for t in tlds if t.startswith("xn--") or t != t.strip().lower()]


def test_update_tlds_reads_only_icann_last_labels():
    spec = importlib.util.spec_from_file_location("update_tlds", Path(__file__).resolve().parents[1] / "tools/update_tlds.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    psl = "\n".join([
        "// VERSION: 2026-01-01_00-00-00_UTC",
        "// ===BEGIN ICANN DOMAINS===",
        "com", "co.uk", "*.ck", "!www.ck", "xn--p1ai", "// newGTLDs", "みんな",
        "// ===END ICANN DOMAINS===",
        "// ===BEGIN PRIVATE DOMAINS===", "github.io", "// ===END PRIVATE DOMAINS===",
    ])
    tlds, meta = tool.parse_icann_tlds(psl)
    assert tlds == {"com", "uk", "ck", "рф", "みんな"}
    assert meta["version"] == "2026-01-01_00-00-00_UTC"
