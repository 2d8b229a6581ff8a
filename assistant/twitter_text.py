"""X's own text rules, re-implemented from twitter-text: URL extraction, emoji sequences, v3 weighted length."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
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
_PUNCT_OUTSIDE_LABELS = r"""!"#$%&'()*+,./:;<=>?@\[\\\]^`{|}~"""
_PUNCT = _PUNCT_OUTSIDE_LABELS + r"_\-"  # "_" and "-" may sit inside a label, not at its ends
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
# twitter-text's label rules, written so that each label splits only one way (no
# exponential backtracking on long words that end without a dot).
_SUBDOMAIN = rf"{_DOMAIN_CHAR}(?:[_-]*{_DOMAIN_CHAR})*\."
_DOMAIN_NAME = rf"{_DOMAIN_CHAR}(?:-*{_DOMAIN_CHAR})*\."
# "{tlds}" is filled in with the TLD list as a trie (see _trie_pattern); an ASCII TLD must
# end at a boundary. Punycode TLDs are accepted whatever they spell, without boundary.
_TLD = r"(?:{tlds}(?=[^0-9a-z@+\-]|$)|xn--[\-0-9a-z]+)"
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
_WHITE_SPACE = r"\x09-\x0D\x20\x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"  # \p{White_Space}
_M_PATH_CHAR = rf"[^{_WHITE_SPACE}<>()?]"
_M_PARENS = rf"\((?:{_M_PATH_CHAR}+|(?:{_M_PATH_CHAR}*\({_M_PATH_CHAR}+\){_M_PATH_CHAR}*))\)"
# Mastodon builds its ending class before redefining the parentheses, so it keeps the
# original twitter-text parentheses rule.
_M_PATH_END = rf"(?:[^{_WHITE_SPACE}()?!*\"'「」<>;:=,.$%\[\]~&|@]|{_PARENS})"
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
_MASTODON_SCHEME_NAMES = ("https", "http", "dat", "dweb", "ipfs", "ipns", "ssb", "gopher", "gemini")
_M_SCHEMES = "(?:" + "|".join(_MASTODON_SCHEME_NAMES) + ")://"


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
def _tlds() -> tuple[str, ...]:
    """Every TLD in data/tlds.txt, in Unicode and in xn-- form; read once."""
    tlds: set[str] = set()
    for line in TLD_FILE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        tlds.add(line)
        if not line.isascii():
            tlds.add("xn--" + line.encode("punycode").decode("ascii"))
    return tuple(sorted(tlds))


@cache
def _trie_pattern(words: tuple[str, ...]) -> str:
    """An alternation of `words` shaped as a trie, longer words tried first.

    That is the order twitter-text's reverse-sorted TLD alternation gives, and with a trie
    the regex engine tests a few characters instead of 1,500 alternatives.
    """
    trie: dict = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict) -> str:
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:  # a word ends here: try the longer ones first, then stop
            body = f"(?:{body})?" if len(branches) == 1 else body + "?"
        return body

    return "(?:" + emit(trie) + ")"


@cache
def _compile_with_tlds(pattern: str) -> re.Pattern[str]:
    """Compile a URL pattern on first use: the TLD trie makes each one take tens of ms."""
    return re.compile(pattern.replace("{tlds}", _trie_pattern(_tlds())), re.IGNORECASE)


_TWITTER_URL = _url_pattern(r"https?://", _PATH, _QUERY_CHAR, _QUERY_END)
_MASTODON_URL = _url_pattern(_M_SCHEMES, _M_PATH, _M_QUERY_CHAR, _M_QUERY_END)
_TCO_URL = re.compile(rf"https?://t\.co/([a-z0-9]+)(?:\?{_QUERY_CHAR}*{_QUERY_END})?", re.IGNORECASE)


# --- URL extraction ---------------------------------------------------------------------

# punycode.toASCII (used by twitter-text's idna helper) also splits on these full stops.
_IDN_DOTS = re.compile("[\u3002\uFF0E\uFF61]")

# Where a URL can begin. A match's domain starts inside the run of label characters that
# ends at its first dot, so only such runs are looked at; see _url_matches.
_LABEL_CHAR = f"[^{_PUNCT_OUTSIDE_LABELS}{_SPACES}{_CONTROLS}{_INVALID}{_DIRECTIONAL}]"  # domain char, "_", "-"
_LABEL_RUN = re.compile(rf"(?<!{_LABEL_CHAR}){_LABEL_CHAR}+(?=\.{_DOMAIN_CHAR})")
# A domain character that may start a domain: one a URL is allowed to follow.
_DOMAIN_START = re.compile(f"(?<![A-Za-z0-9@\uFF20$#\uFF03{_INVALID}]){_DOMAIN_CHAR}", re.IGNORECASE)
_SCHEME_LENGTHS = (len("http://"), len("https://"))
_MASTODON_SCHEME_LENGTHS = tuple(sorted({len(name) + len("://") for name in _MASTODON_SCHEME_NAMES}))


def _ascii_label_length(label: str) -> int:
    """Length of `label` after punycode.toASCII, or just some number over 63 when it is longer."""
    parts = _IDN_DOTS.split(label)
    # An encoded part is never shorter than "xn--" plus one character per code point, and
    # Python's punycode codec is slow: skip it when the label is too long anyway.
    floor = len(label) + sum(4 for part in parts if not part.isascii())
    if floor > MAX_DOMAIN_LABEL_LENGTH:
        return floor
    length = len(parts) - 1
    for part in parts:
        length += len(part) if part.isascii() else 4 + len(part.encode("punycode"))
    return length


