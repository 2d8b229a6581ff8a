"""Typed content: one Pydantic model per kind, rendered to final text and checked piece by piece."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from . import counting
from .brands import BrandProfile
from .platforms import PlatformRules
from .validation import (
    THREAD_SEPARATOR, Violation, check, check_disclosure, check_emoji, check_hashtags, check_length, check_text, check_words, policy_for,
)

HashtagKind = Literal["brand", "broad", "niche", "campaign"]


class Piece(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Visual(Piece):
    description: str = Field(description="What the image or video shows, concrete enough for a designer or photographer")
    alt_text: str = Field(description="Alt text for screen readers: what is in the image, in one or two sentences")


class Content(Piece):
    """Base of every kind. `kind` names it; `render` gives the text to publish."""

    kind: ClassVar[str]

    def render(self, platform: PlatformRules) -> str:
        raise NotImplementedError

    def review(self, platform: PlatformRules, brand: BrandProfile | None, sponsored: bool) -> list[Violation]:
        """Every violation of the platform's rules and the brand's policy, in every part of the piece."""
        raise NotImplementedError

    def markdown(self, platform: PlatformRules) -> str:
        return self.render(platform)

    # The parts the deterministic fixes may touch.
    def hashtag_field(self) -> str | None:
        return "hashtags" if "hashtags" in type(self).model_fields else None

    def disclosure_field(self) -> tuple[str, int | None, str] | None:
        """(field, index, sub-field) of the text that must carry the sponsored-content label."""
        return None


def with_hashtags(text: str, tags: list[str], platform: PlatformRules) -> str:
    """Place hashtags as the platform expects: after a blank line at the end, skipping any already in the text."""
    present = {t.casefold() for t in _inline_tags(text)}
    extra = [t for t in tags if t.casefold() not in present]
    if not extra:
        return text.rstrip()
    if platform.hashtags.placement == "inline":
        return f"{text.rstrip()} {' '.join(extra)}"
    return f"{text.rstrip()}\n\n{' '.join(extra)}"


def _inline_tags(text: str) -> list[str]:
    from .hashtags import find

    return [t.text for t in find(text)]


def _words(texts: list[tuple[str, str]], brand, platform) -> list[Violation]:
    policy = policy_for(brand, platform)
    out: list[Violation] = []
    for where, text in texts:
        if text:
            out += check_words(text, policy, where)
            out += check_emoji(text, policy, where)
    return out


def _graphemes_limit(text: str, limit: int, what: str, where: str, platform: PlatformRules) -> list[Violation]:
    n = counting.count(text, "graphemes")
    if n > limit:
        return [Violation("length", "error", f"The {what} has {n} characters; {platform.name} {what}s here are capped at {limit} so they stay legible. Cut {n - limit}.", where)]
    return []


def _title(title: str | None, platform: PlatformRules, brand) -> list[Violation]:
    if platform.title is None:
        return []
    if not title or not title.strip():
        return [Violation("title", "error", f"{platform.name} needs a title; write one.", "title")]
    _, out = check_length(title, platform.title, platform, "title", "title")
    return out + _words([("title", title)], brand, platform)


class Captioned(Content):
    """Kinds published with a caption (carousel, video): the caption carries hashtags and the disclosure."""

    def render(self, platform):
        return with_hashtags(self.caption, self.hashtags, platform)

    def disclosure_field(self):
        return ("caption", None, "")



class Post(Content):
    kind: ClassVar[str] = "post"
    title: str | None = Field(None, description="Title, only for platforms with a title field (YouTube Shorts, Pinterest); otherwise null")
    text: str = Field(description="The post text, hashtags excluded (they go in 'hashtags')")
    hashtags: list[str] = Field(default_factory=list, description="Hashtags in order of relevance, each starting with '#'")
    link: str | None = Field(None, description="The link to share, only if the brief gives one; otherwise null")
    visual: Visual

    def render(self, platform: PlatformRules) -> str:
        text = self.text.rstrip()
        if self.link and platform.links.clickable and self.link not in text:
            text = f"{text}\n\n{self.link}"
        return with_hashtags(text, self.hashtags, platform)

    def review(self, platform, brand, sponsored):
        return check_text(self.render(platform), platform, brand, sponsored=sponsored).violations + _title(self.title, platform, brand)

    def disclosure_field(self):
        return ("text", None, "")


    def markdown(self, platform):
        parts = [f"**{self.title}**\n"] if self.title else []
        parts.append(self.render(platform))
        if self.link and not platform.links.clickable:
            parts.append(f"\nLink (not clickable in the text; use the link field or bio): {self.link}")
        parts.append(f"\n_Visual:_ {self.visual.description}  \n_Alt text:_ {self.visual.alt_text}")
        return "\n".join(parts)


class Slide(Piece):
    role: Literal["hook", "body", "cta"] = Field(description="hook for the first slide, cta for the last, body in between")
    title: str = Field(description="Large text on the slide; the hook slide's title is 8 words or fewer")
    body: str = Field(description="Smaller text on the slide, about 20 words or fewer; may be empty on the hook slide")
    visual: str = Field(description="What the slide shows behind or beside the text")
    alt_text: str = Field(description="Alt text for the slide image")


class Carousel(Captioned):
    kind: ClassVar[str] = "carousel"
    caption: str = Field(description="The caption published with the carousel, hashtags excluded")
    hashtags: list[str] = Field(default_factory=list, description="Hashtags for the caption, each starting with '#'")
    slides: list[Slide] = Field(description="The slides in order: one hook slide, body slides, one call-to-action slide")

    def review(self, platform, brand, sponsored):
        rules = platform.kinds.carousel
        out = check_text(self.render(platform), platform, brand, sponsored=sponsored, where="caption").violations
        if rules is None:
            return out
        n = len(self.slides)
        if n < rules.min_slides or n > rules.max_slides:
            out.append(Violation("slide_count", "error", f"{platform.name} carousels take {rules.min_slides} to {rules.max_slides} slides; this has {n}."))
        for i, slide in enumerate(self.slides, 1):
            where = f"slide {i}"
            out += _graphemes_limit(slide.title, rules.slide_title_max, "slide title", where, platform)
            out += _graphemes_limit(slide.body, rules.slide_body_max, "slide body", where, platform)
            out += _words([(where, f"{slide.title}\n{slide.body}")], brand, platform)
            if not slide.alt_text.strip():
                out.append(Violation("alt_text", "warning", "Add alt text so the slide is accessible.", where))
        if self.slides and self.slides[0].role != "hook":
            out.append(Violation("slide_order", "warning", "The first slide should be the hook.", "slide 1"))
        if len(self.slides) > 1 and self.slides[-1].role != "cta":
            out.append(Violation("slide_order", "warning", "The last slide should carry the call to action.", f"slide {len(self.slides)}"))
        return out

    def markdown(self, platform):
        lines = [self.render(platform), ""]
        for i, s in enumerate(self.slides, 1):
            lines += [f"**Slide {i} ({s.role})**: {s.title}", *( [s.body] if s.body else []), f"_Visual:_ {s.visual}  \n_Alt text:_ {s.alt_text}", ""]
        return "\n".join(lines).rstrip()


class Frame(Piece):
    seconds: int = Field(description="How long the frame stays on screen, in seconds")
    on_screen_text: str = Field(description="Short text shown on the frame, readable in the time it stays")
    voice_over: str | None = Field(None, description="What is said over the frame, or null for none")
    visual: str = Field(description="What the frame shows")
    sticker: str | None = Field(None, description="An interactive sticker or call to action (poll, question, link, countdown), or null")


class Story(Content):
    kind: ClassVar[str] = "story"
    frames: list[Frame] = Field(description="The story frames in order")

    def render(self, platform):
        blocks = []
        for i, f in enumerate(self.frames, 1):
            lines = [f"Frame {i} · {f.seconds} s", f"On screen: {f.on_screen_text}"]
            if f.voice_over:
                lines.append(f"Voice-over: {f.voice_over}")
            lines.append(f"Visual: {f.visual}")
            if f.sticker:
                lines.append(f"Sticker: {f.sticker}")
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks)

    def review(self, platform, brand, sponsored):
        rules = platform.kinds.story
        out: list[Violation] = []
        if not self.frames:
            return [Violation("frame_count", "error", "The story has no frames.")]
        if rules:
            if len(self.frames) > rules.max_frames:
                out.append(Violation("frame_count", "error", f"Stories here are capped at {rules.max_frames} frames; this has {len(self.frames)}."))
            for i, f in enumerate(self.frames, 1):
                where = f"frame {i}"
                if not 1 <= f.seconds <= rules.max_frame_seconds:
                    out.append(Violation("frame_seconds", "error", f"A {platform.name} story frame lasts 1 to {rules.max_frame_seconds} s; this one says {f.seconds} s.", where))
                out += _graphemes_limit(f.on_screen_text, rules.frame_text_max, "on-screen text", where, platform)
        out += _words([(f"frame {i}", f"{f.on_screen_text}\n{f.voice_over or ''}\n{f.sticker or ''}") for i, f in enumerate(self.frames, 1)], brand, platform)
        if sponsored:
            out += check_disclosure(self.frames[0].on_screen_text, platform, policy_for(brand, platform), "frame 1")
        return out

    def disclosure_field(self):
        return ("frames", 0, "on_screen_text")


class Beat(Piece):
    seconds: int = Field(description="Duration of the beat in seconds")
    line: str = Field(description="What is said (voice or to camera); empty string for none")
    on_screen_text: str = Field(description="Text overlay, short")
    shot: str = Field(description="What the camera shows")


class VideoScript(Captioned):
    kind: ClassVar[str] = "video_script"
    title: str | None = Field(None, description="Title, only for platforms with a title field (YouTube Shorts); otherwise null")
    hook: Beat = Field(description="The opening beat: it must stop the scroll within the first seconds")
    beats: list[Beat] = Field(description="The following beats in order")
    caption: str = Field(description="The caption published with the video, hashtags excluded")
    hashtags: list[str] = Field(default_factory=list, description="Hashtags for the caption, each starting with '#'")

    @property
    def total_seconds(self) -> int:
        return self.hook.seconds + sum(b.seconds for b in self.beats)

    def review(self, platform, brand, sponsored):
        rules = platform.kinds.video_script
        out = check_text(self.render(platform), platform, brand, sponsored=sponsored, where="caption").violations
        out += _title(self.title, platform, brand)
        all_beats = [self.hook, *self.beats]
        if any(b.seconds < 1 for b in all_beats):
            out.append(Violation("beat_seconds", "error", "Every beat lasts at least 1 second."))
        if rules:
            total = self.total_seconds
            if total > rules.max_seconds:
                out.append(Violation("video_length", "error", f"{platform.name} videos here run at most {rules.max_seconds} s; this script runs {total} s."))
            elif total > rules.recommended_seconds * 2:
                out.append(Violation("video_length", "warning", f"{total} s is long for {platform.name}; about {rules.recommended_seconds} s performs best."))
            if self.hook.seconds > rules.hook_seconds:
                out.append(Violation("hook", "warning", f"The hook lasts {self.hook.seconds} s; land it within {rules.hook_seconds} s.", "hook"))
        out += _words([("hook" if i == 0 else f"beat {i}", f"{b.line}\n{b.on_screen_text}") for i, b in enumerate(all_beats)], brand, platform)
        return out

    def markdown(self, platform):
        lines = [f"**{self.title}**", ""] if self.title else []
        t = 0
        for i, b in enumerate([self.hook, *self.beats]):
            name = "Hook" if i == 0 else f"Beat {i}"
            lines.append(f"- **{t}–{t + b.seconds} s · {name}**: {b.line or '(no line)'}  \n  _On screen:_ {b.on_screen_text} · _Shot:_ {b.shot}")
            t += b.seconds
        lines += ["", f"Total: {t} s", "", self.render(platform)]
        return "\n".join(lines)


class Thread(Content):
    kind: ClassVar[str] = "thread"
    posts: list[str] = Field(description="The posts in order, without numbering (it is added); each must stand on its own")
    hashtags: list[str] = Field(default_factory=list, description="Hashtags for the first post, each starting with '#'")

    def rendered_posts(self, platform: PlatformRules) -> list[str]:
        n = len(self.posts)
        out = []
        for i, post in enumerate(self.posts, 1):
            text = f"{i}/{n} {post.strip()}" if n > 1 else post.strip()
            out.append(with_hashtags(text, self.hashtags, platform) if i == 1 else text)
        return out

    def render(self, platform):
        return "\n\n---\n\n".join(self.rendered_posts(platform))

    def review(self, platform, brand, sponsored):
        return check(self.render(platform), platform, brand, kind="thread", sponsored=sponsored).violations

    def disclosure_field(self):
        return ("posts", 0, "")



class RankedHashtag(Piece):
    tag: str = Field(description="The hashtag, starting with '#'")
    kind: HashtagKind = Field(description="brand (the brand's own), broad (large audience), niche (specific community), campaign (this launch or event)")
    why: str = Field(description="One short reason this tag fits")


class HashtagSet(Content):
    kind: ClassVar[str] = "hashtags"
    hashtags: list[RankedHashtag] = Field(description="Hashtags ranked from most to least useful")

    def tags(self) -> list[str]:
        return [h.tag for h in self.hashtags]

    def render(self, platform):
        return " ".join(self.tags())

    def review(self, platform, brand, sponsored):
        return check(self.render(platform) or " ", platform, brand, kind="hashtags").violations

    def markdown(self, platform):
        return "\n".join(f"{i}. {h.tag} ({h.kind}): {h.why}" for i, h in enumerate(self.hashtags, 1))


KIND_MODELS: dict[str, type[Content]] = {m.kind: m for m in (Post, Carousel, Story, VideoScript, Thread, HashtagSet)}


def split_thread(text: str) -> list[str]:
    return [p.strip() for p in THREAD_SEPARATOR.split(text) if p.strip()]
