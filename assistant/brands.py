"""Brand voice profiles: who the brand speaks to, how it sounds, and the policies its content must keep."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$")
_HASHTAG = re.compile(r"^#\w+$")

# Default disclosure labels when a profile does not set its own, by language (see PLATFORMS.md):
# France requires the literal "Publicité" or "Collaboration commerciale" (loi n° 2023-451, art. 5);
# the FTC accepts "#ad", "Sponsored", "Advertisement" when clear and conspicuous.
DEFAULT_DISCLOSURES = {
    "fr": ["Publicité", "Collaboration commerciale"],
    "en": ["#ad", "Sponsored", "Advertisement", "Paid partnership"],
    "de": ["Werbung", "Anzeige"],
    "es": ["Publicidad", "#publi"],
}


def is_language_tag(tag: str) -> bool:
    """A BCP-47 tag of the common shapes: 'fr', 'fr-FR', 'zh-Hant-TW', 'es-419'."""
    return bool(_LANGUAGE.match(tag))


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Voice(Strict):
    traits: list[str] = Field(min_length=1)
    tone: str
    point_of_view: Literal["first_person_singular", "first_person_plural", "second_person", "third_person"] = "first_person_plural"
    formality: Literal["formal", "neutral", "casual"] = "neutral"
    address: str | None = None  # e.g. "vous" or "tu" in French
    notes: str | None = None


class Vocabulary(Strict):
    preferred: list[str] = []
    banned: list[str] = []  # words or phrases that must never appear (a hard rule)


class EmojiPolicy(Strict):
    allowed: bool = True
    max: int | None = None  # per text, None for no cap
    banned: list[str] = []
    preferred: list[str] = []

    def bans(self, emoji: str) -> bool:
        """Banned as written or without its emoji-presentation selector (❤️ and ❤ are one emoji)."""
        return emoji in self.banned or emoji.replace("\ufe0f", "") in self.banned


class HashtagPolicy(Strict):
    brand: list[str] = []  # the brand's own tags, offered to the writer
    required: list[str] = []  # tags every post must carry; the assistant adds them when missing
    banned: list[str] = []
    max: int | None = None  # the brand's own cap; the platform's hard cap still applies
    style: Literal["CamelCase", "lowercase", "any"] = "CamelCase"

    @field_validator("brand", "required", "banned")
    @classmethod
    def _tags(cls, tags: list[str]) -> list[str]:
        bad = [t for t in tags if not _HASHTAG.match(t)]
        if bad:
            raise ValueError(f"hashtags must look like '#Word' (letters, digits, '_'); fix: {', '.join(bad)}")
        return tags


class CallToAction(Strict):
    style: str
    examples: list[str] = []


class Disclosure(Strict):
    """How sponsored content is labelled. The first label is the one the assistant adds."""

    labels: list[str] = Field(default_factory=list)
    placement: Literal["start", "end"] = "start"
    also_required: list[str] = []  # e.g. "Images retouchées" for edited photos, added by the user when relevant


class ClichePolicy(Strict):
    extra: list[str] = []  # more phrases this brand never wants to read
    silence: list[str] = []  # ids of built-in cliché rules to switch off for this brand


class ExamplePost(Strict):
    text: str = Field(min_length=1)
    platform: str | None = None
    kind: str = "post"
    note: str | None = None


class PlatformOverride(Strict):
    """Per-platform changes to a profile; only what is set replaces the base profile's value."""

    voice: Voice | None = None
    vocabulary: Vocabulary | None = None
    emoji: EmojiPolicy | None = None
    hashtags: HashtagPolicy | None = None
    cta: CallToAction | None = None
    disclosure: Disclosure | None = None
    notes: str | None = None


class BrandProfile(Strict):
    id: str = ""
    name: str = Field(min_length=1)
    description: str
    audience: str
    language: str = "en-US"
    voice: Voice
    vocabulary: Vocabulary = Vocabulary()
    emoji: EmojiPolicy = EmojiPolicy()
    hashtags: HashtagPolicy = HashtagPolicy()
    cta: CallToAction | None = None
    disclosure: Disclosure = Disclosure()
    cliches: ClichePolicy = ClichePolicy()
    examples: list[ExamplePost] = []
    platforms: dict[str, PlatformOverride] = {}
    notes: str | None = None  # anything else the writer should know, in prose

    @field_validator("language")
    @classmethod
    def _bcp47(cls, value: str) -> str:
        if not is_language_tag(value):
            raise ValueError("use a BCP-47 language tag such as 'en-US', 'fr-FR' or 'de'")
        return value

    @model_validator(mode="after")
    def _known_platforms(self, info: Any) -> "BrandProfile":
        known = (info.context or {}).get("platforms") if info and info.context else None
        if known:
            unknown = [p for p in self.platforms if p not in known]
            if unknown:
                raise ValueError(f"unknown platform in 'platforms': {', '.join(unknown)}; use one of: {', '.join(sorted(known))}")
        return self

    @property
    def language_base(self) -> str:
        return self.language.split("-")[0]

    def disclosure_labels(self) -> list[str]:
        return list(self.disclosure.labels) or DEFAULT_DISCLOSURES.get(self.language_base, DEFAULT_DISCLOSURES["en"])

    def for_platform(self, platform_id: str) -> "BrandProfile":
        """This profile with the platform's overrides applied (examples narrowed to that platform first)."""
        override = self.platforms.get(platform_id)
        changes: dict[str, Any] = {}
        if override is not None:
            changes = {k: getattr(override, k) for k in override.model_fields_set if k != "notes"}
            if override.notes:
                changes["notes"] = "\n".join(filter(None, [self.notes, override.notes]))
        own = [e for e in self.examples if e.platform == platform_id]
        changes["examples"] = own + [e for e in self.examples if e.platform is None]
        return self.model_copy(update=changes)


def load_brand(path: Path, platforms: set[str] | None = None) -> BrandProfile:
    from .loader import load_model_file

    brand = load_model_file(BrandProfile, path, what="brand profile", context={"platforms": platforms} if platforms else None)
    return brand.model_copy(update={"id": Path(path).stem})
