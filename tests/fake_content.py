"""Canned model answers for the loopback server: valid content of any kind, in the language the prompt asks for."""

from __future__ import annotations

import json

TEXT = {
    "en": ("Our new pods arrive on March 1.", "Order from our site and tell us how your first cup tastes."),
    "fr": ("Nos nouvelles infusions arrivent le 1er mars.", "Commandez sur notre site et dites-nous ce que vous en pensez."),
}


def language_of(body: dict) -> str:
    prompt = " ".join(m.get("content") or "" for m in body.get("messages", []))
    return "fr" if "Write it in French" in prompt else "en"


def schema_name(body: dict) -> str:
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return fmt["json_schema"]["name"]
    system = " ".join(m["content"] for m in body["messages"] if m["role"] == "system")
    for name, marker in [("carousel", '"slides"'), ("story", '"frames"'), ("videoscript", '"beats"'), ("thread", '"posts"'), ("hashtagset", '"why"')]:
        if marker in system:
            return name
    return "post"


def content(kind: str, lang: str = "en", *, text: str | None = None, hashtags: list[str] | None = None) -> dict:
    first, second = TEXT[lang]
    body = text or f"{first} {second}"
    tags = hashtags if hashtags is not None else ["#SmallBatch"]
    if kind == "post":
        return {"title": first[:60], "text": body, "hashtags": tags, "link": None,
                "visual": {"description": "A pod on a kitchen counter", "alt_text": "A single pod beside a mug"}}
    if kind == "carousel":
        slides = [{"role": "hook", "title": first[:40], "body": "", "visual": "Close-up", "alt_text": "A pod"}]
        slides += [{"role": "body", "title": f"Point {i}", "body": second, "visual": "Hands", "alt_text": "Hands holding a pod"} for i in (1, 2, 3)]
        slides += [{"role": "cta", "title": "March 1", "body": second, "visual": "Shop", "alt_text": "A shop shelf"}]
        return {"caption": body, "hashtags": tags, "slides": slides}
    if kind == "story":
        return {"frames": [
            {"seconds": 5, "on_screen_text": first, "voice_over": None, "visual": "Pod close-up", "sticker": None},
            {"seconds": 5, "on_screen_text": "March 1", "voice_over": second, "visual": "Mug", "sticker": None},
            {"seconds": 5, "on_screen_text": "Link below", "voice_over": None, "visual": "Shelf", "sticker": "link: shop"},
        ]}
    if kind == "video_script":
        beat = {"seconds": 5, "line": second, "on_screen_text": "March 1", "shot": "Kitchen, morning light"}
        return {"title": first[:60], "hook": {"seconds": 3, "line": first, "on_screen_text": first[:40], "shot": "Pod drops into a machine"},
                "beats": [beat, beat, beat], "caption": body, "hashtags": tags}
    if kind == "thread":
        return {"posts": [first, second, "See you on March 1."], "hashtags": tags[:1]}
    if kind == "hashtags":
        return {"hashtags": [{"tag": t, "kind": "niche", "why": "people follow it"} for t in (tags or ["#SmallBatch"])]}
    raise ValueError(kind)


KIND_BY_SCHEMA = {"post": "post", "carousel": "carousel", "story": "story", "videoscript": "video_script", "thread": "thread", "hashtagset": "hashtags"}


def responder(body: dict) -> str:
    """Answer any chat request with valid content of the kind its schema asks for."""
    return json.dumps(content(KIND_BY_SCHEMA[schema_name(body)], language_of(body)), ensure_ascii=False)
