"""Output formats shared by batch runs and the web app: JSON records, readable Markdown and a scheduler-ready CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable

from .generate import Result

CALENDAR_COLUMNS = ["date", "platform", "text", "link", "kind", "brand", "id"]


def status_of(result: Result) -> str:
    """ok: publishable; invalid: content came back but breaks a hard rule; error: no content at all."""
    if result.content is None:
        return "error"
    return "ok" if result.ok else "invalid"


def result_record(result: Result, *, job_id: str = "", brief_id: str = "", date: str | None = None, link: str | None = None) -> dict:
    """One line of results.jsonl: everything needed to publish, audit or resume."""
    data = result.to_dict()
    return {
        "id": job_id, "brief_id": brief_id, "status": status_of(result), "date": date, "link": link,
        "markdown": result.markdown, **data,
    }


def to_jsonl(records: Iterable[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def to_markdown(records: Iterable[dict], *, title: str | None = None, brief: str | None = None) -> str:
    """Readable Markdown for people: each piece with its status, counts and violations."""
    records = list(records)
    lines: list[str] = []
    if title:
        lines += [f"# {title}", ""]
    if brief:
        lines += [f"> {brief.strip()}", ""]
    for r in records:
        variant = f" · variant {r['variant']}" if r.get("variant", 1) > 1 else ""
        status = {"ok": "✅ ok", "invalid": "⚠️ breaks a hard rule", "error": "❌ failed"}.get(r.get("status", ""), r.get("status", ""))
        size = f" · {r['length']} / {r['limit']}" if r.get("length") is not None else ""
        lines += [f"## {r['platform']} · {r['kind']}{variant} · {status}{size}", ""]
        body = r.get("markdown") or r.get("text") or ""
        if body:
            lines += [body, ""]
        if r.get("error"):
            lines += [f"**Error:** {r['error']}", ""]
        problems = [v for v in r.get("violations", []) if r.get("error") is None or v["rule"] not in ("model_error", "model_output")]
        for v in problems:
            where = f" ({v['where']})" if v.get("where") else ""
            lines.append(f"- **{v['severity']}** {v['rule']}{where}: {v['message']}")
        if problems:
            lines.append("")
        usage = r.get("usage") or {}
        cost = f", ${r['cost_usd']:.4f}" if r.get("cost_usd") else ""
        lines += [f"_{usage.get('total_tokens', 0)} tokens{cost}, {r.get('attempts', 0)} call(s), {r.get('model', '')}_", ""]
    return "\n".join(lines).rstrip() + "\n"


def to_calendar_csv(records: Iterable[dict]) -> str:
    """date, platform, text, link: the columns bulk-upload tools (Buffer, Hootsuite, Later…) map from.
    Only publishable (ok) results are scheduled."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CALENDAR_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in records:
        if r.get("status") == "ok":
            writer.writerow({**r, "date": r.get("date") or "", "link": r.get("link") or ""})
    return out.getvalue()
