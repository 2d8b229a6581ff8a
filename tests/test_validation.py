"""The validator against every platform and every example brand, plus each rule on its own."""

from __future__ import annotations

import pytest

from assistant import counting
from assistant.catalog import Catalog
from assistant.validation import check, check_text, validate

CATALOG = Catalog()
PLATFORMS = sorted(CATALOG.platform_files)
BRANDS = CATALOG.brand_ids()


def rules(name):
    return CATALOG.platform(name)


def brand(name):
    return CATALOG.brand(name)


def errors(violations, rule=None):
    return [v for v in violations if v.severity == "error" and (rule is None or v.rule == rule)]


def test_required_platforms_and_brands_exist():
    assert {"x", "linkedin", "instagram", "facebook", "tiktok", "threads", "bluesky", "mastodon", "pinterest", "youtube_shorts"} <= set(PLATFORMS)
    languages = {brand(b).language for b in BRANDS}
    assert len(BRANDS) >= 3 and any(lang.startswith("fr") for lang in languages) and any(lang.startswith("en") for lang in languages)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_platform_cites_its_sources(platform):
    p = rules(platform)
    assert p.style.strip()
    for lim in p.text.limits:
        assert lim.source.strip() and lim.counting in counting.METHODS
    assert p.hashtags.source and p.links.source
    for kind in ("carousel", "story", "video_script", "thread"):
        k = getattr(p.kinds, kind)
        assert k is None or k.source


# Every platform x every brand --------------------------------------------------------------------

MATRIX = [(p, b) for p in PLATFORMS for b in BRANDS]


def _plain_sentence(b):
    return {
        "fr": "Notre nouvelle infusion arrive le 1er mars, cueillie à la main près de Lyon.",
    }.get(brand(b).language_base, "Our new blend ships on March 1, roasted in small batches.")


@pytest.mark.parametrize("platform,brand_id", MATRIX)
def test_plain_text_passes(platform, brand_id):
    text = _plain_sentence(brand_id)
    result = check(text, rules(platform), brand(brand_id))
    assert result.ok, result.violations
    assert result.length == counting.count(text, rules(platform).text.limits[0].counting)
    assert result.limit == rules(platform).text.limits[0].max


