"""The web app in a real headless Chromium (Debian's, driven by Playwright): brief, two platforms, Generate, previews
with counters, an edit past the limit turning the counter red. Screenshots go to test-artifacts/; the last one is
also the README's docs/screenshot.png."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from conftest import ROOT, _loopback_only
from fake_content import responder
from openai_server import OpenAIServer

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:.*no_silent_downcasting.*"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")) if p and Path(p).is_file()), None)
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOT = ROOT / "docs" / "screenshot.png"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-quic", "--disable-sync", "--disable-dev-shm-usage"]
RED = "rgb(220, 38, 38)"
LOCAL = ("http://127.0.0.1", "http://localhost", "data:", "blob:", "about:")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (apt-get install chromium); the browser test needs /usr/bin/chromium")
    pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed: pip install -e '.[dev]'")
    sys.path.insert(0, str(ROOT))
    import ui
    from assistant import Assistant

    with OpenAIServer() as server, pytest.MonkeyPatch.context() as mp:
        server.responder = responder
        mp.setattr("socket.socket.connect", _loopback_only)
        mp.setenv("OPENAI_BASE_URL", server.url)
        mp.setenv("OPENAI_API_KEY", "sk-test-browser-0123456789")
        mp.setenv("ASSISTANT_MODEL", "test-model")
        mp.setenv("ASSISTANT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        assistant = Assistant()
        assert assistant.backend.kind == "compatible"
        app = ui.build_app(assistant)
        _, url, _ = app.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=None, quiet=True)
        try:
            yield url
        finally:
            app.close()


@pytest.fixture
def page(app_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)  # a fresh temporary profile each time
        context = browser.new_context(viewport={"width": 1440, "height": 1000}, device_scale_factor=1)
        context.set_default_timeout(20_000)
        tab = context.new_page()
        tab.left_machine = []  # every request the page tried to send elsewhere (blocked)

        def only_local(route):
            if route.request.url.startswith(LOCAL):
                route.continue_()
            else:
                tab.left_machine.append(route.request.url)
                route.abort()

        tab.route("**/*", only_local)
        try:
            yield tab
        finally:
            context.close()
            browser.close()


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def counter(page, platform: str):
    return page.locator(f"#counter-{platform} .bx-counter")


def count(page, platform: str) -> tuple[int, int]:
    text = page.locator(f"#counter-{platform} .bx-count").inner_text()
    match = re.fullmatch(r"([\d,]+) / ([\d,]+)", text.strip())
    assert match, text
    return int(match.group(1).replace(",", "")), int(match.group(2).replace(",", ""))


def test_generate_two_platforms_then_edit_past_the_limit(page, app_url):
    # 1. Open the page.
    page.goto(app_url)
    page.wait_for_selector("#brief textarea")
    assert "Running on test-model" in page.locator("#backend-status").inner_text()
    shot(page, "01-opened.png")

    # 2. Fill a brief (for a brand written in English).
    page.locator("#brand input").click()
    page.get_by_role("option", name="Tidewell Coffee (tidewell-coffee)").click()
    page.locator("#brief textarea").fill("Announce our compostable coffee pods, on sale March 1")

    # 3. Pick two platforms.
    page.locator("#platforms").get_by_label("LinkedIn", exact=True).check()
    page.locator("#platforms").get_by_label("X", exact=True).check()
    shot(page, "02-brief.png")

    # 4. Generate.
    page.click("#generate")

    # 5. Both previews, each with its counter.
    page.locator("#tab-linkedin-button").click()
    counter(page, "linkedin").wait_for()
    assert "Tidewell Coffee" in page.locator("#preview-linkedin .bx-card").inner_text()
    length, limit = count(page, "linkedin")
    assert 0 < length <= limit == 3000 and counter(page, "linkedin").get_attribute("data-status") in ("ok", "warning")
    shot(page, "03-linkedin.png")
    page.locator("#tab-x-button").click()
    counter(page, "x").wait_for()
    assert "Tidewell Coffee" in page.locator("#preview-x .bx-card").inner_text()
    length, limit = count(page, "x")
    assert 0 < length <= limit == 280 and counter(page, "x").get_attribute("data-status") != "error"
    page.wait_for_selector("#run-status .bx-notice:has-text('2 pieces ready')")
    shot(page, "04-x.png")

    # 6. Edit the X text past the limit: the counter turns red, the preview and the problems follow.
    editor = page.locator("#editor-x textarea")
    original = editor.input_value()
    longer = original + "\n\nEvery pod is certified compostable in industrial facilities, roasted in Portland the week it ships, " \
                        "and priced like our bags: fair to you and to the growers we buy from. Subscribers get them first, " \
                        "with free shipping on every order over $30."
    editor.fill(longer)
    page.wait_for_selector("#counter-x .bx-counter.bx-error")
    length, limit = count(page, "x")
    assert length > limit == 280
    assert counter(page, "x").evaluate("e => getComputedStyle(e).color") == RED
    assert "Cut" in page.locator("#problems-x").inner_text()
    page.wait_for_selector("#preview-x .bx-card:has-text('priced like our bags')")
    page.wait_for_selector("#run-status .bx-notice.bx-error:has-text('1 breaks a rule')")

    # 7. Screenshots, the last one also for the README.
    final = shot(page, "05-x-over-the-limit.png")
    if os.environ.get("ASSISTANT_UPDATE_SCREENSHOT"):  # refresh the README's picture on demand, not on every run
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(final, SCREENSHOT)
    assert page.left_machine == [], f"the page tried to reach other machines: {page.left_machine}"
