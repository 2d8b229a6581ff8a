"""X's own text rules, re-implemented from twitter-text: URL extraction, emoji sequences, v3 weighted length."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import regex

__all__ = [
    "EMOJI_SEQUENCE",
    "MAX_WEIGHTED_LENGTH",
    "TRANSFORMED_URL_LENGTH",
    "INVALID_CHARACTERS",
    "extract_urls",
    "extract_mastodon_urls",
    "weighted_length",
    "is_valid",
]

TLD_FILE = Path(__file__).resolve().parent / "data" / "tlds.txt"

# twitter-text config/v3.json. Weights are in hundredths, as in the config, so that a
# future fractional weight needs no rewrite.
MAX_WEIGHTED_LENGTH = 280
SCALE = 100
DEFAULT_WEIGHT = 200
LIGHT_WEIGHT = 100
LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
TRANSFORMED_URL_LENGTH = 23
INVALID_CHARACTERS = "\uFFFE\uFEFF\uFFFF"

MAX_URL_LENGTH = 4096
MAX_TCO_SLUG_LENGTH = 40
MAX_DOMAIN_LABEL_LENGTH = 63
# twitter-text measures a scheme-less URL as if "https://" were in front of it.
DEFAULT_PROTOCOL = "https://"

# --- character classes, from twitter-text's regexp/ folder ------------------------------
# The punctuation set is the Ruby/Java one (all of ASCII punctuation); the JS port drops
# the double quote and backtick, which would let `foo"bar.com` be one domain.
_PUNCT = r"""!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~"""
_SPACES = r"\x09-\x0D\x20\x85\xA0\u1680\u180E\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
_CONTROLS = r"\x00-\x1F\x7F"
_INVALID = r"\uFFFE\uFEFF\uFFFF"
_DIRECTIONAL = r"\u202A-\u202E\u061C\u200E\u200F\u2066-\u2069"
_LATIN_ACCENTS = (
    r"\xC0-\xD6\xD8-\xF6\xF8-\xFF\u0100-\u024F\u0253\u0254\u0256\u0257\u0259\u025B\u0263"
    r"\u0268\u026F\u0272\u0289\u028B\u02BB\u0300-\u036F\u1E00-\u1EFF"
)
_CYRILLIC = r"\u0400-\u04FF"

_DOMAIN_CHAR = f"[^{_PUNCT}{_SPACES}{_CONTROLS}{_INVALID}{_DIRECTIONAL}]"
# A URL may not touch a letter, digit, @, $ or # on its left (no URLs inside words,
# mentions, cashtags or hashtags).
_PRECEDING = f"(?:[^A-Za-z0-9@\uFF20$#\uFF03{_INVALID}]|^)"
# Labels are written possessively: a label must be followed by ".", which no label
# character matches, so the only label that can end there is the maximal run; giving
# characters back could never succeed and only costs time on long words.
_SUBDOMAIN = rf"{_DOMAIN_CHAR}(?:[_-]*+{_DOMAIN_CHAR})*+\."
_DOMAIN_NAME = rf"{_DOMAIN_CHAR}(?:-*+{_DOMAIN_CHAR})*+\."
# twitter-text's TLD alternation lists longer names first and requires a boundary after
# an ASCII name; a named list (a hash set, tried longest first) is the same rule at a
# fraction of the cost. Punycode TLDs are accepted whatever they spell, without boundary.
_TLD = r"(?:\L<tlds>(?=[^0-9a-z@+\-]|$)|xn--[\-0-9a-z]+)"
_DOMAIN = rf"(?:{_SUBDOMAIN})*{_DOMAIN_NAME}{_TLD}"
_ASCII_DOMAIN = rf"(?:[\-a-z0-9{_LATIN_ACCENTS}]+\.)+{_TLD}"

_PATH_CHAR = rf"[a-z{_CYRILLIC}0-9!*';:=+,.$/%#\[\]\-\u2013_~@|&{_LATIN_ACCENTS}]"
# Up to two levels of balanced parentheses, as in /wiki/Primer_(film).
_PARENS = rf"\((?:{_PATH_CHAR}+|(?:{_PATH_CHAR}*\({_PATH_CHAR}+\){_PATH_CHAR}*))\)"
# A path does not end on punctuation, so "see http://x.com/a." keeps its full stop.
_PATH_END = rf"(?:[+\-a-z{_CYRILLIC}0-9=_#/{_LATIN_ACCENTS}]|{_PARENS})"
_PATH = rf"(?:(?:{_PATH_CHAR}*(?:{_PARENS}{_PATH_CHAR}*)*{_PATH_END})|(?:@{_PATH_CHAR}+/))"
_QUERY_CHAR = r"[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]"
_QUERY_END = r"[a-z0-9\-_&=#/]"

# Mastodon patches twitter-text's path and query classes (config/initializers/twitter_regex.rb):
# any non-space character may appear in a path, and more schemes than http(s) are links.
_M_PATH_CHAR = r"[^\p{White_Space}<>()?]"
_M_PARENS = rf"\((?:{_M_PATH_CHAR}+|(?:{_M_PATH_CHAR}*\({_M_PATH_CHAR}+\){_M_PATH_CHAR}*))\)"
# Mastodon builds its ending class before redefining the parentheses, so it keeps the
# original twitter-text parentheses rule.
_M_PATH_END = rf"(?:[^\p{{White_Space}}()?!*\"'「」<>;:=,.$%\[\]~&|@]|{_PARENS})"
_M_PATH = rf"(?:(?:{_M_PATH_CHAR}*(?:{_M_PARENS}{_M_PATH_CHAR}*)*{_M_PATH_END})|(?:{_M_PATH_CHAR}+/))"
_UCHARS = (
    r"\xA0-\uD7FF\uF900-\uFDCF\uFDF0-\uFFEF\U00010000-\U0001FFFD\U00020000-\U0002FFFD"
    r"\U00030000-\U0003FFFD\U00040000-\U0004FFFD\U00050000-\U0005FFFD\U00060000-\U0006FFFD"
    r"\U00070000-\U0007FFFD\U00080000-\U0008FFFD\U00090000-\U0009FFFD\U000A0000-\U000AFFFD"
    r"\U000B0000-\U000BFFFD\U000C0000-\U000CFFFD\U000D0000-\U000DFFFD\U000E1000-\U000EFFFD"
    r"\uE000-\uF8FF\U000F0000-\U000FFFFD\U00100000-\U0010FFFD"
)
_M_QUERY_CHAR = rf"[a-z0-9!?*'();:&=+$/%#\[\]\-_.,~|@\^{_UCHARS}]"
_M_QUERY_END = rf"[a-z0-9_&=#/\-{_UCHARS}]"
_M_SCHEMES = r"(?:https?|dat|dweb|ipfs|ipns|ssb|gopher|gemini)://"


def _url_pattern(scheme: str, path: str, query_char: str, query_end: str) -> str:
    return (
        rf"(?P<before>{_PRECEDING})"
        rf"(?P<url>(?P<protocol>{scheme})?(?P<domain>{_DOMAIN})"
        rf"(?::(?P<port>[0-9]+))?"
        rf"(?P<path>/{path}*)?"
        rf"(?P<query>\?{query_char}*{query_end})?)"
    )


# --- emoji sequences --------------------------------------------------------------------
# What twemoji-parser (the parser X uses for emojiParsingEnabled) treats as one emoji,
# written with Unicode properties instead of its enumerated list so that newer sequences
# such as ❤️‍🔥 count as one. A text-default pictograph (☺, ❤, ✈…) is an emoji on its own
# unless a U+FE0E asks for text style; ©, ®, ™ and ♟ need U+FE0F, as in twemoji.
_NEEDS_VS16 = "\u00A9\u00AE\u2122\u265F"
_EMOJI_ELEMENT = (
    "(?:"
    rf"[{_NEEDS_VS16}]\uFE0F"
    r"|\p{Emoji_Presentation}(?:\uFE0F|(?!\uFE0E))"
    rf"|[[\p{{Emoji}}&&\p{{Extended_Pictographic}}]--[{_NEEDS_VS16}]](?:\uFE0F|(?!\uFE0E))"
    r"|\p{Extended_Pictographic}\uFE0F"
    r")\p{Emoji_Modifier}?"
)
EMOJI_SEQUENCE = regex.compile(
    r"[#*0-9]\uFE0F?\u20E3"  # keycap
    r"|\U0001F3F4[\U000E0020-\U000E007E]+\U000E007F"  # subdivision flag (tag sequence)
    r"|\p{Regional_Indicator}{2}"  # country flag
    rf"|{_EMOJI_ELEMENT}(?:\u200D{_EMOJI_ELEMENT})*",  # modifier and ZWJ sequences
    regex.V1,
)

# --- TLDs -------------------------------------------------------------------------------


@cache
def _tlds() -> list[str]:
    """Every TLD in data/tlds.txt, in Unicode and in xn-- form; read once."""
    tlds: set[str] = set()
    for line in TLD_FILE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        tlds.add(line)
        if not line.isascii():
            tlds.add("xn--" + line.encode("punycode").decode("ascii"))
    return sorted(tlds)


@dataclass(frozen=True)
class _Patterns:
    url: regex.Pattern
    mastodon_url: regex.Pattern
    ascii_domain: regex.Pattern
    tco: regex.Pattern


@cache
def _patterns() -> _Patterns:
    """Compile the URL patterns on first use: they embed the TLD list."""
    flags = regex.IGNORECASE
    tlds = _tlds()
    return _Patterns(
        url=regex.compile(_url_pattern(r"https?://", _PATH, _QUERY_CHAR, _QUERY_END), flags, tlds=tlds),
        mastodon_url=regex.compile(_url_pattern(_M_SCHEMES, _M_PATH, _M_QUERY_CHAR, _M_QUERY_END), flags, tlds=tlds),
        ascii_domain=regex.compile(_ASCII_DOMAIN, flags, tlds=tlds),
        tco=regex.compile(rf"https?://t\.co/([a-z0-9]+)(?:\?{_QUERY_CHAR}*{_QUERY_END})?", flags),
    )


# --- URL extraction ---------------------------------------------------------------------

# punycode.toASCII (used by twitter-text's idna helper) also splits on these full stops.
_IDN_DOTS = re.compile("[\u3002\uFF0E\uFF61]")


def _ascii_label_length(label: str) -> int:
    parts = _IDN_DOTS.split(label)
    length = len(parts) - 1
    for part in parts:
        length += len(part) if part.isascii() else 4 + len(part.encode("punycode"))
    return length


def _utf16_length(text: str) -> int:
    return len(text) + sum(1 for ch in text if ch > "\uffff")


def _is_valid_domain(url: str, protocol: str | None, domain: str, ascii_domain: regex.Pattern) -> bool:
    """twitter-text's isValidUrl: DNS label lengths after punycode, and a 4096 cap."""
    if domain.startswith("xn--") and not ascii_domain.search(domain):
        return False
    for label in domain.split("."):
        if not 1 <= _ascii_label_length(label) <= MAX_DOMAIN_LABEL_LENGTH:
            return False
    prefix = len(protocol or DEFAULT_PROTOCOL)
    # JS measures in UTF-16 units; only long URLs can be near the cap.
    return 2 * len(url) + prefix <= MAX_URL_LENGTH or prefix + _utf16_length(url) <= MAX_URL_LENGTH


