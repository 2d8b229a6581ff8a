"""The web app (`python ui.py` or `assistant ui`): layout and event wiring only. The work is done by the `Assistant`
API (as in the CLI), `assistant.preview` (HTML) and `assistant.workspace` (session logic)."""

from __future__ import annotations

import argparse
import functools
import inspect
import os
import sys
import tempfile
from dataclasses import dataclass
from html import escape
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # a local tool does not phone home

import gradio as gr  # noqa: E402

from . import preview, workspace  # noqa: E402
from .api import Assistant  # noqa: E402
from .errors import AssistantError, InputError  # noqa: E402
from .platforms import KINDS  # noqa: E402

THEME = gr.themes.Soft(primary_hue="indigo", secondary_hue="slate", radius_size="lg")
EDIT_LABEL, EDIT_INFO = "Text to publish", "Edit it here: the counter, the problems and the preview follow as you type."
KIND_CHOICES = [(preview.KIND_LABELS[k], k) for k in KINDS]


class App(gr.Blocks):
    """gr.Blocks that brings its theme, CSS and upload limit to `launch()`, however it is launched (ui.py or a test)."""

    def launch(self, *args, **kwargs):
        kwargs.setdefault("theme", THEME)
        kwargs.setdefault("css", preview.CSS)
        kwargs.setdefault("max_file_size", "5mb")
        return super().launch(*args, **kwargs)