@pytest.mark.parametrize("platform,brand_id", MATRIX)
def test_too_long_fails_with_exact_length(platform, brand_id):
    p = rules(platform)
    limit = p.text.limits[0]
    text = ("Plain words here. " * (limit.max // 10 + 50)).strip()
    result = check(text, p, brand(brand_id))
    assert not result.ok
    assert errors(result.violations, "length")
    assert result.length == counting.count(text, limit.counting) > limit.max


@pytest.mark.parametrize("platform,brand_id", MATRIX)
def test_banned_phrase_fails(platform, brand_id):
    b = brand(brand_id).for_platform(platform)
    if not b.vocabulary.banned:
        pytest.skip("brand bans nothing")
    phrase = b.vocabulary.banned[0]
    result = check(f"{_plain_sentence(brand_id)} {phrase.upper()}", rules(platform), brand(brand_id))
    assert errors(result.violations, "banned_phrase")


@pytest.mark.parametrize("platform,brand_id", MATRIX)
def test_sponsored_needs_the_brands_disclosure(platform, brand_id):
    b = brand(brand_id)
    text = _plain_sentence(brand_id)
    assert errors(check(text, rules(platform), b, sponsored=True).violations, "disclosure")
    label = b.disclosure_labels()[0]
    labelled = f"{label} · {text}"
    assert not errors(check(labelled, rules(platform), b, sponsored=True).violations)


@pytest.mark.parametrize("platform,brand_id", MATRIX)
def test_hashtag_cap(platform, brand_id):
    p, b = rules(platform), brand(brand_id)
    caps = [c for c in (p.hashtags.max, b.for_platform(platform).hashtags.max) if c is not None]
    tags = " ".join(f"#Tag{chr(65 + i)}" for i in range((min(caps) if caps else p.hashtags.recommended) + 1))
    result = check(f"{_plain_sentence(brand_id)} {tags}", p, b)
    expected = "error" if caps else "warning"
    assert any(v.rule == "hashtag_count" and v.severity == expected for v in result.violations)


@pytest.mark.parametrize("platform,brand_id", MATRIX)
def test_brand_examples_keep_hard_rules(platform, brand_id):
    """Example posts are few-shot for the model: they must themselves be valid where they are meant to be used."""
    b = brand(brand_id).for_platform(platform)
    examples = [e for e in brand(brand_id).examples if e.platform == platform and e.kind == "post"]
    for example in examples:
        result = check_text(example.text, rules(platform), brand(brand_id))
        assert result.ok, (example.text, result.errors)
    assert b  # profile resolves for every platform


# Single rules --------------------------------------------------------------------------------


def test_hashtags_malformed_duplicate_banned():
    b = brand("tidewell-coffee")
    banned = b.hashtags.banned[0]
    v = validate(f"Fresh pods #coffee-pods #2025 ##pods #Pods #pods {banned}", rules("x"), b)
    rules_seen = {(x.rule, x.severity) for x in v}
    assert ("hashtag_malformed", "error") in rules_seen
    assert ("hashtag_duplicate", "warning") in rules_seen
    assert ("hashtag_banned", "error") in rules_seen
    messages = " ".join(x.message for x in v)
    assert "#coffee-pods" in messages and "#2025" in messages and "##pods" in messages


def test_emoji_policy():
    northwind = brand("northwind-analytics")
    assert not northwind.emoji.allowed
    assert errors(validate("Ship faster 📈", rules("linkedin"), northwind), "emoji")
    tidewell = brand("tidewell-coffee")
    many = "☕" * ((tidewell.emoji.max or 3) + 1)
    assert errors(validate(f"Good morning {many}", rules("instagram"), tidewell), "emoji_count")
    assert errors(validate("Launch day 🚀", rules("instagram"), tidewell), "emoji_banned")


def test_fold_is_a_warning():
    text = "A hook that matters. " + "More detail follows here. " * 10
    v = validate(text, rules("instagram"))
    assert [x.severity for x in v if x.rule == "fold"] == ["warning"]
    assert not [x for x in validate("Short.", rules("instagram")) if x.rule == "fold"]


def test_fold_by_lines():
    v = validate("one\ntwo\nthree\nfour", rules("instagram"))
    assert any(x.rule == "fold" for x in v)


def test_disclosure_french_literal_label():
    b = brand("maison-verveine")
    p = rules("instagram")
    assert errors(validate("Notre infusion du soir, en partenariat avec Herbier Sud. #ad", p, b, sponsored=True), "disclosure")
    assert not errors(validate("Publicité · Notre infusion du soir, avec Herbier Sud.", p, b, sponsored=True))
    assert not errors(validate("Collaboration commerciale avec Herbier Sud : notre infusion du soir.", p, b, sponsored=True))


def test_disclosure_buried_among_hashtags_is_flagged():
    b = brand("tidewell-coffee")
    v = validate("Our pods, now at Corner Market. #Tidewell #coffee #ad", rules("x"), b, sponsored=True)
    assert not errors(v, "disclosure")
    assert any(x.rule == "disclosure_placement" for x in v)


@pytest.mark.parametrize("text,cliche", [
    ("In today's fast-paced world, coffee matters.", "fast-paced-world"),
    ("This pod is a game-changer for mornings.", "game-changer"),
    ("It's not just coffee, it's a ritual.", "not-just-x-its-y"),
    ("Dans un monde en constante évolution, le thé reste.", "monde-en-evolution"),
    ("Fast — simple — compostable — done.", "em-dash-overuse"),
    ("New pods ✨🚀🔥", "sparkle-rocket-fire"),
])
def test_cliches_are_warnings(text, cliche):
    v = validate(text, rules("linkedin"))
    hits = [x for x in v if x.rule == "cliche" and cliche in x.message]
    assert hits and all(x.severity == "warning" for x in hits)


def test_one_em_dash_is_fine():
    assert not [x for x in validate("Roasted Monday — shipped Tuesday.", rules("linkedin")) if x.rule == "cliche"]


def test_brand_can_extend_and_silence_cliches(tmp_path):
    from assistant.brands import BrandProfile

    base = brand("tidewell-coffee")
    custom = BrandProfile.model_validate({
        **base.model_dump(exclude={"id"}),
        "cliches": {"extra": ["cup of joe"], "silence": ["game-changer"]},
    })
    v = validate("A game-changer cup of joe.", rules("linkedin"), custom)
    cl = [x.message for x in v if x.rule == "cliche"]
    assert any("cup of joe" in m for m in cl)
    assert not any("game-changer" in m and "[game-changer]" in m for m in cl)


def test_youtube_forbids_angle_brackets_and_counts_bytes():
    p = rules("youtube_shorts")
    assert errors(validate("Use <b>bold</b>", p), "forbidden_character")
    text = "é" * 2600  # 2,600 characters but 5,200 bytes
    result = check(text, p)
    assert result.length == 5200 and errors(result.violations, "length")


def test_bluesky_has_two_limits():
    p = rules("bluesky")
    assert check("नमस्ते " * 42, p).ok  # 294 graphemes
    result = check("👨‍👩‍👧‍👦" * 150, p)  # 150 graphemes but 3,750 bytes
    assert [m.counting for m in result.measures] == ["graphemes", "utf8_bytes"]
    assert result.length == 150 and errors(result.violations, "length")


def test_mastodon_counts_urls_and_remote_mentions():
    p = rules("mastodon")
    url = "https://example.social/" + "a" * 60
    assert check(f"Read {url}", p).length == 5 + 23
    assert check("Hi @alice@example.social", p).length == len("Hi @alice")


def test_threads_counts_emoji_as_bytes():
    assert check("😷", rules("threads")).length == 4


def test_tiktok_counts_utf16():
    assert check("😷a", rules("tiktok")).length == 3


def test_x_invalid_characters():
    assert errors(validate("ABC\uFFFE", rules("x")), "invalid_character")


def test_links_not_clickable_on_instagram():
    v = validate("Shop now at https://tidewell.com/pods", rules("instagram"))
    assert any(x.rule == "link_not_clickable" and x.severity == "warning" for x in v)


def test_threads_link_cap():
    text = " ".join(f"https://e{i}.example.com" for i in range(6))
    assert errors(validate(text, rules("threads")), "link_count")


def test_thread_kind_checks_each_post():
    p = rules("x")
    text = "First post.\n---\n" + "x" * 300 + "\n---\nLast post."
    result = check(text, p, kind="thread")
    assert any(v.rule == "length" and v.where == "post 2/3" for v in result.violations)
    assert result.length == 300


def test_hashtags_kind():
    p = rules("threads")
    assert check("#Coffee", p, kind="hashtags").ok
    result = check("#Coffee #Pods", p, kind="hashtags")
    assert errors(result.violations, "hashtag_count") and result.length == 2 and result.limit == 1


def test_empty_text_is_an_error():
    assert errors(validate("   ", rules("x")), "empty")


@pytest.mark.parametrize("text", ["Visit [Your Company Name] today", "Hi {{ name }}!", "See <link here>", "Lorem ipsum dolor", "{ { 'title' }} on sale"])
def test_placeholders_are_errors(text):
    assert errors(validate(text, rules("linkedin")), "placeholder")


def test_invented_links():
    from assistant.validation import check_invented_links

    assert check_invented_links("Shop at https://made-up.com/x and tidewell.com", "brief says tidewell.com")[0].message.count("made-up.com") == 1
    assert not check_invented_links("Shop at https://tidewell.com/pods", "link https://tidewell.com/pods")
