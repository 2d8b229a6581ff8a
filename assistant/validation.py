"""The validator: checks text against a platform's real rules and a brand's policy. The prompt asks; this decides."""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal

import regex
from pydantic import BaseModel, ConfigDict, TypeAdapter

from . import counting, hashtags
from .brands import BrandProfile
from .platforms import PlatformRules, TextRules
from .twitter_text import extract_urls

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Violation:
    rule: str
    severity: Severity
    message: str
    where: str | None = None  # which part of a structured piece, e.g. "slide 3" or "post 2"

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return f"[{self.severity}] {self.rule}{f' ({self.where})' if self.where else ''}: {self.message}"


@dataclass(frozen=True)
class Measure:
    """One limit and how much of it a text uses."""

    counting: str
    unit: str
    length: int
    limit: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Check:
    """The verdict on one text: its length as the platform counts it, and every violation."""

    platform: str
    length: int
    limit: int
    counting: str
    violations: list[Violation] = field(default_factory=list)
    measures: list[Measure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(v.severity == "error" for v in self.violations)

    @property
    def errors(self) -> list[Violation]:
        return [v for v in self.violations if v.severity == "error"]

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "platform": self.platform,
            "length": self.length,
            "limit": self.limit,
            "counting": self.counting,
            "measures": [m.to_dict() for m in self.measures],
            "violations": [v.to_dict() for v in self.violations],
        }


def has_errors(violations: list[Violation]) -> bool:
    return any(v.severity == "error" for v in violations)


# Clichés ---------------------------------------------------------------------------------------