def _utf16_length(text: str) -> int:
    return len(text) + sum(1 for ch in text if ch > "\uffff")


def _is_valid_domain(url: str, protocol: str | None, domain: str) -> bool:
    """twitter-text's isValidUrl: DNS label lengths after punycode, and a 4096 cap."""
    if domain.startswith("xn--") and not _compile_with_tlds(_ASCII_DOMAIN).search(domain):
        return False
    for label in domain.split("."):
        if not 1 <= _ascii_label_length(label) <= MAX_DOMAIN_LABEL_LENGTH:
            return False
    prefix = len(protocol or DEFAULT_PROTOCOL)
    # JS measures in UTF-16 units; only long URLs can be near the cap.
    return 2 * len(url) + prefix <= MAX_URL_LENGTH or prefix + _utf16_length(url) <= MAX_URL_LENGTH


def _url_matches(text: str, mastodon: bool) -> Iterator[re.Match[str]]:
    """The URL pattern's matches, exactly as twitter-text's scan of the whole text finds them.

    That scan tries the pattern at every position, which is quadratic on a long unspaced
    run (Japanese, Chinese, Thai) or a long chain like "a.b.c.d…". Instead, per run of label
    characters ending at a dot (a domain's first label lies in one), only the starts that
    can give a different outcome are tried, in text order:
      - a scheme right before the run;
      - the first start allowed (a domain character after one a URL may follow): any later
        start in the run reaches the same labels, so it cannot succeed where this failed;
      - the first start after the run's last "_", since the label before the TLD may not
        hold "_".
    And when a domain starting at a label that is valid as a subdomain fails, no domain can
    start right after that label's dot either: the next run's first start is skipped.
    """
    pattern = _compile_with_tlds(_MASTODON_URL if mastodon else _TWITTER_URL)
    one_label = _compile_with_tlds(_DOMAIN_NAME + _TLD)
    scheme_lengths = _MASTODON_SCHEME_LENGTHS if mastodon else _SCHEME_LENGTHS
    cursor = 0  # where the previous match ended: the next one starts there or later
    dead_end = -2  # a dot right after which no domain can start
    for run in _LABEL_RUN.finditer(text):
        run_start, dot = run.span()
        if dot <= cursor:
            continue
        if run_start >= 3 and text.startswith("://", run_start - 3):
            starts = sorted({max(run_start - n - 1, 0) for n in scheme_lengths if run_start - n - 1 >= -1})
            if m := next(filter(None, (pattern.match(text, p) for p in starts if p >= cursor)), None):
                yield m
                cursor = m.end()
                continue
        first = _DOMAIN_START.search(text, run_start if cursor == 0 else max(run_start, cursor + 1), dot)
        if not first:
            continue
        if not (first.start() == run_start == dead_end + 1) and (m := pattern.match(text, max(first.start() - 1, 0))):
            yield m
            cursor = m.end()
            continue
        # No domain starts at `first`; if its label may be a subdomain, none starts after `dot`.
        after_dot_dead = text[dot - 1] not in "_-"
        if after_dot_dead:
            dead_end = dot
        underscore = text.rfind("_", first.start(), dot)
        after = _DOMAIN_START.search(text, underscore + 1, dot) if underscore >= 0 else None
        if after and (not after_dot_dead or one_label.match(text, after.start())):
            if m := pattern.match(text, after.start() - 1):
                yield m
                cursor = m.end()


def _url_entities(text: str, *, require_scheme: bool, mastodon: bool = False) -> list[list[int]]:
    """[start, end, consumed] for each URL; `consumed` is how far twitter-text's counter skips.

    The two differ only in a twitter-text quirk: a scheme-less URL whose domain holds
    non-ASCII labels before the ASCII one is counted as the ASCII domain plus the path.
    """
    if "." not in text or (require_scheme and ":" not in text):
        return []
    found: list[list[int]] = []
    for m in _url_matches(text, mastodon):
        url, protocol, domain = m.group("url"), m.group("protocol"), m.group("domain")
        start, end = m.span("url")
        if not _is_valid_domain(url, protocol, domain):
            continue
        if protocol:
            tco = _TCO_URL.match(url)
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
        for am in _compile_with_tlds(_ASCII_DOMAIN).finditer(domain):
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


def _plain_weight(segment: str) -> int:
    heavy = len(_LIGHT_RUN.sub("", segment))
    return (len(segment) - heavy) * LIGHT_WEIGHT + heavy * DEFAULT_WEIGHT


def _scaled_weight(text: str) -> int:
    """Weighted length in hundredths, as twitter-text's parseTweet computes it."""
    if text.isascii():
        # ASCII is already NFC, every character is light, and it holds no emoji (even a
        # keycap needs U+20E3).
        urls = _url_entities(text, require_scheme=False)
        consumed = sum(c for _, _, c in urls)
        return (len(text) - consumed) * LIGHT_WEIGHT + len(urls) * TRANSFORMED_URL_LENGTH * SCALE
    text = unicodedata.normalize("NFC", text)
    # (start, priority, stop, weight): at one index a URL wins over an emoji, and an entity
    # that starts inside one already counted is skipped, as in parseTweet's loop.
    entities = [(s, 0, s + c, TRANSFORMED_URL_LENGTH * SCALE) for s, _, c in _url_entities(text, require_scheme=False)]
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