def _url_entities(text: str, *, require_scheme: bool, mastodon: bool = False) -> list[list[int]]:
    """[start, end, consumed] for each URL; `consumed` is how far twitter-text's counter skips.

    The two differ only in a twitter-text quirk: a scheme-less URL whose domain holds
    non-ASCII labels before the ASCII one is counted as the ASCII domain plus the path.
    """
    if "." not in text or (require_scheme and ":" not in text):
        return []
    patterns = _patterns()
    found: list[list[int]] = []
    for m in (patterns.mastodon_url if mastodon else patterns.url).finditer(text):
        url, protocol, domain = m.group("url"), m.group("protocol"), m.group("domain")
        start, end = m.span("url")
        if not _is_valid_domain(url, protocol, domain, patterns.ascii_domain):
            continue
        if protocol:
            tco = patterns.tco.match(url)
            if tco:
                # A t.co link ends at its slug: "t.co/abc's" links only t.co/abc.
                if len(tco.group(1)) > MAX_TCO_SLUG_LENGTH:
                    continue
                end = start + tco.end()
            found.append([start, end, end - start])
            continue
        if require_scheme or m.group("before") in ("-", "_", ".", "/"):
            continue
        path = m.group("path")
        last: list[int] | None = None
        # Without a scheme only ASCII domains count: in "日本語example.com" the URL is example.com.
        # (twitter-text 2.x also skipped bare "foo.jp"-style domains; 3.x extracts them.)
        for am in patterns.ascii_domain.finditer(domain):
            last = [start + am.start(), start + am.end(), am.end() - am.start()]
            found.append(last)
        if last is not None and path:
            last[2] = (end - start) - len(domain) + last[2]
            last[1] = end
    return found