class Cliche(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    language: Literal["en", "fr", "any"]
    pattern: str
    message: str
    max: int = 0


@lru_cache(maxsize=1)
def builtin_cliches() -> tuple[Cliche, ...]:
    from .loader import parse_yaml

    path = Path(__file__).parent / "data" / "cliches.yaml"
    data, _ = parse_yaml(path.read_text("utf-8"), str(path))
    return tuple(TypeAdapter(list[Cliche]).validate_python(data))


@lru_cache(maxsize=64)
def _compiled(pattern: str) -> regex.Pattern:
    return regex.compile(pattern, regex.IGNORECASE | regex.V0)


def fold_text(text: str) -> str:
    """Case-, accent- and apostrophe-insensitive form, so 'Détox' matches a ban on 'detox'."""
    decomposed = unicodedata.normalize("NFKD", text.replace("’", "'").replace("‘", "'"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@lru_cache(maxsize=512)
def _phrase_pattern(phrase: str) -> regex.Pattern:
    folded = regex.escape(fold_text(phrase.strip()))
    # Whole words only: a ban on 'leverage' must not fire on 'leveraged'? It should; allow word endings
    # for single words, exact match for multi-word phrases.
    if " " not in phrase.strip() and phrase.strip().isalpha():
        return regex.compile(rf"(?<![\w]){folded}\w{{0,3}}(?!\w)")
    return regex.compile(rf"(?<![\w]){folded}(?![\w])")


def find_phrase(text_folded: str, phrase: str) -> bool:
    return bool(_phrase_pattern(phrase).search(text_folded))


# Policy: a brand compiled for fast checks ------------------------------------------------------


class Policy:
    """What a brand (or no brand) demands, resolved once for one platform."""

    def __init__(self, brand: BrandProfile | None, platform: PlatformRules):
        self.brand = brand.for_platform(platform.id) if brand else None
        b = self.brand
        self.language = (b.language_base if b else "any")
        self.banned = list(b.vocabulary.banned) if b else []
        self.emoji = b.emoji if b else None
        self.banned_tags = {hashtags.key(t) for t in b.hashtags.banned} if b else set()
        self.required_tags = list(b.hashtags.required) if b else []
        caps = [c for c in (platform.hashtags.max, b.hashtags.max if b else None) if c is not None]
        self.hashtag_cap = min(caps) if caps else None
        self.hashtag_cap_source = (
            "brand" if b and b.hashtags.max is not None and (platform.hashtags.max is None or b.hashtags.max < platform.hashtags.max) else "platform"
        )
        self.disclosure_labels = b.disclosure_labels() if b else ["#ad", "Sponsored", "Publicité", "Collaboration commerciale"]
        silenced = set(b.cliches.silence) if b else set()
        self.cliches = [
            c for c in builtin_cliches()
            if c.id not in silenced and (c.language == "any" or not b or c.language == self.language)
        ]
        self.extra_cliches = list(b.cliches.extra) if b else []
        self.platform = platform

    @cached_property
    def template_data(self) -> tuple[dict, dict]:
        """The resolved brand and the platform as plain data for prompt templates. Shared safely: both models
        are frozen, and the template sandbox forbids modifying what it is given."""
        brand = {**self.brand.model_dump(mode="json"), "disclosure_labels": self.disclosure_labels} if self.brand else {}
        return brand, self.platform.model_dump(mode="json")


_policies: dict[tuple[int, int], tuple[object, object, Policy]] = {}


def policy_for(brand: BrandProfile | None, platform: PlatformRules) -> Policy:
    """One Policy per (brand, platform) object pair; objects, not ids, so a reloaded profile is never stale."""
    key = (id(brand), id(platform))
    hit = _policies.get(key)
    if hit and hit[0] is brand and hit[1] is platform:
        return hit[2]
    if len(_policies) > 256:
        _policies.clear()
    policy = Policy(brand, platform)
    _policies[key] = (brand, platform, policy)
    return policy


# Checks ----------------------------------------------------------------------------------------


def measure(text: str, rules: TextRules) -> list[Measure]:
    return [Measure(lim.counting, lim.unit, counting.count(text, lim.counting), lim.max) for lim in rules.limits]


def check_length(text: str, rules: TextRules, platform: PlatformRules, where: str | None, what: str = "text") -> tuple[list[Measure], list[Violation]]:
    measures = measure(text, rules)
    out = []
    for m, lim in zip(measures, rules.limits):
        if m.length > m.limit:
            out.append(Violation(
                "length", "error",
                f"{platform.name} allows {m.limit} {m.unit} for the {what}; this has {m.length} "
                f"({counting.METHODS[m.counting]}). Cut {m.length - m.limit}.",
                where,
            ))
    for char in rules.forbidden_characters:
        if char in text:
            out.append(Violation("forbidden_character", "error", f"{platform.name} does not allow '{char}' in the {what}; remove it.", where))
    bad = counting.invalid_characters(text, rules.primary().counting)
    if bad:
        shown = ", ".join(f"U+{ord(c):04X}" for c in dict.fromkeys(bad))
        out.append(Violation("invalid_character", "error", f"{platform.name} rejects posts containing {shown}; remove them.", where))
    return measures, out


def check_hashtags(text: str, platform: PlatformRules, policy: Policy, where: str | None, *, count_cap: bool = True) -> list[Violation]:
    out = []
    tags = hashtags.find(text)
    for tag in tags:
        if tag.problem:
            out.append(Violation("hashtag_malformed", "error", f"Malformed hashtag: {tag.problem}. Write it as one word, e.g. '{hashtags.normalize(tag.written) or tag.text}'.", where))
        elif platform.hashtags.max_length and counting.count(tag.text[1:], "graphemes") > platform.hashtags.max_length:
            out.append(Violation("hashtag_malformed", "error", f"'{tag.text}' is longer than the {platform.hashtags.max_length} characters {platform.name} allows for a tag.", where))
    seen: dict[str, str] = {}
    for tag in tags:
        if tag.key in seen:
            out.append(Violation("hashtag_duplicate", "warning", f"'{tag.text}' appears more than once; keep one.", where))
        seen.setdefault(tag.key, tag.text)
    for tag in tags:
        if tag.key in policy.banned_tags:
            out.append(Violation("hashtag_banned", "error", f"'{tag.text}' is on the brand's banned hashtag list; remove it.", where))
    distinct = len(seen)
    if count_cap and policy.hashtag_cap is not None and distinct > policy.hashtag_cap:
        who = f"{platform.name} allows" if policy.hashtag_cap_source == "platform" else "The brand allows"
        out.append(Violation("hashtag_count", "error", f"{who} at most {policy.hashtag_cap} hashtag{'s' if policy.hashtag_cap != 1 else ''}; this has {distinct}. Keep the {policy.hashtag_cap} most relevant.", where))
    elif count_cap and distinct > platform.hashtags.recommended:
        out.append(Violation("hashtag_count", "warning", f"{distinct} hashtags; {platform.name} works best with {platform.hashtags.recommended} or fewer. More reads as spam.", where))
    return out


def check_words(text: str, policy: Policy, where: str | None) -> list[Violation]:
    """Banned phrases and clichés: what the brand forbids and what reads as machine-written."""
    out = []
    folded = fold_text(text)
    for phrase in policy.banned:
        if find_phrase(folded, phrase):
            out.append(Violation("banned_phrase", "error", f"'{phrase}' is banned by the brand; rephrase without it.", where))
    for cliche in policy.cliches:
        found = len(_compiled(cliche.pattern).findall(text))
        if found > cliche.max:
            out.append(Violation("cliche", "warning", f"{cliche.message} [{cliche.id}]", where))
    for phrase in policy.extra_cliches:
        if find_phrase(folded, phrase):
            out.append(Violation("cliche", "warning", f"'{phrase}' is on the brand's list of clichés; say it another way.", where))
    return out


def check_emoji(text: str, policy: Policy, where: str | None) -> list[Violation]:
    rules = policy.emoji
    if rules is None:
        return []
    found = counting.emojis(text)
    if not found:
        return []
    if not rules.allowed:
        return [Violation("emoji", "error", f"The brand uses no emoji; remove {' '.join(dict.fromkeys(found))}.", where)]
    out = []
    banned = [e for e in dict.fromkeys(found) if rules.bans(e)]
    if banned:
        out.append(Violation("emoji_banned", "error", f"The brand bans {' '.join(banned)}; remove or replace.", where))
    if rules.max is not None and len(found) > rules.max:
        out.append(Violation("emoji_count", "error", f"The brand allows at most {rules.max} emoji per text; this has {len(found)}.", where))
    return out


def check_links(text: str, platform: PlatformRules, where: str | None) -> list[Violation]:
    urls = extract_urls(text)
    if not urls:
        return []
    out = []
    if not platform.links.clickable:
        out.append(Violation("link_not_clickable", "warning", f"Links in {platform.name} text are not clickable. {platform.links.advice}".strip(), where))
    if platform.links.max is not None and len(urls) > platform.links.max:
        out.append(Violation("link_count", "error", f"{platform.name} allows at most {platform.links.max} links per post; this has {len(urls)}.", where))
    return out


_PLACEHOLDER = regex.compile(
    r"\[(?:your|insert|add|company|brand|product|link|url|name|date|time|location|address|price|city|website|email|phone|handle|here)\b[^\]\n]{0,40}\]"
    r"|\{\{[^}\n]{0,40}\}\}|\{\s*\{|<(?:link|url|insert)[^>\n]{0,30}>|\blorem ipsum\b|\bXX+\b|\bTBD\b",
    regex.IGNORECASE,
)


def check_placeholders(text: str, where: str | None) -> list[Violation]:
    """Template leftovers ('[Your Company]', '{{name}}', 'Lorem ipsum') must never be published."""
    found = [m.group(0) for m in _PLACEHOLDER.finditer(text)]
    if found:
        return [Violation("placeholder", "error", f"Placeholder text left in: {', '.join(repr(f) for f in dict.fromkeys(found))}. Replace it with the real words or remove it.", where)]
    return []


def check_invented_links(text: str, allowed: str, where: str | None = None) -> list[Violation]:
    """Links in generated text that appear nowhere in the brief or the brand profile were made up."""
    urls = {text[a:b].rstrip("/").lower() for a, b in extract_urls(text, require_scheme=False)}
    known = allowed.lower()
    made_up = sorted(u for u in urls if u.split("://")[-1].removeprefix("www.") not in known)
    if made_up:
        return [Violation("invented_link", "error", f"Link(s) not given in the brief: {', '.join(made_up)}. Remove them; use only the brief's link.", where)]
    return []


def check_mentions(text: str, platform: PlatformRules, where: str | None) -> list[Violation]:
    if platform.mentions_max is None:
        return []
    mentions = regex.findall(r"(?<![\w@])@[\w.]+", text)
    if len(mentions) > platform.mentions_max:
        return [Violation("mention_count", "error", f"{platform.name} allows at most {platform.mentions_max} @-mentions; this has {len(mentions)}.", where)]
    return []


def fold_position(text: str, platform: PlatformRules) -> int | None:
    """Index at which the platform hides the rest behind 'see more', or None when it all shows."""
    fold = platform.fold
    if fold is None:
        return None
    cut = len(text)
    if fold.chars is not None and len(text) > fold.chars:
        clusters = counting.graphemes(text)
        if len(clusters) > fold.chars:
            cut = len("".join(clusters[: fold.chars]))
    if fold.lines is not None:
        nth = -1
        for _ in range(fold.lines):
            nth = text.find("\n", nth + 1)
            if nth == -1:
                break
        if nth != -1 and text[nth:].strip():
            cut = min(cut, nth)
    return cut if cut < len(text.rstrip()) else None


def check_fold(text: str, platform: PlatformRules, where: str | None) -> list[Violation]:
    cut = fold_position(text, platform)
    if cut is None:
        return []
    limit = platform.fold
    shown = f"the first {limit.chars} characters" if limit.chars else f"the first {limit.lines} lines"
    if limit.chars and limit.lines:
        shown = f"the first {limit.lines} lines or {limit.chars} characters"
    hidden = len(text) - cut
    return [Violation("fold", "warning", f"{platform.name} shows {shown} before '…more'; {hidden} characters sit behind it. Keep the hook and key facts above the fold.", where)]


def check_disclosure(text: str, platform: PlatformRules, policy: Policy, where: str | None) -> list[Violation]:
    labels = policy.disclosure_labels
    folded = fold_text(text)
    positions = []
    for label in labels:
        if label.startswith("#"):
            positions += [t.start for t in hashtags.find(text) if t.key == hashtags.key(label)]
        else:
            m = _phrase_pattern(label).search(folded)
            if m:
                positions.append(m.start())
    if not positions:
        return [Violation(
            "disclosure", "error",
            f"Sponsored content must carry a clear disclosure such as {' or '.join(repr(l) for l in labels[:2])}, at the start of the text.",
            where,
        )]
    first = min(positions)
    cut = fold_position(text, platform)
    if cut is not None and first >= cut:
        return [Violation("disclosure_placement", "warning", f"The disclosure sits behind {platform.name}'s '…more' fold; move it to the start so it is seen.", where)]
    if first >= hashtags.trailing_block_start(text) and first > 0:
        return [Violation("disclosure_placement", "warning", "The disclosure is buried among the closing hashtags; regulators (FTC, French law) want it clear and up front.", where)]
    return []


def check_text(
    text: str,
    platform: PlatformRules,
    brand: BrandProfile | None = None,
    *,
    sponsored: bool = False,
    rules: TextRules | None = None,
    where: str | None = None,
    what: str = "text",
    fold: bool = True,
    hashtag_cap: bool = True,
) -> Check:
    """Every rule for one publishable text. `rules` defaults to the platform's main text rules."""
    rules = rules or platform.text
    policy = policy_for(brand, platform)
    if not text.strip():
        primary = rules.primary()
        return Check(platform.id, 0, primary.max, primary.counting,
                     [Violation("empty", "error", f"The {what} is empty; write something to publish.", where)])
    measures, violations = check_length(text, rules, platform, where, what)
    violations += check_hashtags(text, platform, policy, where, count_cap=hashtag_cap)
    violations += check_words(text, policy, where)
    violations += check_emoji(text, policy, where)
    violations += check_links(text, platform, where)
    violations += check_mentions(text, platform, where)
    violations += check_placeholders(text, where)
    if sponsored:
        violations += check_disclosure(text, platform, policy, where)
    if fold:
        violations += check_fold(text, platform, where)
    first = measures[0]
    return Check(platform.id, first.length, first.limit, first.counting, violations, measures)


def validate(text: str, platform: PlatformRules, brand: BrandProfile | None = None, *, sponsored: bool = False) -> list[Violation]:
    """The violations of one post text; see `check_text` for the full verdict with lengths."""
    return check_text(text, platform, brand, sponsored=sponsored).violations


THREAD_SEPARATOR = regex.compile(r"(?m)^[ \t]*---[ \t]*$")
_THREAD_NUMBER = regex.compile(r"^\s*\d{1,2}/\d{1,2}\s+")


def check(
    text: str,
    platform: PlatformRules,
    brand: BrandProfile | None = None,
    *,
    kind: str = "post",
    sponsored: bool = False,
) -> Check:
    """Check a plain text as a piece of `kind`: a thread is posts separated by lines of '---';
    a hashtag set is tags separated by spaces or commas; other kinds are checked through their caption."""
    if kind == "thread":
        parts = [p.strip() for p in THREAD_SEPARATOR.split(text)]
        parts = [p for p in parts if p] or [""]
        checks = [
            check_text(p, platform, brand, sponsored=sponsored and i == 0, where=f"post {i + 1}/{len(parts)}", fold=False)
            for i, p in enumerate(parts)
        ]
        longest = max(checks, key=lambda c: c.length)
        violations = [v for c in checks for v in c.violations]
        rules = platform.kinds.thread
        if len(parts) < 2:
            violations.append(Violation("thread_length", "error", "A thread needs at least 2 posts."))
        if rules and len(parts) > rules.max_posts:
            violations.append(Violation("thread_length", "error", f"{platform.name} threads here are capped at {rules.max_posts} posts; this has {len(parts)}."))
        seen: dict[str, int] = {}
        for i, part in enumerate(parts, 1):
            key = " ".join(_THREAD_NUMBER.sub("", part, count=1).casefold().split())
            if key in seen:  # X refuses a post it has just seen ("You already said that")
                violations.append(Violation("duplicate_post", "error", f"Post {i} repeats post {seen[key]}; every post must say something new.", f"post {i}/{len(parts)}"))
            seen.setdefault(key, i)
        return Check(platform.id, longest.length, longest.limit, longest.counting, violations, longest.measures)
    if kind == "hashtags":
        policy = policy_for(brand, platform)
        tags = hashtags.find(text)
        stray = [w for w in regex.split(r"[\s,]+", text) if w and not w.startswith(("#", "＃"))]
        violations = check_hashtags(text, platform, policy, None)
        if stray:
            violations.append(Violation("hashtag_malformed", "error", f"Not hashtags: {', '.join(stray[:5])}. Start each tag with '#'."))
        if not tags and not stray:
            violations.append(Violation("empty", "error", "No hashtags given."))
        cap = policy.hashtag_cap or platform.hashtags.recommended
        return Check(platform.id, len({t.key for t in tags}), cap, "hashtags", violations)
    return check_text(text, platform, brand, sponsored=sponsored)
