"""The web app: HTML previews and session logic as plain functions, then the running app driven with gradio_client
against the loopback OpenAI server (nothing leaves the machine)."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import shutil
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pytest

from assistant import Assistant, export, preview, workspace
from assistant.catalog import Catalog
from assistant.content import Carousel, HashtagSet, Post, Story, Thread, VideoScript
from assistant.errors import InputError
from assistant.generate import publish_date
from assistant.validation import Violation, fold_position
from conftest import ROOT, _loopback_only
from fake_content import content, responder

sys.path.insert(0, str(ROOT))
import ui  # noqa: E402

# Gradio's own queue code trips pandas deprecation warnings; they are not ours to fix.
pytestmark = [pytest.mark.filterwarnings("ignore:.*no_silent_downcasting.*"), pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]

CATALOG = Catalog()
X, LINKEDIN, INSTAGRAM = CATALOG.platform("x"), CATALOG.platform("linkedin"), CATALOG.platform("instagram")
VALID_PROFILE = (ROOT / "brand_profiles" / "tidewell-coffee.yaml").read_text("utf-8")


def plain(fragment: str) -> str:
    """The text a reader sees in an HTML fragment."""
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


# Previews ------------------------------------------------------------------------------------------


def test_fold_marker_sits_where_the_platform_cuts():
    text = "Our pods arrive March 1 and they compost in industrial facilities. " * 4
    cut = fold_position(text, LINKEDIN)
    assert cut is not None and cut < len(text)
    out = preview.rich_text(text, LINKEDIN)
    shown, marker, rest = out.partition(preview.FOLD_MARKER)
    assert marker and 'class="bx-fold"' in shown
    assert plain(shown) == text[:cut]
    assert plain(rest) == text[cut:]
    assert 'class="bx-hidden"' in rest  # what readers will not see stays visible, dimmed, for the writer


def test_fold_by_lines_and_no_fold_when_it_all_shows():
    four_lines = "One\nTwo\nThree\nFour"
    out = preview.rich_text(four_lines, LINKEDIN)  # LinkedIn shows 3 lines
    assert plain(out.partition(preview.FOLD_MARKER)[0]) == "One\nTwo\nThree"
    assert preview.FOLD_MARKER not in preview.rich_text("Short and sweet.", LINKEDIN)
    assert preview.FOLD_MARKER not in preview.rich_text("No fold on X. " * 15, X)  # X has no fold


def test_hashtags_mentions_and_links_are_styled():
    out = preview.rich_text("Ask @tidewell about #Compost pods: https://tidewell.com/pods#buy", X)
    assert '<span class="bx-tag">#Compost</span>' in out
    assert '<span class="bx-mention">@tidewell</span>' in out
    assert '<span class="bx-link">https://tidewell.com/pods#buy</span>' in out  # the '#buy' stays part of the link
    dead = preview.rich_text("Shop https://tidewell.com", INSTAGRAM)
    assert "bx-dead" in dead and "Not clickable on Instagram" in dead


EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _pieces():
    post = Post.model_validate(content("post", text=EVIL))
    post = post.model_copy(update={"title": EVIL, "visual": post.visual.model_copy(update={"description": EVIL, "alt_text": EVIL})})
    carousel = Carousel.model_validate(content("carousel"))
    carousel = carousel.model_copy(update={"slides": [s.model_copy(update={"title": EVIL, "body": EVIL, "visual": EVIL, "alt_text": EVIL}) for s in carousel.slides]})
    story = Story.model_validate(content("story"))
    story = story.model_copy(update={"frames": [f.model_copy(update={"on_screen_text": EVIL, "voice_over": EVIL, "sticker": EVIL}) for f in story.frames]})
    video = VideoScript.model_validate(content("video_script"))
    video = video.model_copy(update={"title": EVIL, "hook": video.hook.model_copy(update={"line": EVIL, "shot": EVIL})})
    tags = HashtagSet.model_validate({"hashtags": [{"tag": "#Pods", "kind": "niche", "why": EVIL}]})
    return [("post", post, EVIL), ("carousel", carousel, EVIL), ("story", story, ""), ("video_script", video, EVIL),
            ("thread", Thread.model_validate(content("thread")), f"{EVIL}\n---\n{EVIL}"), ("hashtags", tags, "#Pods")]


@pytest.mark.parametrize("kind,piece,text", _pieces(), ids=lambda v: v if isinstance(v, str) and len(v) < 20 else "")
def test_user_and_model_text_is_escaped_everywhere(kind, piece, text):
    platform = CATALOG.platform("youtube_shorts") if kind == "video_script" else INSTAGRAM if kind in ("carousel", "story") else X
    out = preview.preview_html(platform, EVIL, kind, piece, text)
    assert "<script" not in out and "<img" not in out
    assert "&lt;script&gt;" in out


def test_panels_escape_too():
    v = Violation("banned_phrase", "error", EVIL, where=EVIL)
    for out in (
        preview.violations_html([v], fixes=[EVIL]),
        preview.prompt_html([{"role": "user", "content": EVIL}], 12, True, "o200k_base", [EVIL]),
        preview.profile_problems_html(f"name: {EVIL}\n", [EVIL], [1]),
        preview.header_html(EVIL, EVIL, True),
        preview.text_card_html(X, EVIL, "post", EVIL),
        preview.batch_summary_html(SimpleNamespace(total=1, ok=0, invalid=0, error=1, tokens=0, cost_usd=0.0, cost_known=True, seconds=0.1,
                                                   failures=[{"brief_id": EVIL, "error": EVIL}], warnings=[EVIL])),
        preview.notice_html(EVIL),
    ):
        assert "<script" not in out and "<img" not in out, out


@pytest.mark.parametrize("violations,length,limit,status", [
    ([], 243, 280, "ok"),
    ([Violation("fold", "warning", "behind the fold")], 243, 280, "warning"),
    ([Violation("length", "error", "X allows 280; this has 281. Cut 1.")], 281, 280, "error"),
    ([Violation("banned_phrase", "error", "banned")], 20, 280, "error"),
    ([Violation("fold", "warning", "w"), Violation("length", "error", "e")], 300, 280, "error"),
    ([Violation("hashtag_count", "warning", "4 hashtags; 3 or fewer work best")], 4, 3, "warning"),  # only a recommended count
])
def test_counter_colour_follows_the_verdict(violations, length, limit, status):
    assert preview.status_of(violations) == status  # the validator decides; the counter only shows it
    out = preview.counter_html(length, limit, status, counting_method="twitter_v3", unit="weighted characters")
    assert f'class="bx-counter bx-{status}"' in out and f'data-status="{status}"' in out
    assert f"{length} / {limit}" in plain(out)
    assert f".bx-counter.bx-{status}" in preview.CSS


def test_too_many_hashtags_on_the_check_tab_is_advice_not_an_error():
    view = workspace.check_view(Assistant(), "#Coffee #Pods #Compost #Portland", "linkedin", None, "hashtags", False)
    assert "4 / 3" in plain(view.counter) and 'data-status="warning"' in view.counter
    assert "over the recommended number" in plain(view.counter) and "over the limit" not in plain(view.counter)
    assert "1 worth a look" in plain(view.problems) and "to fix" not in plain(view.problems)
    assert plain(view.preview).count("#") == 4  # the chips, ranked


def test_carousel_slides_are_a_row_of_numbered_cards():
    carousel = Carousel.model_validate(content("carousel"))
    out = preview.preview_html(INSTAGRAM, "Tidewell Coffee", "carousel", carousel, carousel.render(INSTAGRAM))
    assert out.count('class="bx-slide ') == len(carousel.slides) == 5
    assert "1/5" in out and "5/5" in out
    assert "bx-role-hook" in out and "bx-role-cta" in out
    assert ".bx-slides{display:flex" in preview.CSS  # a row, scrolled sideways
    assert "Tidewell Coffee" in out and ">TC<" in out  # brand name and avatar initials


def test_story_frames_and_video_beats_are_timelines_with_seconds():
    story = Story.model_validate(content("story"))  # three frames of 5 s
    out = plain(preview.preview_html(INSTAGRAM, "Tidewell", "story", story, ""))
    assert "0–5 s" in out and "5–10 s" in out and "10–15 s" in out and "Total: 15 s" in out
    video = VideoScript.model_validate(content("video_script"))  # hook 3 s, then three beats of 5 s
    out = plain(preview.preview_html(CATALOG.platform("youtube_shorts"), "Tidewell", "video_script", video, video.render(X)))
    assert "0–3 s" in out and "3–8 s" in out and "8–13 s" in out and "13–18 s" in out and "Total: 18 s" in out
    assert "Hook" in out and "Beat 3" in out
    assert video.title in out  # YouTube Shorts has a title field


def test_thread_posts_are_numbered_with_their_own_counts():
    out = preview.preview_html(X, "Tidewell", "thread", Thread.model_validate(content("thread")), "First post\n---\nSecond post\n---\n" + "x" * 300)
    assert out.count('class="bx-tpost"') == 3
    assert "10 / 280" in plain(out) and "300 / 280" in plain(out)
    assert "bx-tcount bx-error" in out


def test_hashtag_set_is_ranked_chips_with_their_kind():
    tags = HashtagSet.model_validate({"hashtags": [
        {"tag": "#Tidewell", "kind": "brand", "why": "ours"}, {"tag": "#CompostablePods", "kind": "campaign", "why": "launch"}]})
    out = preview.preview_html(INSTAGRAM, "Tidewell", "hashtags", tags, "#Tidewell #CompostablePods #Mine")
    chips = re.findall(r'<span class="bx-chip bx-chip-(\w+)"[^>]*><span class="bx-rank">(\d)</span>([^<]+)', out)
    assert chips == [("brand", "1", "#Tidewell"), ("campaign", "2", "#CompostablePods"), ("yours", "3", "#Mine")]


def test_failed_result_preview_says_so():
    out = preview.preview_html(X, "Tidewell", "post", None, "", error="Cannot reach the model.")
    assert "Could not write this one" in out and "Cannot reach the model." in out


def test_violations_in_plain_words():
    out = preview.violations_html([Violation("fold", "warning", "Keep the hook above the fold."),
                                   Violation("length", "error", "X allows 280; this has 300. Cut 20.")])
    assert plain(out).index("Must fix") < plain(out).index("Worth a look")  # errors first
    assert "1 to fix · 1 worth a look" in plain(out)
    assert "Ready to publish" in plain(preview.violations_html([]))


# Workspace -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name,slug", [
    ("Tidewell Coffee EU", "tidewell-coffee-eu"), ("Café Crème", "cafe-creme"), ("../../etc/passwd", "etc-passwd"),
    ("a/b", "a-b"), ("..", ""), ("  ", ""), ("Ünïcödé — Brand!", "unicode-brand"), ("C:\\Windows\\x", "c-windows-x"),
])
def test_slugify(name, slug):
    assert workspace.slugify(name) == slug


@pytest.fixture
def brands_dir(tmp_path):
    folder = tmp_path / "brands"
    shutil.copytree(ROOT / "brand_profiles", folder)
    return folder


@pytest.mark.parametrize("name,file", [
    ("../../etc/passwd", "etc-passwd.yaml"), ("a/b", "a-b.yaml"), ("Café Crème", "cafe-creme.yaml"), ("/tmp/evil", "tmp-evil.yaml"),
])
def test_save_as_new_never_leaves_the_brands_folder(brands_dir, name, file):
    before = set(brands_dir.parent.rglob("*"))
    result = workspace.save_new_profile(Catalog(brands_dir), name, VALID_PROFILE)
    assert result.ok and result.saved == (brands_dir / file).resolve()
    assert set(brands_dir.parent.rglob("*")) - before == {brands_dir / file}
    assert (brands_dir / file).read_text("utf-8") == VALID_PROFILE


@pytest.mark.parametrize("name", ["", "..", "   ", "///", "…"])
def test_save_as_new_refuses_names_without_letters(brands_dir, name):
    with pytest.raises(InputError, match="name with letters or digits"):
        workspace.save_new_profile(Catalog(brands_dir), name, VALID_PROFILE)


def test_save_as_new_refuses_to_overwrite(brands_dir):
    with pytest.raises(InputError, match="already exists"):
        workspace.save_new_profile(Catalog(brands_dir), "Tidewell Coffee", VALID_PROFILE)
    assert (brands_dir / "tidewell-coffee.yaml").read_text("utf-8") == VALID_PROFILE


def test_invalid_profile_is_not_saved_and_errors_name_their_line(brands_dir):
    broken = VALID_PROFILE.replace("language: en-US", "language: english").replace("voice:", "voise:", 1)
    result = workspace.save_new_profile(Catalog(brands_dir), "broken", broken)
    assert not result.ok and result.saved is None and not (brands_dir / "broken.yaml").exists()
    language_line = broken.splitlines().index("language: english") + 1
    assert language_line in result.lines
    assert any("Did you mean 'voice'" in m for m in result.messages)
    syntax = workspace.check_profile("name: ok\nvoice: [unclosed\n", "x.yaml")
    assert not syntax.ok and len(syntax.lines) == 1 and syntax.lines[0] >= 2
    assert "YAML syntax error" in syntax.messages[0] and "→" in syntax.messages[0]  # the loader's hint comes along
    out = preview.profile_problems_html(broken, result.messages, result.lines)
    assert f'<span class="bx-ln">{language_line}</span><code>language: english</code>' in out


def test_save_overwrites_an_existing_profile_only_when_valid(brands_dir):
    catalog = Catalog(brands_dir)
    edited = VALID_PROFILE.replace("language: en-US", "language: en-GB")
    assert workspace.save_profile(catalog, "tidewell-coffee", edited).ok
    assert "language: en-GB" in (brands_dir / "tidewell-coffee.yaml").read_text("utf-8")
    assert not workspace.save_profile(catalog, "tidewell-coffee", "name: [").ok
    assert "language: en-GB" in (brands_dir / "tidewell-coffee.yaml").read_text("utf-8")
    for bad in ("../tidewell-coffee", "nope", str(brands_dir / "tidewell-coffee.yaml")):
        with pytest.raises(InputError, match="Save as new"):
            workspace.save_profile(catalog, bad, edited)


def test_save_over_a_profile_whose_file_name_is_not_a_slug(brands_dir):
    (brands_dir / "Tidewell_EU.yaml").write_text(VALID_PROFILE, "utf-8")
    catalog = Catalog(brands_dir)
    assert catalog.brand("Tidewell_EU").language == "en-US"
    edited = VALID_PROFILE.replace("language: en-US", "language: en-GB")
    result = workspace.save_profile(catalog, "Tidewell_EU", edited)
    assert result.ok and result.saved == (brands_dir / "Tidewell_EU.yaml").resolve()
    assert catalog.brand("Tidewell_EU").language == "en-GB"  # the catalog forgot the old profile
    # A file of the folder that leads elsewhere is still not written through.
    outside = brands_dir.parent / "outside.yaml"
    outside.write_text(VALID_PROFILE, "utf-8")
    (brands_dir / "linked.yaml").symlink_to(outside)
    with pytest.raises(InputError, match="directly inside the brand profiles folder"):
        workspace.save_profile(catalog, "linked", edited)
    assert outside.read_text("utf-8") == VALID_PROFILE


def test_an_unreadable_profile_does_not_stop_the_app(brands_dir):
    (brands_dir / "a-latin1.yaml").write_bytes("name: Café\n".encode("latin-1"))  # listed first
    with pytest.raises(InputError, match="not UTF-8"):
        workspace.profile_text(Assistant(brands_dir=brands_dir), "a-latin1")
    blocks = ui.build_app(Assistant(brands_dir=brands_dir))
    shown = next(b for b in blocks.blocks.values() if getattr(b, "elem_id", None) == "profile-problems").value
    assert "a-latin1.yaml, line 1: this brand profile is not UTF-8" in plain(shown) and "Save it as UTF-8" in plain(shown)


@pytest.mark.parametrize("changes,message", [
    ({"brief": "  "}, "The brief is empty"),
    ({"platforms": []}, "at least one platform"),
    ({"brand": None}, "Choose a brand"),
    ({"brand": "nope"}, "Unknown brand 'nope'"),
    ({"brand": str(ROOT / "brand_profiles" / "tidewell-coffee.yaml")}, "Unknown brand"),  # a path is not a brand of the folder
    ({"link": "tidewell.com/pods"}, "not a web address"),
    ({"date": "March 1"}, "not a date"),
    ({"language": "English"}, "not a BCP-47 tag"),
    ({"variants": "many"}, "whole number"),
    ({"variants": 11}, "between 1 and 10"),
])
def test_form_mistakes_are_plain_words(changes, message):
    a = Assistant()
    form = {"brand": "tidewell-coffee", "platforms": ["x"], "kind": "post", "brief": "Announce pods", **changes}
    with pytest.raises(InputError, match=message):
        workspace.Request.from_form(a, **form).jobs(a)  # the form's own mistakes first, then the API's checks


def test_form_values_as_typed():
    request = workspace.Request.from_form(Assistant(), "tidewell-coffee", ["x", "x"], "post", " Pods ", link=" ", date="2027-03-01T09:30")
    assert (request.platforms, request.brief, request.link, request.date) == (("x",), "Pods", None, "2027-03-01 09:30")
    assert publish_date("2027-03-01T09:30") == "2027-03-01 09:30"


@pytest.fixture
def server(server):
    server.responder = responder
    return server


def test_session_edits_are_rechecked_and_exported(server, tmp_path):
    a = Assistant()
    request = workspace.Request.from_form(a, "tidewell-coffee", ["linkedin", "instagram"], "carousel", "Announce pods", date="2027-03-01")
    s = workspace.Session.start(a, request)
    for result in workspace.iter_results(a, request.jobs(a)):
        s.add(a, result)
    assert {e.platform for e in s.ordered()} == {"linkedin", "instagram"}
    li = s.entry("linkedin")
    assert li.check is None and li.length == li.result.length  # the pipeline's verdict stands until the first edit
    assert li.status in ("ok", "warning") and not li.edited
    assert li.record(request) == export.result_record(li.result, job_id="linkedin-carousel-1", brief_id="web", date="2027-03-01")
    # A slide problem is not about the caption: it must survive an edit of the caption.
    li.result.violations.append(Violation("slide_order", "warning", "The last slide should carry the call to action.", "slide 5"))
    s.edit(a, "linkedin", li.text + "\n\n" + "More words. " * 260)
    assert li.edited and li.status == "error" and li.length > 3000
    assert {v.where for v in li.violations} == {"caption", "slide 5"}
    assert any(v.rule == "length" and v.where == "caption" for v in li.violations)
    records = [json.loads(line) for line in workspace.export_session(s, "jsonl", tmp_path).read_text("utf-8").splitlines()]
    assert [r["platform"] for r in records] == ["linkedin", "instagram"]  # in the order asked for
    assert records[0]["edited"] is True and records[0]["status"] == "invalid" and records[0]["text"] == li.text
    assert li.text in records[0]["markdown"] and "Slide 1" in records[0]["markdown"]
    assert records[0]["date"] == "2027-03-01" and "edited" not in records[1]
    calendar = list(csv.DictReader(io.StringIO(workspace.export_session(s, "csv", tmp_path).read_text("utf-8"))))
    assert [row["platform"] for row in calendar] == ["instagram"]  # the broken one is not scheduled
    assert calendar[0]["date"] == "2027-03-01"
    md = workspace.export_session(s, "markdown", tmp_path).read_text("utf-8")
    assert md.startswith("# Tidewell Coffee · Carousel") and "## linkedin · carousel · ⚠️ breaks a hard rule" in md
    s.edit(a, "linkedin", li.result.text)  # back to the original: the original verdict again
    assert not li.edited and li.violations == li.result.violations
    with pytest.raises(InputError, match="Nothing to export"):
        workspace.export_session(workspace.Session(), "jsonl", tmp_path)


def test_story_is_shown_but_not_edited(server):
    a = Assistant()
    request = workspace.Request.from_form(a, "tidewell-coffee", ["instagram"], "story", "Announce pods")
    s = workspace.Session.start(a, request)
    (result,) = a.run_jobs(request.jobs(a))
    entry = s.add(a, result)
    assert not entry.editable and entry.check is None
    assert s.edit(a, "instagram", "anything") is entry and not entry.edited
    view = workspace.entry_view(entry, INSTAGRAM, s.brand_name)
    assert "3 / 10 frames" in plain(view.counter) and "15 s in all" in plain(view.counter)


def test_thread_edits_keep_the_thread_rules(server):
    """An edit is re-checked as a whole thread: a repeated post or a single post is still an error."""
    server.responder = lambda body: json.dumps({"posts": ["Our pods arrive March 1.", "Our pods arrive March 1.", "See you then."], "hashtags": []})
    a = Assistant(max_repairs=0)
    request = workspace.Request.from_form(a, "tidewell-coffee", ["x"], "thread", "Announce pods")
    s = workspace.Session.start(a, request)
    (result,) = a.run_jobs(request.jobs(a))
    entry = s.add(a, result)
    assert "duplicate_post" in {v.rule for v in entry.violations} and entry.status == "error"
    s.edit(a, "x", entry.text + " ")
    assert entry.edited and "duplicate_post" in {v.rule for v in entry.violations} and entry.status == "error"
    s.edit(a, "x", "Our pods arrive March 1.")
    assert "A thread needs at least 2 posts." in [v.message for v in entry.violations] and entry.status == "error"
    assert entry.record(request)["status"] == "invalid"


def test_regenerate_keeps_the_old_pieces_until_the_new_ones_are_in(server, monkeypatch):
    from assistant.errors import BackendUnavailableError

    a = Assistant()
    request = workspace.Request.from_form(a, "tidewell-coffee", ["x", "linkedin"], "post", "Announce pods", variants=2)
    s = workspace.Session.start(a, request)
    for result in workspace.iter_results(a, request.jobs(a)):
        s.add(a, result)
    old = {v: s.entry("linkedin", v) for v in (1, 2)}
    run_jobs = a.run_jobs

    def fails_half_way(jobs, *, on_result=None, **options):
        run_jobs(jobs[:1], on_result=on_result)
        raise BackendUnavailableError("The model went away.")

    monkeypatch.setattr(a, "run_jobs", fails_half_way)
    with pytest.raises(BackendUnavailableError):
        s.regenerate(a, "linkedin")
    assert {v: s.entry("linkedin", v) for v in (1, 2)} == old  # nothing lost
    monkeypatch.setattr(a, "run_jobs", run_jobs)
    seen = []
    fresh = s.regenerate(a, "linkedin", on_progress=lambda done, total: seen.append((done, total)))
    assert [e.result.variant for e in fresh] == [1, 2] and s.entry("linkedin") is fresh[0] is not old[1]
    assert seen == [(0, 2), (1, 2), (2, 2)] and s.variants("x") == [1, 2]
    with pytest.raises(InputError, match="Press Generate first"):
        workspace.Session().regenerate(a, "x")


def test_header_names_the_backend(server):
    header = workspace.backend_header(Assistant())
    assert header["ready"] and header["summary"] == f"Running on test-model at {server.url}" and header["model"] == "test-model"


def test_header_for_the_bundled_model_with_no_configuration():
    pytest.importorskip("llama_cpp", reason="the bundled model needs llama-cpp-python: pip install -e '.[local]'")
    header = workspace.backend_header(Assistant())  # no OPENAI_* set: the bundled model, not loaded until used
    assert header["ready"] and header["summary"] == "Running on the bundled SmolLM2-135M, offline"
    assert "OPENAI_API_KEY" in header["hint"] and header["reason"] == "neither OPENAI_API_KEY nor OPENAI_BASE_URL is set"
    assert "SmolLM2-135M" in plain(preview.header_html(header["summary"], header["hint"], header["ready"]))


def test_header_survives_a_backend_that_cannot_run(monkeypatch):
    header = workspace.backend_header(Assistant(backend="openai"))  # no OPENAI_API_KEY
    assert not header["ready"] and "OPENAI_API_KEY" in header["summary"]


# Command line -------------------------------------------------------------------------------------


def test_binds_to_loopback_by_default_and_reads_gradio_variables():
    opts = ui.server_options(ui.parse_args([]), env={})
    assert opts == {"server_name": "127.0.0.1", "server_port": 7860, "share": False, "auth": None}
    env = {"GRADIO_SERVER_NAME": "0.0.0.0", "GRADIO_SERVER_PORT": "8080"}
    assert ui.server_options(ui.parse_args([]), env=env)["server_name"] == "0.0.0.0"
    assert ui.server_options(ui.parse_args([]), env=env)["server_port"] == 8080
    flags = ui.server_options(ui.parse_args(["--host", "127.0.0.2", "--port", "9000"]), env=env)
    assert (flags["server_name"], flags["server_port"]) == ("127.0.0.2", 9000)
    with pytest.raises(InputError, match="not a port"):
        ui.server_options(ui.parse_args([]), env={"GRADIO_SERVER_PORT": "http"})


def test_share_needs_a_login():
    with pytest.raises(InputError, match="needs a login") as info:
        ui.server_options(ui.parse_args(["--share"]), env={"ASSISTANT_UI_USER": "ana"})
    assert "ASSISTANT_UI_PASSWORD" in info.value.hint
    opts = ui.server_options(ui.parse_args(["--share"]), env={"ASSISTANT_UI_USER": "ana", "ASSISTANT_UI_PASSWORD": "s3cret"})
    assert opts["share"] is True and opts["auth"] == ("ana", "s3cret")


def test_python_ui_py_serves_on_loopback(server):
    """The README's command, as a real process: it answers on 127.0.0.1 and says which model runs."""
    import os
    import socket
    import subprocess
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRADIO_", "ASSISTANT_"))}
    env.update(GRADIO_SERVER_PORT=str(port), OPENAI_BASE_URL=server.url, OPENAI_API_KEY="sk-test-ui-0123456789",
               ASSISTANT_MODEL="test-model", HF_HUB_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1")
    proc = subprocess.Popen([sys.executable, "ui.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        if not first:
            pytest.fail(f"python ui.py stopped: {proc.stderr.read()}")
        assert first.strip() == f"Brand Assistant is running at http://127.0.0.1:{port}/"
        assert proc.stdout.readline().startswith(f"Running on test-model at {server.url}")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as page:
            assert page.status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_main_refuses_share_without_login_before_starting(capsys):
    assert ui.main(["--share"]) == 2
    assert "needs a login" in capsys.readouterr().err


def test_main_reports_a_missing_brands_folder(capsys, tmp_path):
    assert ui.main(["--brands-dir", str(tmp_path / "nope")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_main_reports_a_busy_port(capsys):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert ui.main(["--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"Cannot listen on 127.0.0.1:{port}" in err and f"--port {port + 1}" in err and "Traceback" not in err


# The running app, driven with gradio_client ---------------------------------------------------------


@pytest.fixture(scope="module")
def app(_openai_server, tmp_path_factory):
    """The app in-process on a free loopback port, its Assistant pointed at the loopback OpenAI server."""
    brands = tmp_path_factory.mktemp("ui") / "brands"
    shutil.copytree(ROOT / "brand_profiles", brands)
    (brands / "Tidewell_EU.yaml").write_text(VALID_PROFILE, "utf-8")  # a file name that is not a slug
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("socket.socket.connect", _loopback_only)
        mp.setenv("OPENAI_BASE_URL", _openai_server.url)
        mp.setenv("OPENAI_API_KEY", "sk-test-ui-0123456789")
        mp.setenv("ASSISTANT_MODEL", "test-model")
        assistant = Assistant(brands_dir=brands)
        assert assistant.backend.kind == "compatible"  # chosen now, while the environment says so
        blocks = ui.build_app(assistant)
        _, url, _ = blocks.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=None, quiet=True)
    yield url, brands, blocks
    blocks.close()


def handler(blocks, api_name: str):
    """The function behind an endpoint, to call directly and see the updates it returns."""
    return next(f.fn for f in blocks.fns.values() if f.api_name == api_name)


@pytest.fixture
def client(app, server, monkeypatch):
    import huggingface_hub.constants
    from gradio_client import Client

    # gradio_client builds Hugging Face headers and telemetry: neither may even look up a name outside.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_TELEMETRY", True)
    return Client(app[0], verbose=False, analytics_enabled=False, download_files=str(Path(app[1]).parent / "downloads"))


def test_generate_endpoint_for_two_platforms(client, server):
    records = client.predict("tidewell-coffee", ["x", "linkedin"], "post", "Announce our pods", api_name="/generate")
    assert [r["platform"] for r in records] == ["x", "linkedin"]
    for r in records:
        assert r["status"] == "ok" and r["brand"] == "tidewell-coffee" and r["kind"] == "post"
        assert r["text"] and r["length"] <= r["limit"] and r["usage"]["total_tokens"] > 0
    assert records[0]["limit"] == 280 and records[1]["limit"] == 3000
    assert len([q for q in server.requests if q.path.endswith("/chat/completions")]) == 2


def test_generate_endpoint_signature(client):
    info = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/generate"]
    names = [p["parameter_name"] for p in info["parameters"]]
    assert names[:4] == ["brand", "platforms", "kind", "brief"]
    assert all(p["parameter_has_default"] for p in info["parameters"][4:])
    sponsored = client.predict("tidewell-coffee", ["instagram"], "post", "Announce our pods", sponsored=True, variants=2, api_name="/generate")
    assert [(r["platform"], r["variant"]) for r in sponsored] == [("instagram", 1), ("instagram", 2)]
    assert all(r["text"].lstrip().startswith(("#ad", "Sponsored", "Paid partnership")) for r in sponsored)


@pytest.mark.parametrize("args,message", [
    (("tidewell-coffee", ["x"], "post", "   "), "The brief is empty"),
    (("tidewell-coffee", [], "post", "Pods"), "Choose at least one platform"),
    (("nope", ["x"], "post", "Pods"), "Unknown brand 'nope'"),
    (("tidewell-coffee", ["x"], "story", "Pods"), "X has no 'story' format"),
    (("tidewell-coffee", ["myspace"], "post", "Pods"), "Unknown platform 'myspace'"),
])
def test_user_errors_are_plain_words_without_traceback(client, args, message):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as info:
        client.predict(*args, api_name="/generate")
    text = str(info.value)
    assert message in text and "Traceback" not in text and 'File "' not in text


def test_check_endpoint(client):
    counter, problems, card = client.predict("Compostable pods, on sale March 1 #SmallBatch", "x", "", "post", False, api_name="/check")
    assert "45 / 280" in plain(counter) and "bx-ok" in counter
    assert "Ready to publish" in plain(problems) and "bx-tag" in card
    counter, problems, _ = client.predict("Pods! " * 60, "x", "tidewell-coffee", "post", True, api_name="/check")
    assert "360 / 280" in plain(counter) and "bx-error" in counter
    assert "Cut 80" in plain(problems) and "disclosure" in plain(problems).lower()
    counter, _, _ = client.predict("One\n---\nTwo", "x", "", "thread", False, api_name="/check")
    assert "3 / 280" in plain(counter)
    counter, problems, card = client.predict("", "x", "", "post", False, api_name="/check")
    assert "Paste a text" in plain(counter) and problems == "" and card == ""


def test_check_endpoint_without_a_platform(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="Choose a platform") as info:
        client.predict("Pods on sale March 1", None, "", "post", False, api_name="/check")  # "" is refused by the dropdown itself
    assert "Traceback" not in str(info.value)
    with pytest.raises(InputError, match="Choose a platform"):
        workspace.check_view(Assistant(), "Pods on sale March 1", "", None, "post", False)


def test_endpoints_load_profiles_only_from_the_brands_folder(client, server, tmp_path):
    from gradio_client.exceptions import AppError

    elsewhere = tmp_path / "elsewhere.yaml"
    elsewhere.write_text(VALID_PROFILE, "utf-8")
    with pytest.raises(AppError, match="Unknown brand"):
        client.predict(str(elsewhere), ["x"], "post", "Announce our pods", api_name="/generate")
    assert not [q for q in server.requests if q.path.endswith("/chat/completions")]  # refused before any model call
    with pytest.raises(AppError):  # the Check tab's brand dropdown refuses it already; check_view would too
        client.predict("Pods on sale March 1", "x", str(elsewhere), "post", False, api_name="/check")
    with pytest.raises(InputError, match="Unknown brand"):
        workspace.check_view(Assistant(), "Pods on sale March 1", "x", str(elsewhere), "post", False)


def test_editor_updates_from_the_app_are_not_checked_again(app, server):
    a = Assistant()
    request = workspace.Request.from_form(a, "tidewell-coffee", ["x"], "post", "Announce pods")
    s = workspace.Session.start(a, request)
    entry = s.add(a, a.run_jobs(request.jobs(a))[0])
    on_edit = handler(app[2], "edit_x")
    assert on_edit(s, entry.text) == gr.skip() and entry.check is None  # the text the app itself put there
    out = on_edit(s, entry.text + " Today.")
    assert entry.edited and entry.check is not None
    assert any("Today." in plain(v) for v in out.values() if isinstance(v, str))  # the preview follows the edit


def test_generate_edit_and_export_in_one_session(client, server):
    out = client.predict("tidewell-coffee", ["x", "linkedin"], "post", "Announce our pods", "", 1, "", False, "2027-03-01", api_name="/generate_ui")
    prompt = out[-1]  # the Prompt tab: the exact messages of the first result, with their token count
    assert 'id="prompt-tokens"' in prompt and "tokens" in plain(prompt) and "Tidewell Coffee" in plain(prompt)
    assert plain(prompt).count("system") >= 1 and "Announce our pods" in plain(prompt)
    page, counter, problems, status = client.predict("Too long. " * 40, api_name="/edit_x")
    assert "1 breaks a rule" in plain(status)
    assert "bx-error" in counter and "400 / 280" in plain(counter) and "Cut 120" in plain(problems)
    assert "Too long." in plain(page)
    records = [json.loads(line) for line in Path(client.predict(api_name="/export_jsonl")["value"]).read_text("utf-8").splitlines()]
    by_platform = {r["platform"]: r for r in records}
    assert by_platform["x"]["text"] == "Too long. " * 40 and by_platform["x"]["edited"] is True and by_platform["x"]["status"] == "invalid"
    assert by_platform["linkedin"]["status"] == "ok" and by_platform["linkedin"]["date"] == "2027-03-01"
    md = Path(client.predict(api_name="/export_markdown")["value"]).read_text("utf-8")
    assert "## x · post · ⚠️ breaks a hard rule · 400 / 280" in md and "## linkedin · post · ✅ ok" in md
    rows = list(csv.DictReader(io.StringIO(Path(client.predict(api_name="/export_csv")["value"]).read_text("utf-8"))))
    assert [(r["platform"], r["date"]) for r in rows] == [("linkedin", "2027-03-01")]


def test_regenerate_runs_only_that_platform(client, server):
    client.predict("tidewell-coffee", ["x", "linkedin"], "post", "Announce our pods", "", 1, "", False, "", api_name="/generate_ui")
    before = len(server.requests)
    out = client.predict(api_name="/regenerate_linkedin")
    calls = [q for q in server.requests[before:] if q.path.endswith("/chat/completions")]
    assert len(calls) == 1 and "LinkedIn" in calls[0].body["messages"][0]["content"]
    assert any(isinstance(v, str) and "/ 3,000" in plain(v) for v in out)


def test_nothing_to_export_or_regenerate_in_a_fresh_session(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="Nothing to export yet"):
        client.predict(api_name="/export_jsonl")
    with pytest.raises(AppError, match="Press Generate first"):
        client.predict(api_name="/regenerate_x")


def test_save_profile_through_the_app_reloads_and_refreshes_the_dropdowns(client, app, server):
    _, brands, blocks = app
    client.predict("Tidewell_EU", ["x"], "post", "Announce our pods", api_name="/generate")  # the profile is now cached

    def last_prompt() -> str:
        return " ".join(m["content"] for m in server.requests[-1].body["messages"])

    assert "Tidewell Coffee" in last_prompt()
    renamed = VALID_PROFILE.replace("name: Tidewell Coffee", "name: Tidewell Europe", 1)
    shown = client.predict("Tidewell_EU", renamed, api_name="/save_profile")[0]
    assert "Saved Tidewell_EU.yaml" in plain(shown) and (brands / "Tidewell_EU.yaml").read_text("utf-8") == renamed
    client.predict("Tidewell_EU", ["x"], "post", "Announce our pods", api_name="/generate")
    assert "Tidewell Europe" in last_prompt() and "Tidewell Coffee" not in last_prompt()  # written with the saved profile
    updates = handler(blocks, "save_profile")("Tidewell_EU", renamed)
    dropdowns = [u for u in updates.values() if isinstance(u, gr.Dropdown)]
    assert len(dropdowns) == 3  # Generate's brand, Check's brand, the profile picker
    assert all(("Tidewell Europe (Tidewell_EU)", "Tidewell_EU") in d.choices for d in dropdowns)


def test_save_profile_as_new_through_the_app(client, app):
    from gradio_client.exceptions import AppError

    brands = app[1]
    outside = set(brands.parent.parent.rglob("*.yaml")) - set(brands.glob("*.yaml"))
    out = client.predict("../../etc/passwd", VALID_PROFILE, api_name="/save_profile_as")
    assert "Saved as etc-passwd.yaml" in plain(out[0])
    assert (brands / "etc-passwd.yaml").is_file()
    assert set(brands.parent.parent.rglob("*.yaml")) - set(brands.glob("*.yaml")) == outside
    records = client.predict("etc-passwd", ["x"], "post", "Announce our pods", api_name="/generate")  # usable at once
    assert records[0]["brand"] == "etc-passwd"
    listed = handler(app[2], "list_profiles")()  # what a page opened now shows
    assert all(("Tidewell Coffee (etc-passwd)", "etc-passwd") in d.choices for d in listed.values())
    for name, message in (("..", "name with letters or digits"), ("Etc Passwd", "already exists")):
        with pytest.raises(AppError, match=message):
            client.predict(name, VALID_PROFILE, api_name="/save_profile_as")
    problems = client.predict("fresh", "name: Fresh\nvoice: {}\n", api_name="/save_profile_as")[0]
    assert "problems to fix" in plain(problems) and not (brands / "fresh.yaml").exists()
    typo = VALID_PROFILE.replace("\naudience:", "\naudiense:", 1)
    line = typo.splitlines().index(next(l for l in typo.splitlines() if l.startswith("audiense:"))) + 1
    shown = client.predict("tidewell-coffee", typo, api_name="/validate_profile")
    assert f"line {line}" in plain(shown) and "Did you mean 'audience'" in plain(shown)
    assert "YAML syntax error" in plain(client.predict("tidewell-coffee", "name: [", api_name="/validate_profile"))


BRIEFS = """\
defaults:
  brand: tidewell-coffee
  platforms: [x, linkedin]
briefs:
  - id: pods
    brief: Announce our compostable pods, on sale March 1
    date: 2027-03-01
"""


def test_batch_tab_runs_a_briefs_file_into_a_zip(client, tmp_path):
    from gradio_client import handle_file

    briefs = tmp_path / "briefs.yaml"
    briefs.write_text(BRIEFS, "utf-8")
    summary, archive = client.predict(handle_file(str(briefs)), 2, api_name="/run_batch")
    assert "2 of 2 ok" in plain(summary)
    names = set(zipfile.ZipFile(archive["value"] if isinstance(archive, dict) else archive).namelist())
    assert {"results.jsonl", "calendar.csv", "pods.md", "summary.json"} <= names


def test_batch_tab_names_the_uploaded_file_in_errors(client, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    briefs = tmp_path / "my-briefs.yaml"
    briefs.write_text(BRIEFS.replace("platforms: [x, linkedin]", "platforms: [x, myspace]"), "utf-8")
    with pytest.raises(AppError) as info:
        client.predict(handle_file(str(briefs)), 2, api_name="/run_batch")
    assert "my-briefs.yaml, line 3" in str(info.value) and "unknown platform 'myspace'" in str(info.value)
    assert "gradio" not in str(info.value) and "Traceback" not in str(info.value)