def extract_urls(text: str, *, require_scheme: bool = False) -> list[tuple[int, int]]:
    """(start, end) indices into `text` of the URLs twitter-text extracts, in order."""
    return [(s, e) for s, e, _ in _url_entities(text, require_scheme=require_scheme)]


def extract_mastodon_urls(text: str) -> list[tuple[int, int]]:
    """(start, end) of the links Mastodon's patched twitter-text finds (a scheme is required)."""
    return [(s, e) for s, e, _ in _url_entities(text, require_scheme=True, mastodon=True)]


# --- weighted length --------------------------------------------------------------------

_LIGHT_RUN = re.compile("[" + "".join(f"\\u{a:04x}-\\u{b:04x}" for a, b in LIGHT_RANGES) + "]+")
_INVALID_CHAR = re.compile(f"[{INVALID_CHARACTERS}]")
# Below U+00A9 nothing can start an emoji sequence except a keycap, which needs U+20E3.
_FIRST_EMOJI_CANDIDATE = "\u00a9"


def _plain_weight(segment: str) -> int:
    heavy = len(_LIGHT_RUN.sub("", segment))
    return (len(segment) - heavy) * LIGHT_WEIGHT + heavy * DEFAULT_WEIGHT


def _scaled_weight(text: str) -> int:
    """Weighted length in hundredths, as twitter-text's parseTweet computes it."""
    if text.isascii():
        # ASCII is already NFC, holds no emoji and every character is light.
        urls = _url_entities(text, require_scheme=False)
        consumed = sum(c for _, _, c in urls)
        return (len(text) - consumed) * LIGHT_WEIGHT + len(urls) * TRANSFORMED_URL_LENGTH * SCALE
    text = unicodedata.normalize("NFC", text)
    # (start, priority, stop, weight): at one index a URL wins over an emoji, and an entity
    # that starts inside one already counted is skipped, as in parseTweet's loop.
    entities = [(s, 0, s + c, TRANSFORMED_URL_LENGTH * SCALE) for s, _, c in _url_entities(text, require_scheme=False)]
    if max(text) >= _FIRST_EMOJI_CANDIDATE:
        entities += [(m.start(), 1, m.end(), DEFAULT_WEIGHT) for m in EMOJI_SEQUENCE.finditer(text)]
        entities.sort()
    total = cursor = 0
    for start, _, stop, weight in entities:
        if start < cursor:
            continue
        total += _plain_weight(text[cursor:start]) + weight
        cursor = stop
    return total + _plain_weight(text[cursor:])


def weighted_length(text: str) -> int:
    """twitter-text v3 weightedLength of `text` (the number X compares with 280)."""
    return _scaled_weight(text) // SCALE


def is_valid(text: str) -> bool:
    """twitter-text v3 `valid`: not empty, at most 280 weighted, no U+FFFE/U+FEFF/U+FFFF."""
    if _INVALID_CHAR.search(text):
        return False
    return 0 < _scaled_weight(text) <= MAX_WEIGHTED_LENGTH * SCALE
