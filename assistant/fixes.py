"""Deterministic fixes that never invent content: tidy hashtags, enforce caps and required tags, add the disclosure label."""

from __future__ import annotations

import re

from . import counting, hashtags
from .brands import BrandProfile
from .content import Content, HashtagSet, RankedHashtag, Thread
from .platforms import PlatformRules
from .validation import check_disclosure, policy_for

_NUMBERING = re.compile(r"^\s*(\d{1,2})\s*(/\s*\d{0,2}|[.)])\s+")


def apply_fixes(content: Content, platform: PlatformRules, brand: BrandProfile | None, *, sponsored: bool = False, link: str | None = None) -> tuple[Content, list[str]]:
    """Return the fixed content and one line per change made, for the user to see."""
    notes: list[str] = []
    data = content.model_dump()
    policy = policy_for(brand, platform)
    style = policy.brand.hashtags.style if policy.brand else "any"

    if isinstance(content, Thread):
        cleaned = [_NUMBERING.sub("", p, count=1) for p in data["posts"]]
        if cleaned != data["posts"]:
            notes.append("removed the model's own numbering from thread posts (numbering is added when rendering)")
        data["posts"] = cleaned

    if data.get("title") and platform.title is None:
        data["title"] = None  # this platform has no title field: it would only repeat the opening line

    if "link" in data:
        if link and data["link"] != link:
            data["link"] = link
            notes.append("set the link to the one in the brief")
        elif not link and data["link"]:
            data["link"] = None
            notes.append("removed a link the brief did not give")

    data = _fix_emoji(data, policy, notes)
    if sponsored and content.disclosure_field():
        # Before capping hashtags: a '#ad' label is itself a hashtag and takes a place under the cap.
        _add_disclosure(data, content.disclosure_field(), platform, policy, notes)
    if isinstance(content, HashtagSet):
        data["hashtags"] = _fix_ranked(data["hashtags"], policy, style, notes)
    elif content.hashtag_field():
        data["hashtags"] = _fix_list(data, content, policy, style, notes)
    return type(content).model_validate(data), notes


def _move_trailing_tags(text: str) -> tuple[str, list[str]]:
    """Hashtags a model left at the end of the body belong in the hashtag list, where caps apply."""
    start = hashtags.trailing_block_start(text)
    if start >= len(text.rstrip()):
        return text, []
    tags = [t.text for t in hashtags.find(text[start:]) if not t.problem]
    return text[:start].rstrip(), tags


def _read(data: dict, where: tuple[str, int | None, str]) -> str | None:
    """The text at a content's (field, index, sub-field) location, or None when that item does not exist."""
    name, index, sub = where
    if index is None:
        return data[name]
    if index >= len(data[name]):
        return None
    item = data[name][index]
    return item[sub] if sub else item


def _write(data: dict, where: tuple[str, int | None, str], text: str) -> None:
    name, index, sub = where
    if index is None:
        data[name] = text
    elif sub:
        data[name][index][sub] = text
    else:
        data[name][index] = text


def _fix_list(data: dict, content: Content, policy, style: str, notes: list[str]) -> list[str]:
    where = content.disclosure_field()
    raw = list(data["hashtags"])
    if where and where[1] is None:  # a plain text field (post text, caption): its closing tags join the list
        body, moved = _move_trailing_tags(data[where[0]])
        if moved:
            data[where[0]] = body
            raw = moved + raw
            notes.append(f"moved {len(moved)} hashtag(s) from the end of the text to the hashtag list")
    tags = [t for t in (hashtags.normalize(x, style) for x in raw) if t]
    if raw != tags:
        notes.append("normalised hashtags")
    text = _read(data, where) if where else None
    inline = {t.key for t in hashtags.find(text) if not t.problem} if text else set()
    return _cap(tags, inline, policy, notes)


