"""HTML for the web app: platform-flavoured previews, counters and plain-words problem lists. Pure functions, no Gradio.

Every piece of user or model text goes through `html.escape` here, so a brief or a reply containing
`<script>` shows as text, never as markup.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

import regex

from . import counting, hashtags
from .content import Carousel, Content, HashtagSet, Post, Story, Thread, VideoScript, split_thread
from .platforms import PlatformRules
from .twitter_text import extract_urls
from .validation import Violation, fold_position, measure

if TYPE_CHECKING:
    from .batch import BatchSummary

Status = str  # "ok" | "warning" | "error"

# Brand colours of the platforms, so each preview reads as that platform at a glance.
PLATFORM_COLORS = {
    "x": "#0f1419", "linkedin": "#0a66c2", "instagram": "#d62976", "facebook": "#1877f2", "tiktok": "#fe2c55",
    "youtube_shorts": "#ff0000", "pinterest": "#e60023", "threads": "#101010", "bluesky": "#1185fe", "mastodon": "#6364ff",
}
KIND_LABELS = {
    "post": "Post", "carousel": "Carousel", "story": "Story", "video_script": "Short video", "thread": "Thread", "hashtags": "Hashtags",
}
SEVERITY_WORDS = {"error": "Must fix", "warning": "Worth a look"}
_MENTION = regex.compile(r"(?<![\w@])@[\w.]+")


def status_of(violations: Iterable[Violation]) -> Status:
    """The validator's verdict as a colour: error for any hard-rule break (a text over its limit is one), warning for
    any advice (a hashtag count over the recommended one is only that), ok otherwise."""
    violations = list(violations)
    if any(v.severity == "error" for v in violations):
        return "error"
    return "warning" if violations else "ok"


# Counter and problems --------------------------------------------------------------------------


def counter_html(length: int, limit: int, status: Status, *, counting_method: str | None = None, unit: str = "") -> str:
    """The "243 / 280" badge; its class (bx-ok, bx-warning, bx-error) carries the colour."""
    how = counting.METHODS.get(counting_method or "", unit or "characters")
    if length > limit:  # past a hard limit the status is an error; past a recommended count it is advice
        word = f"{length - limit:,} over the {'limit' if status == 'error' else 'recommended number'}"
    else:
        word = {"ok": "within the limit", "warning": "within the limit, see the advice", "error": "within the limit, but breaks a rule"}[status]
    return (
        f'<div class="bx-counter bx-{status}" data-status="{status}" title="{escape(how)}">'
        f'<span class="bx-count">{length:,} / {limit:,}</span>'
        f'<span class="bx-count-note">{escape(unit or "characters")} · {word}</span></div>'
    )


def failed_counter_html() -> str:
    return '<div class="bx-counter bx-error" data-status="error"><span class="bx-count">Failed</span><span class="bx-count-note">nothing to publish yet</span></div>'


def story_counter_html(frames: int, seconds: int, max_frames: int | None, status: Status) -> str:
    limit = f" / {max_frames}" if max_frames else ""
    return (
        f'<div class="bx-counter bx-{status}" data-status="{status}">'
        f'<span class="bx-count">{frames}{limit} frames</span><span class="bx-count-note">{seconds} s in all</span></div>'
    )


def violations_html(violations: Sequence[Violation], fixes: Sequence[str] = ()) -> str:
    """What breaks a rule and what is advice, in plain words; what was fixed automatically."""
    items = []
    for v in sorted(violations, key=lambda v: v.severity != "error"):
        where = f'<span class="bx-where">{escape(v.where)}</span>' if v.where else ""
        items.append(
            f'<li class="bx-problem bx-{v.severity}"><span class="bx-sev">{SEVERITY_WORDS.get(v.severity, v.severity)}</span>'
            f"{where}<span class=\"bx-msg\">{escape(v.message)}</span></li>"
        )
    for note in fixes:
        items.append(f'<li class="bx-problem bx-fixed"><span class="bx-sev">Fixed for you</span><span class="bx-msg">{escape(note)}</span></li>')
    if not violations:
        head = '<div class="bx-allgood">✓ Ready to publish: no rule broken, no advice.</div>'
    else:
        errors = sum(v.severity == "error" for v in violations)
        warnings = len(violations) - errors
        parts = [f"{errors} to fix" if errors else "", f"{warnings} worth a look" if warnings else ""]
        head = f'<div class="bx-summary">{escape(" · ".join(p for p in parts if p))}</div>'
    return f'<div class="bx-problems">{head}<ul>{"".join(items)}</ul></div>'


def usage_html(*, tokens: int, prompt_tokens: int, completion_tokens: int, cost_usd: float | None, calls: int, model: str, backend: str, seconds: float = 0.0) -> str:
    if cost_usd:
        cost = f"≈ ${cost_usd:.4f} estimated"
    elif backend == "local":
        cost = "free, runs on this machine"
    else:
        cost = "cost unknown for this model"
    took = f" · {seconds:.1f} s" if seconds >= 0.05 else ""
    return (
        f'<div class="bx-usage"><span title="{prompt_tokens:,} in the prompt, {completion_tokens:,} in the answers">'
        f"{tokens:,} tokens</span> · {escape(cost)} · {calls} call{'s' if calls != 1 else ''}{took} · {escape(model)}</div>"
    )


# Rich text -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    css: str
    title: str = ""


def _entities(text: str, platform: PlatformRules | None) -> list[_Span]:
    spans = [_Span(s, e, "bx-link" if platform is None or platform.links.clickable else "bx-link bx-dead",
                   "" if platform is None or platform.links.clickable else f"Not clickable on {platform.name}")
             for s, e in extract_urls(text)]
    spans += [_Span(t.start, t.start + len(t.written), "bx-tag" if not t.problem else "bx-tag bx-badtag", t.problem or "")
              for t in hashtags.find(text)]
    spans += [_Span(m.start(), m.end(), "bx-mention") for m in _MENTION.finditer(text)]
    kept: list[_Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if not kept or span.start >= kept[-1].end:  # a '#' inside a URL stays part of the link
            kept.append(span)
    return kept


def _markup(text: str, start: int, end: int, spans: list[_Span]) -> str:
    out, pos = [], start
    for span in spans:
        a, b = max(span.start, start), min(span.end, end)
        if a >= b:
            continue
        out.append(escape(text[pos:a]))
        title = f' title="{escape(span.title)}"' if span.title else ""
        out.append(f'<span class="{span.css}"{title}>{escape(text[a:b])}</span>')
        pos = b
    out.append(escape(text[pos:end]))
    return "".join(out)


FOLD_MARKER = "… see more"


def rich_text(text: str, platform: PlatformRules | None = None, *, fold: bool = True) -> str:
    """Escaped text with links, hashtags and mentions styled, and a visible '… see more' where the platform cuts.
    The hidden rest stays visible but dimmed, so the writer sees what readers will not."""
    spans = _entities(text, platform)
    cut = fold_position(text, platform) if (fold and platform is not None) else None
    if cut is None:
        return f'<div class="bx-text">{_markup(text, 0, len(text), spans)}</div>'
    shown, hidden = _markup(text, 0, cut, spans), _markup(text, cut, len(text), spans)
    why = _fold_words(platform)
    return (
        f'<div class="bx-text">{shown}<span class="bx-fold" data-cut="{cut}" title="{escape(why)}">{FOLD_MARKER}</span>'
        f'<span class="bx-hidden">{hidden}</span></div>'
    )


def _fold_words(platform: PlatformRules) -> str:
    fold = platform.fold
    parts = [f"{fold.lines} lines" if fold and fold.lines else "", f"{fold.chars} characters" if fold and fold.chars else ""]
    return f"{platform.name} shows the first {' or '.join(p for p in parts if p)}; the rest hides behind 'see more'."


# Previews --------------------------------------------------------------------------------------


def initials(name: str) -> str:
    words = [w for w in regex.split(r"[\s\-_]+", name) if w]
    letters = "".join(w[0] for w in words[:2]).upper()
    return letters or "?"


def _card(platform: PlatformRules, brand_name: str, kind: str, body: str, *, footer: str = "") -> str:
    color = PLATFORM_COLORS.get(platform.id, "#475569")
    return (
        f'<div class="bx-card bx-p-{escape(platform.id)}" style="--bx-accent:{color}">'
        f'<div class="bx-head"><div class="bx-avatar" aria-hidden="true">{escape(initials(brand_name))}</div>'
        f'<div class="bx-who"><div class="bx-brand">{escape(brand_name)}</div>'
        f'<div class="bx-sub">{escape(platform.name)} · {escape(KIND_LABELS.get(kind, kind))}</div></div>'
        f'<div class="bx-platform">{escape(platform.name)}</div></div>'
        f"{body}{footer}</div>"
    )


def _title(title: str | None, platform: PlatformRules) -> str:
    if platform.title is None or not title:
        return ""
    return f'<div class="bx-title">{escape(title)}</div>'


def _visual(description: str, alt: str) -> str:
    return (
        f'<div class="bx-visual"><span class="bx-visual-label">Visual</span> {escape(description)}'
        f'<div class="bx-alt">Alt text: {escape(alt)}</div></div>'
    )


def preview_html(platform: PlatformRules, brand_name: str, kind: str, content: Content | None, text: str, *, error: str | None = None) -> str:
    """How the piece will look on the platform. `text` is the publishable text as it stands now (possibly edited):
    the post, the caption (carousel, video), the posts separated by '---' lines (thread) or the tags (hashtags)."""
    if content is None:
        message = error or "Nothing came back for this platform."
        return _card(platform, brand_name, kind, f'<div class="bx-failed">Could not write this one. {escape(message)}</div>')
    if isinstance(content, Post):
        body = _title(content.title, platform) + rich_text(text, platform) + _visual(content.visual.description, content.visual.alt_text)
        return _card(platform, brand_name, kind, body)
    if isinstance(content, Carousel):
        return _card(platform, brand_name, kind, rich_text(text, platform) + slides_html(content))
    if isinstance(content, Story):
        return _card(platform, brand_name, kind, frames_html(content))
    if isinstance(content, VideoScript):
        return _card(platform, brand_name, kind, _title(content.title, platform) + beats_html(content) + '<div class="bx-caption-label">Caption</div>' + rich_text(text, platform))
    if isinstance(content, Thread):
        return _card(platform, brand_name, kind, thread_html(split_thread(text), platform))
    if isinstance(content, HashtagSet):
        return _card(platform, brand_name, kind, hashtag_chips_html(content, text))
    return _card(platform, brand_name, kind, rich_text(text, platform))


def text_card_html(platform: PlatformRules, brand_name: str, kind: str, text: str) -> str:
    """A plain text (the Check tab) as it would show on the platform."""
    if kind == "thread":
        body = thread_html(split_thread(text), platform)
    elif kind == "hashtags":
        body = hashtag_chips_html(None, text)
    else:
        body = rich_text(text, platform)
    return _card(platform, brand_name, kind, body)


def batch_summary_html(summary: BatchSummary) -> str:
    """A finished batch in a few words: counts, tokens, cost, and what failed."""
    s = summary
    status = "ok" if s.ok == s.total else ("error" if not s.ok else "warning")
    cost = f"${s.cost_usd:.4f}" if s.cost_known else "cost unknown for this model"
    head = f"{s.ok} of {s.total} ok · {s.invalid} break a rule · {s.error} failed · {s.tokens:,} tokens · {cost} · {s.seconds:.1f} s"
    rows = "".join(
        f'<li class="bx-problem bx-error"><span class="bx-where">{escape(str(f.get("brief_id", "")))} · {escape(str(f.get("platform", "")))} · '
        f'{escape(str(f.get("kind", "")))}</span><span class="bx-msg">{escape(f.get("error") or "; ".join(f.get("problems") or []) or f.get("status", ""))}</span></li>'
        for f in s.failures[:20]
    )
    warnings = "".join(f'<li class="bx-problem bx-warning"><span class="bx-msg">{escape(w)}</span></li>' for w in s.warnings)
    return f'<div class="bx-problems"><div class="bx-notice bx-{status}">{escape(head)}</div><ul>{rows}{warnings}</ul></div>'


def slides_html(carousel: Carousel) -> str:
    cards = []
    for i, slide in enumerate(carousel.slides, 1):
        body = f'<div class="bx-slide-body">{escape(slide.body)}</div>' if slide.body else ""
        cards.append(
            f'<div class="bx-slide bx-role-{escape(slide.role)}"><div class="bx-slide-top">'
            f'<span class="bx-slide-n">{i}/{len(carousel.slides)}</span><span class="bx-role">{escape(slide.role)}</span></div>'
            f'<div class="bx-slide-title">{escape(slide.title)}</div>{body}'
            f'<div class="bx-slide-visual" title="Alt text: {escape(slide.alt_text)}">{escape(slide.visual)}</div></div>'
        )
    return f'<div class="bx-slides">{"".join(cards)}</div>'


def _timeline(items: list[tuple[int, str, str]]) -> str:
    """(seconds, name, inner html) per step; shows cumulative times 0–3 s, 3–8 s…"""
    t, rows = 0, []
    total = sum(s for s, _, _ in items) or 1
    for seconds, name, inner in items:
        width = max(4.0, 100 * seconds / total)
        rows.append(
            f'<div class="bx-step"><div class="bx-time">{t}–{t + seconds} s</div>'
            f'<div class="bx-step-body"><div class="bx-step-name">{escape(name)} <span class="bx-dur">{seconds} s</span></div>{inner}'
            f'<div class="bx-bar"><span style="width:{width:.1f}%"></span></div></div></div>'
        )
        t += seconds
    return f'<div class="bx-timeline">{"".join(rows)}<div class="bx-total">Total: {t} s</div></div>'


def frames_html(story: Story) -> str:
    steps = []
    for i, f in enumerate(story.frames, 1):
        inner = f'<div class="bx-onscreen">{escape(f.on_screen_text)}</div>'
        if f.voice_over:
            inner += f'<div class="bx-line"><b>Voice-over:</b> {escape(f.voice_over)}</div>'
        inner += f'<div class="bx-line"><b>Visual:</b> {escape(f.visual)}</div>'
        if f.sticker:
            inner += f'<div class="bx-line"><b>Sticker:</b> {escape(f.sticker)}</div>'
        steps.append((f.seconds, f"Frame {i}", inner))
    return _timeline(steps)


def beats_html(script: VideoScript) -> str:
    steps = []
    for i, b in enumerate([script.hook, *script.beats]):
        inner = f'<div class="bx-onscreen">{escape(b.on_screen_text)}</div>'
        if b.line:
            inner += f'<div class="bx-line"><b>Says:</b> {escape(b.line)}</div>'
        inner += f'<div class="bx-line"><b>Shot:</b> {escape(b.shot)}</div>'
        steps.append((b.seconds, "Hook" if i == 0 else f"Beat {i}", inner))
    return _timeline(steps)


def thread_html(posts: list[str], platform: PlatformRules) -> str:
    items = []
    for i, post in enumerate(posts, 1):
        m = measure(post, platform.text)[0]
        state = "error" if m.length > m.limit else "ok"
        items.append(
            f'<div class="bx-tpost"><div class="bx-tnum">{i}</div><div class="bx-tbody">{rich_text(post, platform, fold=False)}'
            f'<div class="bx-tcount bx-{state}">{m.length:,} / {m.limit:,}</div></div></div>'
        )
    return f'<div class="bx-thread">{"".join(items)}</div>'


def hashtag_chips_html(tagset: HashtagSet | None, text: str) -> str:
    """Ranked chips with their kind; tags typed in by the user that the model did not suggest are 'yours'.
    Without a set (a text pasted on the Check tab) a chip shows only its rank."""
    known = {h.tag.casefold(): h for h in tagset.hashtags} if tagset else {}
    written = [h.tag for h in tagset.hashtags] if tagset and not text.strip() else [t.written for t in hashtags.find(text)]
    chips = []
    for i, tag in enumerate(written, 1):
        ranked = f'<span class="bx-rank">{i}</span>{escape(tag)}'
        if tagset is None:
            chips.append(f'<span class="bx-chip">{ranked}</span>')
            continue
        h = known.get(tag.casefold())
        kind, why = (h.kind, h.why) if h else ("yours", "added by you")
        chips.append(f'<span class="bx-chip bx-chip-{escape(kind)}" title="{escape(why)}">{ranked}<span class="bx-chip-kind">{escape(kind)}</span></span>')
    return f'<div class="bx-chips">{"".join(chips) or "<em>No hashtags.</em>"}</div>'


# Other panels ----------------------------------------------------------------------------------


def header_html(summary: str, hint: str, ready: bool) -> str:
    state = "ok" if ready else "error"
    return (
        f'<div class="bx-header"><div class="bx-appname">Brand Assistant</div>'
        f'<div class="bx-backend bx-{state}" id="backend-status"><span class="bx-dot"></span>{escape(summary)}'
        f'{f"<span class=bx-hint> — {escape(hint)}</span>" if hint else ""}</div></div>'
    )


def prompt_html(messages: list[dict], tokens: int, exact: bool, method: str, templates: Sequence[str] = ()) -> str:
    """The exact messages sent to the model, with the token count labelled exact or estimated."""
    if not messages:
        return '<div class="bx-empty">No prompt for this result.</div>'
    label = f"{tokens:,} tokens, exact ({escape(method)})" if exact else f"≈ {tokens:,} tokens ({escape(method or 'estimate')})"
    files = "".join(f"<li><code>{escape(t)}</code></li>" for t in templates)
    blocks = "".join(
        f'<div class="bx-msgblock"><div class="bx-role-label">{escape(m.get("role", ""))}</div><pre>{escape(m.get("content") or "")}</pre></div>'
        for m in messages
    )
    made = f'<details class="bx-files"><summary>Templates used</summary><ul>{files}</ul></details>' if files else ""
    return f'<div class="bx-prompt"><div class="bx-tokens" id="prompt-tokens">{label}</div>{made}{blocks}</div>'


def profile_problems_html(text: str, messages: Sequence[str], lines: Sequence[int | None]) -> str:
    """Validation errors of a profile, each shown with the YAML line it points at."""
    if not messages:
        return '<div class="bx-allgood">✓ This profile is valid.</div>'
    source = text.splitlines()
    items = []
    for message, line in zip(messages, lines):
        excerpt = ""
        if line and 1 <= line <= len(source):
            rows = []
            for n in range(max(1, line - 1), min(len(source), line + 1) + 1):
                mark = " bx-hit" if n == line else ""
                rows.append(f'<div class="bx-yline{mark}"><span class="bx-ln">{n}</span><code>{escape(source[n - 1]) or " "}</code></div>')
            excerpt = f'<div class="bx-excerpt">{"".join(rows)}</div>'
        where = f'<span class="bx-where">line {line}</span>' if line else ""
        items.append(f'<li class="bx-problem bx-error">{where}<span class="bx-msg">{escape(message)}</span>{excerpt}</li>')
    return f'<div class="bx-problems"><div class="bx-summary">{len(messages)} problem{"s" if len(messages) != 1 else ""} to fix</div><ul>{"".join(items)}</ul></div>'


def notice_html(message: str, status: Status = "ok") -> str:
    return f'<div class="bx-notice bx-{status}">{escape(message)}</div>'


def empty_results_html() -> str:
    return (
        '<div class="bx-empty"><div class="bx-empty-title">Your previews appear here</div>'
        "Pick a brand and platforms, write the brief, and press Generate. Each platform gets its own tab with a "
        "preview, a live counter, the problems in plain words, and the text to edit and copy.</div>"
    )


CSS = """
.bx-header{display:flex;align-items:center;gap:16px;flex-wrap:wrap;padding:4px 0 8px}
.bx-appname{font-size:22px;font-weight:700;letter-spacing:-.01em}
.bx-backend{display:flex;align-items:center;gap:8px;font-size:13px;padding:6px 12px;border-radius:999px;background:#f1f5f9;color:#0f172a}
.bx-backend .bx-dot{width:8px;height:8px;border-radius:50%;background:#16a34a;flex:none}
.bx-backend.bx-error .bx-dot{background:#dc2626}
.bx-hint{color:#475569}
.bx-card{background:#fff;color:#0f1419;border:1px solid #e2e8f0;border-top:4px solid var(--bx-accent);border-radius:14px;padding:16px 18px;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;box-shadow:0 1px 3px rgba(15,23,42,.06)}
.bx-head{display:flex;align-items:center;gap:10px;margin-bottom:12px}
.bx-avatar{width:42px;height:42px;border-radius:50%;background:var(--bx-accent);color:#fff;display:flex;align-items:center;justify-content:center;font-weight:700;font-size:15px;flex:none}
.bx-p-instagram .bx-avatar{background:linear-gradient(45deg,#feda75,#fa7e1e,#d62976,#962fbf,#4f5bd5)}
.bx-who{flex:1;min-width:0}
.bx-brand{font-weight:700}
.bx-sub{color:#64748b;font-size:13px}
.bx-platform{font-size:12px;font-weight:700;color:var(--bx-accent);border:1px solid var(--bx-accent);border-radius:999px;padding:2px 10px}
.bx-title{font-weight:700;font-size:17px;margin-bottom:6px}
.bx-text{white-space:pre-wrap;overflow-wrap:anywhere}
.bx-tag,.bx-mention{color:var(--bx-accent);font-weight:600}
.bx-p-x .bx-tag,.bx-p-x .bx-mention,.bx-p-threads .bx-tag,.bx-p-threads .bx-mention{color:#1d9bf0}
.bx-badtag{text-decoration:underline wavy #dc2626}
.bx-link{color:#1d4ed8;text-decoration:underline}
.bx-dead{color:#64748b;text-decoration:underline dotted}
.bx-fold{display:inline-block;margin:0 6px;padding:0 8px;border-radius:6px;background:#fef3c7;color:#92400e;font-weight:700;font-size:13px;white-space:nowrap}
.bx-hidden{opacity:.45}
.bx-visual{margin-top:12px;padding:10px 12px;border-radius:10px;background:#f8fafc;border:1px dashed #cbd5e1;font-size:13px;color:#334155}
.bx-visual-label,.bx-caption-label{font-weight:700;text-transform:uppercase;font-size:11px;letter-spacing:.05em;color:#64748b}
.bx-caption-label{margin:12px 0 4px}
.bx-alt{color:#64748b;margin-top:4px}
.bx-slides{display:flex;gap:10px;overflow-x:auto;padding:12px 2px 4px;scroll-snap-type:x mandatory}
.bx-slide{flex:0 0 180px;min-height:180px;scroll-snap-align:start;border-radius:12px;padding:12px;background:#f8fafc;border:1px solid #e2e8f0;display:flex;flex-direction:column;gap:6px}
.bx-role-hook{background:var(--bx-accent);color:#fff;border-color:transparent}
.bx-role-cta{background:#0f172a;color:#fff;border-color:transparent}
.bx-slide-top{display:flex;justify-content:space-between;font-size:11px;opacity:.8}
.bx-role{text-transform:uppercase;font-weight:700;letter-spacing:.05em}
.bx-slide-title{font-weight:800;font-size:16px;line-height:1.2}
.bx-slide-body{font-size:13px}
.bx-slide-visual{margin-top:auto;font-size:11px;opacity:.75;font-style:italic}
.bx-timeline{display:flex;flex-direction:column;gap:8px}
.bx-step{display:flex;gap:12px}
.bx-time{flex:0 0 72px;font-weight:700;font-variant-numeric:tabular-nums;color:var(--bx-accent);padding-top:2px}
.bx-step-body{flex:1;border-left:3px solid var(--bx-accent);padding:0 0 6px 12px}
.bx-step-name{font-weight:700;font-size:13px}
.bx-dur{color:#64748b;font-weight:400}
.bx-onscreen{font-weight:700;font-size:16px;margin:2px 0}
.bx-line{font-size:13px;color:#334155}
.bx-bar{height:4px;background:#e2e8f0;border-radius:2px;margin-top:6px}
.bx-bar span{display:block;height:4px;border-radius:2px;background:var(--bx-accent)}
.bx-total{font-weight:700;font-size:13px;color:#334155}
.bx-thread{display:flex;flex-direction:column;gap:10px}
.bx-tpost{display:flex;gap:10px}
.bx-tnum{flex:none;width:26px;height:26px;border-radius:50%;background:var(--bx-accent);color:#fff;display:flex;align-items:center;justify-content:center;font-size:12px;font-weight:700}
.bx-tbody{flex:1;border-bottom:1px solid #e2e8f0;padding-bottom:8px}
.bx-tcount{font-size:12px;text-align:right;font-variant-numeric:tabular-nums}
.bx-chips{display:flex;flex-wrap:wrap;gap:8px}
.bx-chip{display:inline-flex;align-items:center;gap:6px;padding:4px 10px;border-radius:999px;background:#f1f5f9;border:1px solid #e2e8f0;font-weight:600}
.bx-rank{font-size:11px;color:#64748b}
.bx-chip-kind{font-size:11px;font-weight:500;padding:0 6px;border-radius:999px;background:#e2e8f0;color:#334155}
.bx-chip-brand .bx-chip-kind{background:#dbeafe}.bx-chip-campaign .bx-chip-kind{background:#fce7f3}.bx-chip-niche .bx-chip-kind{background:#dcfce7}.bx-chip-yours .bx-chip-kind{background:#fef3c7}
.bx-failed{color:#991b1b;background:#fef2f2;border-radius:10px;padding:12px}
.bx-counter{display:flex;align-items:baseline;gap:10px;padding:10px 14px;border-radius:12px;border:1px solid currentColor;font-variant-numeric:tabular-nums}
.bx-count{font-size:26px;font-weight:800;letter-spacing:-.02em;white-space:nowrap}
.bx-count-note{font-size:12px;opacity:.85}
.bx-counter.bx-ok,.bx-tcount.bx-ok{color:rgb(21,128,61)}
.bx-counter.bx-ok{background:#f0fdf4}
.bx-counter.bx-warning{color:rgb(180,83,9);background:#fffbeb}
.bx-counter.bx-error,.bx-tcount.bx-error{color:rgb(220,38,38)}
.bx-counter.bx-error{background:#fef2f2}
.bx-problems ul{list-style:none;margin:6px 0 0;padding:0;display:flex;flex-direction:column;gap:6px}
.bx-summary{font-weight:700;font-size:13px}
.bx-allgood{color:rgb(21,128,61);font-weight:600;font-size:14px}
.bx-problem{display:flex;flex-wrap:wrap;gap:6px;align-items:baseline;padding:8px 10px;border-radius:10px;font-size:14px;border-left:4px solid}
.bx-problem.bx-error{background:#fef2f2;border-color:#dc2626;color:#7f1d1d}
.bx-problem.bx-warning{background:#fffbeb;border-color:#d97706;color:#78350f}
.bx-problem.bx-fixed{background:#f0f9ff;border-color:#0284c7;color:#0c4a6e}
.bx-sev{font-weight:700;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.bx-where{font-size:12px;padding:0 6px;border-radius:6px;background:rgba(0,0,0,.06)}
.bx-msg{flex:1 1 100%}
.bx-excerpt{flex:1 1 100%;font-size:12px;background:#fff;border-radius:6px;border:1px solid #fecaca;overflow-x:auto}
.bx-yline{display:flex;gap:10px;padding:1px 8px;white-space:pre}
.bx-yline.bx-hit{background:#fee2e2;font-weight:700}
.bx-ln{color:#94a3b8;min-width:28px;text-align:right}
.bx-usage{font-size:13px;color:#475569}
.bx-prompt pre{white-space:pre-wrap;font-size:12.5px;line-height:1.45;margin:0;padding:10px 12px;background:#f8fafc;border:1px solid #e2e8f0;border-radius:10px;color:#0f172a}
.bx-msgblock{margin-top:10px}
.bx-role-label{font-weight:700;font-size:12px;text-transform:uppercase;letter-spacing:.05em;color:#64748b;margin-bottom:4px}
.bx-tokens{font-weight:700;font-size:15px}
.bx-empty{padding:36px 24px;text-align:center;color:#64748b;border:2px dashed #e2e8f0;border-radius:14px}
.bx-empty-title{font-size:18px;font-weight:700;color:#334155;margin-bottom:6px}
.bx-notice{padding:8px 12px;border-radius:10px;font-size:14px}
.bx-notice.bx-ok{background:#f0fdf4;color:#14532d}.bx-notice.bx-warning{background:#fffbeb;color:#78350f}.bx-notice.bx-error{background:#fef2f2;color:#7f1d1d}
"""
