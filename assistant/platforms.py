"""Platform rules: the limits, counting methods and style of each social platform, read from YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from . import counting

KINDS = ("post", "carousel", "story", "video_script", "thread", "hashtags")
Kind = Literal["post", "carousel", "story", "video_script", "thread", "hashtags"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TextLimit(Strict):
    """One hard limit on a text field, counted the way the platform counts."""

    max: int = Field(gt=0)
    counting: str
    unit: str = "characters"
    source: str

    @field_validator("counting")
    @classmethod
    def _known_method(cls, value: str) -> str:
        if value not in counting.METHODS:
            raise ValueError(f"unknown counting method '{value}'; use one of: {', '.join(counting.METHODS)}")
        return value


class TextRules(Strict):
    """Rules for one text field (a post body, a caption, a title)."""

    limits: list[TextLimit] = Field(min_length=1)
    forbidden_characters: list[str] = []
    source: str | None = None

    def primary(self) -> TextLimit:
        return self.limits[0]


class Fold(Strict):
    """Where the platform cuts the text behind 'see more'."""

    chars: int | None = None
    lines: int | None = None
    source: str


class HashtagRules(Strict):
    max: int | None = None  # hard cap, None when the platform has none
    recommended: int  # advice: more than this reads as spam
    max_length: int | None = None  # per tag, in graphemes, without '#'
    placement: Literal["end", "inline"] = "end"
    source: str


class LinkRules(Strict):
    clickable: bool
    max: int | None = None
    advice: str = ""
    source: str


class CarouselRules(Strict):
    min_slides: int = 2
    max_slides: int
    recommended_slides: int
    slide_title_max: int  # graphemes
    slide_body_max: int  # graphemes
    source: str


class StoryRules(Strict):
    max_frames: int
    max_frame_seconds: int
    recommended_frames: int
    frame_text_max: int  # graphemes of on-screen text per frame
    source: str


class VideoRules(Strict):
    max_seconds: int
    recommended_seconds: int
    hook_seconds: int = 3
    source: str


class ThreadRules(Strict):
    max_posts: int
    recommended_posts: int
    source: str


class KindRules(Strict):
    """Which content kinds beyond a plain post the platform supports, with their limits."""

    carousel: CarouselRules | None = None
    story: StoryRules | None = None
    video_script: VideoRules | None = None
    thread: ThreadRules | None = None


class PlatformRules(Strict):
    id: str = ""
    name: str
    text: TextRules
    title: TextRules | None = None
    fold: Fold | None = None
    hashtags: HashtagRules
    links: LinkRules
    mentions_max: int | None = None
    kinds: KindRules = KindRules()
    style: str = Field(min_length=1)

    def supports(self, kind: str) -> bool:
        return kind in ("post", "hashtags") or getattr(self.kinds, kind, None) is not None

    def supported_kinds(self) -> list[str]:
        return [k for k in KINDS if self.supports(k)]


def load_platform(path: Path) -> PlatformRules:
    from .loader import load_model_file

    rules = load_model_file(PlatformRules, path, what="platform rules file")
    return rules.model_copy(update={"id": Path(path).stem})
