"""Text length exactly as each social platform counts it: X's weights, graphemes, bytes, UTF-16 units."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import regex

from .twitter_text import (
    EMOJI_SEQUENCE,
    INVALID_CHARACTERS,
    TRANSFORMED_URL_LENGTH,
    extract_mastodon_urls,
    weighted_length,
)

__all__ = ["METHODS", "count", "graphemes", "is_emoji", "emojis", "invalid_characters"]

METHODS: dict[str, str] = {
    "twitter_v3": "X weighted characters (twitter-text v3: links 23, emoji 2, CJK and most symbols 2)",
    "graphemes": "user-perceived characters (extended grapheme clusters)",
    "utf8_bytes": "UTF-8 bytes",
    "utf16": "UTF-16 code units (an emoji such as 😷 is 2)",
    "codepoints": "Unicode code points",
    "mastodon": "Mastodon characters (graphemes; a link with a scheme is 23, @user@domain counts as @user)",
    "threads": "Threads characters (code points; each emoji counts its UTF-8 bytes, at least 4)",
}

_GRAPHEME = regex.compile(r"\X")

# Mastodon's Account::MENTION_RE (app/models/account.rb) and twitter-text's end_mention_match,
# which Mastodon's extractor applies after each match.
_WORD = r"[\p{L}\p{M}\p{Nd}\p{Pc}]"
_MASTODON_MENTION = regex.compile(
    r"(?<![=/\p{L}\p{M}\p{Nd}\p{Pc}])"
    rf"@((?i:[a-z0-9_]+(?:[a-z0-9_.\-]+[a-z0-9_]+)?)(?:@{_WORD}+(?:[.\-]+{_WORD}+)*)?)"
)
_MASTODON_MENTION_END = regex.compile(
    r"[@\uFF20\xC0-\xD6\xD8-\xF6\xF8-\xFF\u0100-\u024F\u0253\u0254\u0256\u0257\u0259\u025B\u0263"
    r"\u0268\u026F\u0272\u0289\u028B\u02BB\u0300-\u036F\u1E00-\u1EFF]|://"
)
_MASTODON_URL_PLACEHOLDER = "x" * TRANSFORMED_URL_LENGTH

# Threads counts an emoji by its UTF-8 bytes; the documented advice is to count at least 4.
_THREADS_MIN_EMOJI = 4
# Every Emoji_Presentation and Extended_Pictographic code point lies in these blocks.
_PICTOGRAPHIC_BLOCKS = ((0x00A9, 0x3300), (0x1F000, 0x20000))


def graphemes(text: str) -> list[str]:
    """The extended grapheme clusters of `text` (what a reader sees as characters)."""
    return _GRAPHEME.findall(text)


def is_emoji(cluster: str) -> bool:
    """Whether one grapheme cluster is an emoji sequence as X's emoji parser sees it."""
    return EMOJI_SEQUENCE.fullmatch(cluster) is not None


def emojis(text: str) -> list[str]:
    """The emoji clusters of `text`, in order, repeats included."""
    if not _may_hold_emoji(text):
        return []
    singles = _single_code_point_emoji()
    return [c for c in _GRAPHEME.findall(text) if (c in singles if len(c) == 1 else EMOJI_SEQUENCE.fullmatch(c))]


def _may_hold_emoji(text: str) -> bool:
    # ASCII holds no emoji: even a keycap needs U+20E3 after its digit.
    return not text.isascii() and EMOJI_SEQUENCE.search(text) is not None


@cache
def _single_code_point_emoji() -> frozenset[str]:
    """The code points that are an emoji on their own: a set test is far cheaper than a match."""
    blocks = "".join(chr(c) for lo, hi in _PICTOGRAPHIC_BLOCKS for c in range(lo, hi))
    candidates = regex.findall(r"[\p{Emoji_Presentation}\p{Extended_Pictographic}]", blocks)
    return frozenset(c for c in candidates if EMOJI_SEQUENCE.fullmatch(c))


def invalid_characters(text: str, method: str) -> list[str]:
    """Each character in `text` that makes a post invalid under `method`, in order."""
    _check_method(method)
    if method == "twitter_v3":
        return [ch for ch in text if ch in INVALID_CHARACTERS]
    return []


def count(text: str, method: str) -> int:
    """Length of `text` as counted by `method` (a key of METHODS)."""
    _check_method(method)
    return _COUNTERS[method](text)


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"unknown counting method '{method}'; use one of: {', '.join(METHODS)}")


def _grapheme_count(text: str) -> int:
    if text.isascii() and "\r" not in text:
        return len(text)
    return len(_GRAPHEME.findall(text))


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _mastodon_length(text: str) -> int:
    """Mastodon's StatusLengthValidator: rewrite links and remote mentions, then count graphemes."""
    entities: list[tuple[int, int, str]] = [(s, e, _MASTODON_URL_PLACEHOLDER) for s, e in extract_mastodon_urls(text)]
    if "@" in text:
        for m in _MASTODON_MENTION.finditer(text):
            if not _MASTODON_MENTION_END.match(text, m.end()):
                entities.append((m.start(), m.end(), "@" + m.group(1).split("@", 1)[0]))
    if not entities:
        return _grapheme_count(text)
    entities.sort(key=lambda entity: entity[0])
    pieces: list[str] = []
    cursor = 0
    for start, end, replacement in entities:
        if start < cursor:  # overlapping entity: the earlier one wins
            continue
        pieces += (text[cursor:start], replacement)
        cursor = end
    pieces.append(text[cursor:])
    return _grapheme_count("".join(pieces))


def _threads_length(text: str) -> int:
    total = len(text)
    for cluster in emojis(text):
        total += max(_THREADS_MIN_EMOJI, len(cluster.encode("utf-8"))) - len(cluster)
    return total


_COUNTERS: dict[str, Callable[[str], int]] = {
    "twitter_v3": weighted_length,
    "graphemes": _grapheme_count,
    # surrogatepass: a lone surrogate (from broken JSON, say) still has a size, not a crash.
    "utf8_bytes": lambda text: len(text.encode("utf-8", "surrogatepass")),
    "utf16": _utf16_units,
    "codepoints": len,
    "mastodon": _mastodon_length,
    "threads": _threads_length,
}