def _cap(tags: list[str], inline: set[str], policy, notes: list[str]) -> list[str]:
    before = len(tags)
    tags = hashtags.dedupe(tags)
    if len(tags) < before:
        notes.append(f"removed {before - len(tags)} duplicate hashtag(s)")
    banned = [t for t in tags if hashtags.key(t) in policy.banned_tags]
    if banned:
        notes.append(f"removed banned hashtag(s): {' '.join(banned)}")
        tags = [t for t in tags if t not in banned]
    in_text = [t for t in tags if hashtags.key(t) in inline]
    tags = [t for t in tags if t not in in_text]  # already in the text: do not repeat
    missing = [t for t in policy.required_tags if hashtags.key(t) not in {hashtags.key(x) for x in tags} | inline]
    if missing:
        notes.append(f"added required brand hashtag(s): {' '.join(missing)}")
        tags = missing + tags
    if policy.hashtag_cap is not None:
        room = max(0, policy.hashtag_cap - len(inline))
        if len(tags) > room:
            notes.append(f"dropped {len(tags) - room} hashtag(s) beyond the cap of {policy.hashtag_cap}")
            tags = tags[:room]
    return tags


def _fix_ranked(items: list[dict], policy, style: str, notes: list[str]) -> list[dict]:
    by_key: dict[str, dict] = {}
    for item in items:
        tag = hashtags.normalize(item["tag"], style)
        if tag and hashtags.key(tag) not in by_key:
            by_key[hashtags.key(tag)] = {**item, "tag": tag}
    if len(by_key) < len(items):
        notes.append("normalised and de-duplicated hashtags")
    kept = _cap([i["tag"] for i in by_key.values()], set(), policy, notes)
    out = []
    for tag in kept:
        item = by_key.get(hashtags.key(tag))
        out.append(item or RankedHashtag(tag=tag, kind="brand", why="required by the brand profile").model_dump())
    return out


def _add_disclosure(data: dict, where: tuple[str, int | None, str], platform: PlatformRules, policy, notes: list[str]) -> None:
    text = _read(data, where)
    if text is None:
        return  # nothing to label; the review reports the empty piece
    if any(v.rule == "disclosure" for v in check_disclosure(text, platform, policy, None)):
        label = policy.disclosure_labels[0]
        placement = policy.brand.disclosure.placement if policy.brand else "start"
        joiner = " " if label.startswith("#") else " · "
        _write(data, where, f"{label}{joiner}{text}" if placement == "start" else f"{text.rstrip()}\n\n{label}")
        notes.append(f"added the disclosure label '{label}'")


# Fields that hold no prose for the reader: left alone by the emoji fix.
_NOT_PROSE = {"hashtags", "tag", "link", "role", "kind", "why", "visual", "description", "alt_text", "shot"}


def _fix_emoji(data: dict, policy, notes: list[str]) -> dict:
    """Remove emoji the brand bans, all emoji when it uses none, and any beyond its cap (the first ones stay)."""
    rules = policy.emoji
    if rules is None:
        return data
    removed: list[str] = []

    def clean(text: str) -> str:
        found = counting.emojis(text)
        if not found:
            return text
        keep_budget = 0 if not rules.allowed else (rules.max if rules.max is not None else len(found))
        out, kept = [], 0
        for cluster in counting.graphemes(text):
            if counting.is_emoji(cluster):
                if rules.bans(cluster) or kept >= keep_budget:
                    removed.append(cluster)
                    continue
                kept += 1
            out.append(cluster)
        return re.sub(r"[ \t]{2,}", " ", "".join(out)).replace(" \n", "\n").strip(" ")

    def walk(node, key=None):
        if isinstance(node, dict):
            return {k: (v if k in _NOT_PROSE else walk(v, k)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, key) for v in node]
        return clean(node) if isinstance(node, str) else node

    data = walk(data)
    if removed:
        notes.append(f"removed emoji the brand's policy does not allow: {' '.join(dict.fromkeys(removed))}")
    return data
