"""Prompt templates: one sandboxed Jinja environment; the user's folder first, then brand-, backend- and default templates."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import BaseLoader, StrictUndefined, TemplateNotFound, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from .catalog import bundled_dir
from .errors import TemplateError

# A template name carries its context, "<brand>|<backend>|post.j2", so that includes made from inside
# it resolve with the same lookup order and one environment caches every combination.
_SEP = "|"


class PromptLoader(BaseLoader):
    """Finds `name` in this order: the user's folder, then the bundled folder; in each, the brand's
    subfolder (`<brand>/name`), then the backend's (`backends/<backend>/name`), then `name` itself."""

    def __init__(self, user_dir: Path | None, default_dir: Path):
        self.roots = [d for d in (user_dir, default_dir) if d is not None]

    def candidates(self, brand: str, backend: str, name: str) -> list[Path]:
        out = []
        for root in self.roots:
            if brand:
                out.append(root / brand / name)
            if backend:
                out.append(root / "backends" / backend / name)
            out.append(root / name)
        return out

    def get_source(self, environment, template: str):
        brand, backend, name = _split(template)
        if ".." in Path(name).parts or Path(name).is_absolute():
            raise TemplateNotFound(name)
        for path in self.candidates(brand, backend, name):
            if path.is_file():
                mtime = path.stat().st_mtime
                try:
                    source = path.read_text(encoding="utf-8")
                except UnicodeDecodeError:
                    raise TemplateError(f"{path}: template is not UTF-8 text.", hint="Save it as UTF-8.") from None
                return source, str(path), lambda p=path, m=mtime: p.is_file() and p.stat().st_mtime == m
        raise TemplateNotFound(name)


def _split(template: str) -> tuple[str, str, str]:
    parts = template.split(_SEP)
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    return "", "", template


class PromptEnvironment(ImmutableSandboxedEnvironment):
    def join_path(self, template: str, parent: str) -> str:
        brand, backend, _ = _split(parent)
        return _SEP.join((brand, backend, template)) if _SEP not in template else template


def _json(value: Any) -> str:
    # Unlike Jinja's `tojson` (made for HTML): keeps key order and non-ASCII text as written.
    return json.dumps(value, ensure_ascii=False)


def make_environment(user_dir: Path | None) -> PromptEnvironment:
    """The one place the Jinja environment is built: sandboxed, strict, user folder before defaults."""
    env = PromptEnvironment(
        loader=PromptLoader(user_dir, bundled_dir("prompts")),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=True,
    )
    env.filters["json"] = _json
    return env


@dataclass
class Prompt:
    """What is sent to the model: the messages, and which template files made them."""

    messages: list[dict[str, str]]
    templates: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n".join(f"## {m['role']}\n{m['content']}" for m in self.messages)


class Prompts:
    def __init__(self, user_dir: Path | None = None):
        self.user_dir = user_dir
        self.env = make_environment(user_dir)

    def render(self, name: str, context: dict[str, Any], *, brand: str = "", backend: str = "") -> tuple[str, str]:
        """Render one template; returns (text, path of the file used)."""
        full = _SEP.join((brand, backend, name))
        try:
            template = self.env.get_template(full)
            text = template.render(context)
        except TemplateNotFound as exc:
            looked = [str(p) for p in self.env.loader.candidates(brand, backend, str(exc.name).split(_SEP)[-1])]
            raise TemplateError(f"Prompt template '{str(exc.name).split(_SEP)[-1]}' not found.", hint="Looked in: " + ", ".join(looked)) from None
        except TemplateSyntaxError as exc:
            raise TemplateError(f"{exc.filename or name}, line {exc.lineno}: template syntax error: {exc.message}.") from None
        except SecurityError as exc:
            raise TemplateError(
                f"Prompt template '{name}' tried to reach Python internals, which the sandbox blocks: {exc}.",
                hint="Templates may only use the plain data they are given (brand, platform, brief, kind…).",
            ) from None
        except UndefinedError as exc:
            raise TemplateError(f"Prompt template '{name}' uses an unknown variable: {exc.message}.", hint="Check the spelling against the variables listed in prompts/README.md.") from None
        return text.strip() + "\n", template.filename or name

