"""Finding, judging and tidying hashtags the way the platforms parse them."""

from __future__ import annotations

from dataclasses import dataclass

import regex

# After twitter-text's hashtag rule: '#' or '＃' not preceded by a letter, digit, '_', '&' or another '#',
# followed by letters, marks, digits and '_' (an emoji keycap '#️⃣' is not a hashtag).
_TAG = regex.compile(r"(?<![\p{L}\p{M}\p{Nd}_&/#＃])([#＃]+)(?![\uFE0F\u20E3])([\p{L}\p{M}\p{Nd}_]+)((?:-[\p{L}\p{M}\p{Nd}_]+)*)")
_DIGITS = regex.compile(r"^[\p{Nd}_]+$")
_WORD = regex.compile(r"[\p{L}\p{M}\p{Nd}_]+")


@dataclass(frozen=True)
class Hashtag:
    text: str  # as it will be linked, with its '#', e.g. '#coffee'
    start: int
    end: int
    written: str  # as written, e.g. '#coffee-pods' or '##coffee'
    problem: str | None = None  # why the platform will not link it as written

    @property
    def key(self) -> str:
        """For duplicate and banned-list comparison: case-insensitive, '＃' as '#'."""
        return key(self.text)


def find(text: str) -> list[Hashtag]:
    tags = []
    for m in _TAG.finditer(text):
        hashes, word, tail = m.group(1), m.group(2), m.group(3)
        tag = "#" + word
        problem = None
        if len(hashes) > 1:
            problem = f"'{m.group(0)}' starts with {len(hashes)} '#' signs"
        elif tail:
            problem = f"'{m.group(0)}' stops at '{tail[0]}': only '{tag}' becomes a link"
        elif _DIGITS.match(word):
            problem = f"'{tag}' has only digits, which platforms do not link"
        written_end = m.end() if problem else m.start(3)
        tags.append(Hashtag(text=tag, start=m.start(1), end=m.start(3), written=text[m.start(1):written_end], problem=problem))
    return tags


def key(tag: str) -> str:
    """The comparison form of a tag written with or without its '#' (or a full-width '＃')."""
    return ("#" + tag.lstrip("#＃")).casefold()


def normalize(tag: str, style: str = "any") -> str | None:
    """A clean '#Tag' from what a model or user wrote ('coffee pods', '#coffee-pods', '##Coffee'), or None if nothing is left."""
    words = _WORD.findall(tag)
    if not words:
        return None
    if len(words) == 1:
        word = words[0]
    elif style == "lowercase":
        word = "".join(words)
    else:  # CamelCase joins the pieces so screen readers can read them
        word = "".join(w[:1].upper() + w[1:] for w in words)
    if style == "lowercase":
        word = word.lower()
    if _DIGITS.match(word):
        return None
    return "#" + word


def dedupe(tags: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for tag in tags:
        if key(tag) not in seen:
            seen.add(key(tag))
            out.append(tag)
    return out


def trailing_block_start(text: str) -> int:
    """Index where the text's closing run of hashtags (and whitespace) begins; len(text) when there is none."""
    tags = find(text)
    pos = len(text.rstrip())
    for tag in reversed(tags):
        if text[tag.end:pos].strip(" \t\n.·|,"):
            break
        pos = tag.start
    return pos