def user_errors(fn):
    """AssistantError → gr.Error in plain words (message, then what to do); anything else stays a bug."""

    def error(exc: AssistantError) -> gr.Error:
        text = escape(exc.message, quote=False) + (f" → {escape(exc.hint, quote=False)}" if exc.hint else "")
        return gr.Error(text, print_exception=False)

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def stream(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except AssistantError as exc:
                raise error(exc) from None
        return stream

    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except AssistantError as exc:
            raise error(exc) from None
    return call


@dataclass
class PlatformTab:
    tab: gr.Tab
    variant: gr.Radio
    preview: gr.HTML
    counter: gr.HTML
    problems: gr.HTML
    usage: gr.HTML
    editor: gr.Textbox
    regenerate: gr.Button

    def outputs(self) -> list:
        return [self.tab, self.variant, self.preview, self.counter, self.problems, self.usage, self.editor, self.regenerate]


def build_app(assistant: Assistant) -> gr.Blocks:
    catalog = assistant.catalog
    platforms = catalog.platforms
    header = workspace.backend_header(assistant)
    files = Path(tempfile.mkdtemp(prefix="brand-assistant-web-"))  # exports and batch outputs, served for download
    brand_ids = catalog.brand_ids()

    def brand_choices() -> list[tuple[str, str]]:
        out = []
        for bid in catalog.brand_ids():
            try:
                out.append((f"{catalog.brand(bid).name} ({bid})", bid))
            except AssistantError:
                out.append((f"{bid} (invalid profile)", bid))
        return out

    def profile_view(bid: str | None) -> tuple[str, str]:
        """The profile's YAML for the editor, and what stops it from being shown (one unreadable file must not stop the app)."""
        try:
            return workspace.profile_text(assistant, bid), ""
        except InputError as exc:
            return "", preview.profile_problems_html("", [f"{exc.message} → {exc.hint}" if exc.hint else exc.message], [None])

    first_yaml, first_problems = profile_view(brand_ids[0] if brand_ids else None)

    with App(title="Brand Assistant", analytics_enabled=False, fill_width=True) as app:
        session = gr.State(workspace.Session())
        gr.HTML(preview.header_html(header["summary"], header.get("hint", ""), header["ready"]), elem_id="app-header")

        with gr.Tabs(elem_id="main-tabs"):
            # Generate ------------------------------------------------------------------------
            with gr.Tab("Generate", id="generate", elem_id="generate-tab"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=4, min_width=340):
                        brand = gr.Dropdown(brand_choices(), value=brand_ids[0] if brand_ids else None, label="Brand", elem_id="brand")
                        kind = gr.Dropdown(KIND_CHOICES, value="post", label="Content", elem_id="kind")
                        chosen = gr.CheckboxGroup([(r.name, pid) for pid, r in platforms.items()], label="Platforms",
                                                  info="One tab per platform, each checked against that platform's rules.", elem_id="platforms")
                        brief = gr.Textbox(label="Brief", lines=4, elem_id="brief",
                                           placeholder="What to announce, e.g. Announce our compostable coffee pods, on sale March 1")
                        with gr.Accordion("Options", open=False, elem_id="options"):
                            language = gr.Textbox(label="Language", placeholder="The brand's own, or e.g. fr-FR", elem_id="language")
                            variants = gr.Slider(1, 5, value=1, step=1, label="Variants per platform", info="Distinct angles for A/B tests.")
                            link = gr.Textbox(label="Link", placeholder="https://…", elem_id="link")
                            date = gr.Textbox(label="Publish date", placeholder="YYYY-MM-DD, for the calendar export", elem_id="date")
                            sponsored = gr.Checkbox(label="Sponsored: the brand's disclosure label is required", elem_id="sponsored")
                            gr.Textbox(header["label"], label="Model", interactive=False, elem_id="model")
                        generate = gr.Button("Generate", variant="primary", size="lg", elem_id="generate")
                        run_status = gr.HTML(elem_id="run-status")
                        with gr.Group():
                            gr.Markdown("**Export this session** (edits included), in the batch command's formats", padding=True)
                            with gr.Row():
                                export_buttons = {
                                    "jsonl": gr.Button("JSON lines", size="sm", elem_id="export-jsonl"),
                                    "markdown": gr.Button("Markdown", size="sm", elem_id="export-markdown"),
                                    "csv": gr.Button("Calendar CSV", size="sm", elem_id="export-csv"),
                                }
                            download = gr.File(label="Download", interactive=False, visible=False, height=80, elem_id="export-file")
                    with gr.Column(scale=7, min_width=420):
                        empty = gr.HTML(preview.empty_results_html(), elem_id="results-placeholder")
                        with gr.Tabs(visible=False, elem_id="platform-tabs") as result_tabs:
                            tabs: dict[str, PlatformTab] = {}
                            for pid, rules in platforms.items():
                                with gr.Tab(rules.name, id=pid, visible=False, elem_id=f"tab-{pid}") as tab:
                                    variant = gr.Radio([1], value=1, label="Variant", visible=False, elem_id=f"variant-{pid}")
                                    with gr.Row(equal_height=False):
                                        with gr.Column(scale=6, min_width=320):
                                            page = gr.HTML(elem_id=f"preview-{pid}")
                                        with gr.Column(scale=5, min_width=300):
                                            counter = gr.HTML(elem_id=f"counter-{pid}")
                                            problems = gr.HTML(elem_id=f"problems-{pid}")
                                            editor = gr.Textbox(label=EDIT_LABEL, info=EDIT_INFO, lines=8,
                                                                max_lines=30, buttons=["copy"], elem_id=f"editor-{pid}")
                                            regenerate = gr.Button(f"Regenerate {rules.name} only", size="sm", elem_id=f"regenerate-{pid}")
                                            usage = gr.HTML(elem_id=f"usage-{pid}")
                                tabs[pid] = PlatformTab(tab, variant, page, counter, problems, usage, editor, regenerate)

            # Brand profiles ------------------------------------------------------------------
            with gr.Tab("Brand profiles", id="profiles", elem_id="profiles-tab"):
                gr.Markdown(f"Profiles are YAML files in `{catalog.brands_dir.name}/`. Edit, validate, save; or save a copy under a new name.")
                with gr.Row():
                    profile = gr.Dropdown(brand_choices(), value=brand_ids[0] if brand_ids else None, label="Profile", scale=3, elem_id="profile")
                    new_name = gr.Textbox(label="New profile name", placeholder="e.g. Tidewell Coffee EU", scale=3, elem_id="new-profile-name")
                profile_yaml = gr.Code(first_yaml, language="yaml", lines=24, max_lines=40,
                                       interactive=True, label="Profile YAML", elem_id="profile-yaml")
                with gr.Row():
                    validate = gr.Button("Validate", elem_id="profile-validate")
                    save = gr.Button("Save", variant="primary", elem_id="profile-save")
                    save_new = gr.Button("Save as new", elem_id="profile-save-new")
                profile_problems = gr.HTML(first_problems, elem_id="profile-problems")

            # Prompt --------------------------------------------------------------------------
            with gr.Tab("Prompt", id="prompt", elem_id="prompt-tab"):
                gr.Markdown("The exact messages sent to the model for a result, with their token count: see the brand's voice and the platform's rules going in.")
                prompt_pick = gr.Dropdown([], label="Result", elem_id="prompt-result")
                prompt_view = gr.HTML('<div class="bx-empty">Generate something first.</div>', elem_id="prompt-view")

            # Batch ---------------------------------------------------------------------------
            with gr.Tab("Batch", id="batch", elem_id="batch-tab"):
                gr.Markdown("Upload a briefs YAML (the `assistant batch` format), run it, and download every output as a zip: "
                            "`results.jsonl`, one Markdown file per brief, `calendar.csv` and `summary.json`.")
                with gr.Row(equal_height=False):
                    briefs_file = gr.File(label="Briefs file (YAML)", file_types=[".yaml", ".yml"], type="filepath", elem_id="batch-file")
                    with gr.Column():
                        concurrency = gr.Slider(1, 8, value=4, step=1, label="Pieces at once")
                        run_batch = gr.Button("Run batch", variant="primary", elem_id="batch-run")
                batch_result = gr.HTML(elem_id="batch-result")
                batch_zip = gr.File(label="Outputs (zip)", interactive=False, elem_id="batch-zip")

            # Check ---------------------------------------------------------------------------
            with gr.Tab("Check", id="check", elem_id="check-tab"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=5):
                        check_text = gr.Textbox(label="Text", lines=10, placeholder="Paste any post, caption or thread (posts separated by lines of ---)",
                                                elem_id="check-text")
                        with gr.Row():
                            check_platform = gr.Dropdown([(r.name, pid) for pid, r in platforms.items()], value="linkedin" if "linkedin" in platforms else None,
                                                         label="Platform", elem_id="check-platform")
                            check_brand = gr.Dropdown([("No brand", "")] + brand_choices(), value="", label="Brand (optional)", elem_id="check-brand")
                            check_kind = gr.Dropdown(KIND_CHOICES, value="post", label="Kind", elem_id="check-kind")
                        check_sponsored = gr.Checkbox(label="Sponsored: require the disclosure label", elem_id="check-sponsored")
                    with gr.Column(scale=4):
                        check_counter = gr.HTML(elem_id="check-counter")
                        check_problems = gr.HTML(elem_id="check-problems")
                        check_preview = gr.HTML(elem_id="check-preview")

        # Views ---------------------------------------------------------------------------------
        def tab_update(s: workspace.Session, pid: str) -> dict:
            t = tabs[pid]
            entry = s.entry(pid)
            if entry is None:
                return {t.tab: gr.Tab(visible=False)}
            view = workspace.entry_view(entry, platforms[pid], s.brand_name)
            choices = s.variants(pid)
            return {
                t.tab: gr.Tab(visible=True),
                t.variant: gr.Radio(choices, value=s.selected.get(pid, 1), visible=len(choices) > 1),
                t.preview: view.preview, t.counter: view.counter, t.problems: view.problems, t.usage: view.usage,
                t.editor: gr.Textbox(value=entry.text, interactive=entry.editable, visible=True,
                                     label=EDIT_LABEL if entry.editable else "Script",
                                     info=EDIT_INFO if entry.editable else "Copy it for the shoot; a story is edited frame by frame."),
                t.regenerate: gr.Button(visible=True),
            }

        def pending_update(pid: str) -> dict:
            t = tabs[pid]
            name = platforms[pid].name
            # The editor keeps its value (hidden): clearing it would fire a change event that could land after the result.
            return {t.tab: gr.Tab(visible=True), t.variant: gr.Radio(visible=False),
                    t.preview: f'<div class="bx-empty">Writing for {escape(name)}…</div>', t.counter: "", t.problems: "", t.usage: "",
                    t.editor: gr.Textbox(visible=False), t.regenerate: gr.Button(visible=False)}

        def status_update(s: workspace.Session) -> dict:
            text, state = s.summary()
            picks = [(f"{platforms[e.platform].name} · variant {e.result.variant}", f"{e.platform}:{e.result.variant}") for e in s.ordered()]
            first = picks[0][1] if picks else None
            return {run_status: preview.notice_html(text, state) if text else "",
                    prompt_pick: gr.Dropdown(picks, value=first), prompt_view: prompt_for(s, first)}

        def prompt_for(s: workspace.Session, pick: str | None) -> str:
            if not pick:
                return '<div class="bx-empty">Generate something first.</div>'
            pid, _, v = pick.partition(":")
            entry = s.entries.get((pid, int(v or 1)))
            if entry is None:
                return '<div class="bx-empty">That result is gone; generate again.</div>'
            r = entry.result
            return preview.prompt_html(r.prompt.messages, r.prompt_tokens.tokens, r.prompt_tokens.exact, r.prompt_tokens.method, r.prompt.templates)

        every_tab = [c for t in tabs.values() for c in t.outputs()]
        status_outputs = [run_status, prompt_pick, prompt_view]

        # Generate ------------------------------------------------------------------------------
        @user_errors
        def on_generate(s, brand_id, picked, kind_id, brief_text, lang, n, url, paid, day, progress=gr.Progress()):
            request = workspace.Request.from_form(assistant, brand_id, picked, kind_id, brief_text, lang, n, url, paid, day)
            jobs = request.jobs(assistant)
            s = workspace.Session.start(assistant, request)
            progress((0, len(jobs)), desc=f"Writing {len(jobs)} piece(s) with {header['model'] or 'the model'}…")
            first: dict = {session: s, empty: gr.HTML(visible=False), result_tabs: gr.Tabs(visible=True, selected=request.platforms[0]),
                           run_status: preview.notice_html(f"Writing {len(jobs)} piece(s)…", "warning"),
                           download: gr.File(value=None, visible=False)}
            for pid in tabs:
                first.update(pending_update(pid) if pid in request.platforms else {tabs[pid].tab: gr.Tab(visible=False)})
            yield first
            for done, result in enumerate(workspace.iter_results(assistant, jobs), 1):
                s.add(assistant, result)
                progress((done, len(jobs)), desc=f"{platforms[result.platform].name} ready ({done} of {len(jobs)})")
                yield {session: s, **tab_update(s, result.platform)}
            yield {session: s, **status_update(s)}

        generate.click(on_generate, [session, brand, chosen, kind, brief, language, variants, link, sponsored, date],
                       [session, empty, result_tabs, download, *every_tab, *status_outputs],
                       show_progress_on=[run_status], api_name="generate_ui", api_visibility="undocumented")

        def on_kind(kind_id, picked):
            ok = [pid for pid, r in platforms.items() if r.supports(kind_id)]
            info = "One tab per platform, each checked against that platform's rules."
            if len(ok) < len(platforms):
                info = f"Only platforms with a {preview.KIND_LABELS[kind_id].lower()} format are listed."
            return gr.CheckboxGroup([(platforms[p].name, p) for p in ok], value=[p for p in (picked or []) if p in ok], info=info)

        kind.change(on_kind, [kind, chosen], chosen, api_visibility="private", show_progress="hidden")

        for pid, t in tabs.items():
            def on_edit(s, text, pid=pid):
                entry = s.entry(pid)
                # Unchanged text is the app's own update (a result landed, a variant shown): nothing to redo.
                if entry is None or not entry.editable or text == entry.text:
                    return gr.skip()
                s.edit(assistant, pid, text)
                view = workspace.entry_view(entry, platforms[pid], s.brand_name)
                summary, state = s.summary()
                return {session: s, tabs[pid].preview: view.preview, tabs[pid].counter: view.counter, tabs[pid].problems: view.problems,
                        run_status: preview.notice_html(summary, state)}

            # .change, not .input: it also fires for pasted and programmatic text, and always_last keeps the newest.
            t.editor.change(user_errors(on_edit), [session, t.editor], [session, t.preview, t.counter, t.problems, run_status],
                            trigger_mode="always_last", show_progress="hidden", concurrency_limit=None,
                            api_name=f"edit_{pid}", api_visibility="undocumented")

            def on_variant(s, v, pid=pid):
                if v:
                    s.selected[pid] = int(v)
                return {session: s, **tab_update(s, pid)}

            t.variant.change(on_variant, [session, t.variant], [session, *t.outputs()], show_progress="hidden", api_visibility="private")

            @user_errors
            def on_regenerate(s, progress=gr.Progress(), pid=pid):
                s.regenerate(assistant, pid, on_progress=lambda done, total: progress((done, total), desc=f"Rewriting for {platforms[pid].name}…"))
                return {session: s, **tab_update(s, pid), **status_update(s)}

            t.regenerate.click(on_regenerate, [session], [session, *t.outputs(), *status_outputs], show_progress_on=[t.counter],
                               api_name=f"regenerate_{pid}", api_visibility="undocumented")

        prompt_pick.change(prompt_for, [session, prompt_pick], prompt_view, show_progress="hidden", api_visibility="private")

        for fmt, button in export_buttons.items():
            @user_errors
            def on_export(s, fmt=fmt):
                return gr.File(value=str(workspace.export_session(s, fmt, files / "exports")), visible=True)

            button.click(on_export, [session], download, api_name=f"export_{fmt}", api_visibility="undocumented")

        # API: the same generation, for scripts (gradio_client) -----------------------------------
        @user_errors
        def generate_api(brand: str, platforms: list[str], kind: str, brief: str, language: str = "", variants: int = 1,
                         link: str = "", sponsored: bool = False) -> list[dict]:
            """Write content for each platform; returns one record per piece, as in the batch command's results.jsonl."""
            request = workspace.Request.from_form(assistant, brand, platforms, kind, brief, language, variants, link, sponsored)
            s = workspace.Session.start(assistant, request)
            for result in assistant.run_jobs(request.jobs(assistant)):
                s.add(assistant, result)
            return s.records()

        gr.api(generate_api, api_name="generate")

        # Brand profiles --------------------------------------------------------------------------
        def refreshed(selected: str | None = None) -> dict:
            choices = brand_choices()
            return {brand: gr.Dropdown(choices), check_brand: gr.Dropdown([("No brand", "")] + choices),
                    profile: gr.Dropdown(choices, value=selected) if selected else gr.Dropdown(choices)}

        @user_errors
        def on_validate(bid, text):
            result = workspace.check_profile(text or "", f"{bid or 'profile'}.yaml", set(platforms))
            return preview.profile_problems_html(text or "", result.messages, result.lines)

        @user_errors
        def on_save(bid, text):
            result = workspace.save_profile(catalog, bid or "", text or "")  # reloads the catalog when saved
            if not result.ok:
                gr.Warning("Not saved: fix the problems shown under the editor first.")
                return {profile_problems: preview.profile_problems_html(text or "", result.messages, result.lines)}
            return {profile_problems: preview.notice_html(f"Saved {result.saved.name}.", "ok"), **refreshed(bid)}

        @user_errors
        def on_save_new(name, text):
            result = workspace.save_new_profile(catalog, name or "", text or "")
            if not result.ok:
                gr.Warning("Not saved: fix the problems shown under the editor first.")
                return {profile_problems: preview.profile_problems_html(text or "", result.messages, result.lines)}
            return {profile_problems: preview.notice_html(f"Saved as {result.saved.name}.", "ok"), new_name: "", **refreshed(result.saved.stem)}

        profile.change(profile_view, profile, [profile_yaml, profile_problems], api_visibility="private", show_progress="hidden")
        validate.click(on_validate, [profile, profile_yaml], profile_problems, api_name="validate_profile", api_visibility="undocumented")
        save.click(on_save, [profile, profile_yaml], [profile_problems, brand, check_brand, profile], api_name="save_profile", api_visibility="undocumented")
        save_new.click(on_save_new, [new_name, profile_yaml], [profile_problems, new_name, brand, check_brand, profile],
                       api_name="save_profile_as", api_visibility="undocumented")
        # The layout is built once: a page opened later lists the profiles saved (or added to the folder) since.
        app.load(refreshed, None, [brand, check_brand, profile], api_name="list_profiles", api_visibility="private", show_progress="hidden")

        # Batch -----------------------------------------------------------------------------------
        @user_errors
        def on_batch(path, n, progress=gr.Progress()):
            if not path:
                raise InputError("Upload a briefs file first.", hint="A YAML file with a `briefs:` list, as for `assistant batch`.")

            def report(p) -> None:
                progress((p.done, p.total), desc=f"{p.done} of {p.total} · {p.ok} ok · {p.failed} not ok")

            summary, archive = workspace.run_batch_zip(assistant, path, files / "batches", concurrency=int(n or 4), on_progress=report)
            return preview.batch_summary_html(summary), str(archive)

        run_batch.click(on_batch, [briefs_file, concurrency], [batch_result, batch_zip], show_progress_on=[batch_result],
                        api_name="run_batch", api_visibility="undocumented")

        # Check -----------------------------------------------------------------------------------
        @user_errors
        def on_check(text, pid, bid, kind_id, paid):
            if not (text or "").strip():
                return preview.notice_html("Paste a text to check.", "ok"), "", ""
            view = workspace.check_view(assistant, text, pid, bid or None, kind_id, bool(paid))
            return view.counter, view.problems, view.preview

        gr.on([check_text.change, check_platform.change, check_brand.change, check_kind.change, check_sponsored.change], on_check,
              [check_text, check_platform, check_brand, check_kind, check_sponsored], [check_counter, check_problems, check_preview],
              trigger_mode="always_last", show_progress="hidden", concurrency_limit=None, api_name="check")

    app.queue(default_concurrency_limit=4)
    return app


# Command line ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python ui.py", description="The brand assistant in your browser.")
    parser.add_argument("--host", help="address to listen on (env GRADIO_SERVER_NAME; default 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=int, help="port (env GRADIO_SERVER_PORT; default 7860)")
    parser.add_argument("--share", action="store_true",
                        help="also publish on a public gradio.live link; needs ASSISTANT_UI_USER and ASSISTANT_UI_PASSWORD")
    parser.add_argument("--brands-dir", help="brand profiles folder (env ASSISTANT_BRANDS_DIR)")
    parser.add_argument("--prompts-dir", help="your prompt templates, looked up before the defaults (env ASSISTANT_PROMPTS_DIR)")
    parser.add_argument("--platforms-dir", help="platform rule files that replace or add to the defaults (env ASSISTANT_PLATFORMS_DIR)")
    parser.add_argument("--backend", choices=["auto", "local", "openai", "compatible"], help="model backend (default auto)")
    parser.add_argument("--model", help="model name (env ASSISTANT_MODEL)")
    return parser.parse_args(argv)


def server_options(args: argparse.Namespace, env=os.environ) -> dict:
    """Where to listen and whether to ask for a login, from flags first, then Gradio's standard variables."""
    host = args.host or env.get("GRADIO_SERVER_NAME") or "127.0.0.1"
    raw_port = args.port if args.port is not None else env.get("GRADIO_SERVER_PORT") or 7860
    try:
        port = int(raw_port)
    except ValueError:
        raise InputError(f"GRADIO_SERVER_PORT '{raw_port}' is not a port number.", hint="Use e.g. 7860.") from None
    if not 0 < port < 65536:
        raise InputError(f"Port {port} is out of range.", hint="Use a number between 1 and 65535, e.g. 7860.")
    user, password = env.get("ASSISTANT_UI_USER"), env.get("ASSISTANT_UI_PASSWORD")
    if args.share and not (user and password):
        raise InputError(
            "--share puts the app on a public address, so it needs a login.",
            hint="Set ASSISTANT_UI_USER and ASSISTANT_UI_PASSWORD in the environment, then run again.",
        )
    return {"server_name": host, "server_port": port, "share": bool(args.share), "auth": (user, password) if user and password else None}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        options = server_options(args)
        assistant = Assistant(brands_dir=args.brands_dir, prompts_dir=args.prompts_dir, platforms_dir=args.platforms_dir,
                              backend=args.backend, model=args.model)
        app = build_app(assistant)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    try:
        app.launch(**options, quiet=True, prevent_thread_lock=True)
    except OSError:  # Gradio's own message speaks of launch() parameters; say it in the command's words
        app.close()
        port = options["server_port"]
        error = InputError(f"Cannot listen on {options['server_name']}:{port}: another program is probably using that port.",
                           hint=f"Stop it, or pick a free port: python ui.py --port {port + 1 if port < 65535 else 7860} (or set GRADIO_SERVER_PORT).")
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    print(f"Brand Assistant is running at {app.local_url}" + (f" and {app.share_url} (login required)" if app.share_url else ""), flush=True)
    print(workspace.backend_header(assistant)["summary"] + ". Press Ctrl-C to stop.", flush=True)
    app.block_thread()
    return 0


if __name__ == "__main__":
    sys.exit(main())
