"""Read YAML files into Pydantic models, turning every mistake into one message with file, line and fix."""

from __future__ import annotations

import difflib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import pydantic
import yaml

from .errors import InputError

M = TypeVar("M", bound=pydantic.BaseModel)
Loc = tuple[Any, ...]


class Positions(dict):
    """Maps a path of keys/indices inside a YAML document to its (line, column), both 1-based."""

    def near(self, loc: Loc) -> tuple[int, int] | None:
        # A missing field has no position of its own: fall back to its closest ancestor.
        for end in range(len(loc), -1, -1):
            if loc[:end] in self:
                return self[loc[:end]]
        return None


# The C parser when PyYAML has it (several times faster on profile and briefs files); marks work the same.
class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    pass


# YAML 1.1 reads `no`, `on`, `off`, `yes` as booleans, which turns the language `no` (Norwegian)
# or a tag like `on` into True/False. Keep only true/false as booleans, as YAML 1.2 does.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    __import__("re").compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def read_text(path: Path, what: str = "file") -> str:
    """Read a UTF-8 text file, or raise an InputError that says what is wrong with it."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such {what}.", hint="Check the path and try again.") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a {what}.", hint="Give the path of a file.") from None
    except PermissionError:
        raise InputError(
            f"{path}: cannot read this {what} (permission denied).",
            hint="Check the file's permissions, e.g. `chmod u+r`.",
        ) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read this {what} ({exc.strerror}).") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{path}, line {line}: this {what} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}).",
            hint="Save it as UTF-8 (in most editors: 'Save with encoding' → UTF-8).",
        ) from None
    return text.removeprefix("\ufeff")


def parse_yaml(text: str, source: str) -> tuple[Any, Positions]:
    """Parse YAML text into plain data plus the position of every key and list item."""
    positions = Positions()
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = None if node is None else _build(loader, node, (), positions, source)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise InputError(
            f"{source}{where}: YAML syntax error: {problem}.",
            hint="Check indentation and quoting there; text containing ': ' or starting with '#', '@' or '*' needs quotes.",
            problems=[(mark.line + 1 if mark else None, f"YAML syntax error: {problem}.")],
        ) from None
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: YAML error: {exc}") from None
    finally:
        loader.dispose()
    return data, positions


def _build(loader: _Loader, node: yaml.Node, loc: Loc, positions: Positions, source: str) -> Any:
    positions.setdefault(loc, _mark(node))
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                line, col = _mark(key_node)
                raise InputError(f"{source}, line {line}, column {col}: a key must be a plain word, not a list or mapping.",
                                 problems=[(line, "A key must be a plain word, not a list or mapping.")])
            if key in out:
                line, col = _mark(key_node)
                raise InputError(
                    f"{source}, line {line}, column {col}: '{key}' appears twice in the same section.",
                    hint="Keep one of them; YAML would silently drop the first.",
                    problems=[(line, f"'{key}' appears twice in the same section.")],
                )
            positions[loc + (key,)] = _mark(key_node)
            out[key] = _build(loader, value_node, loc + (key,), positions, source)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, loc + (i,), positions, source) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def load_model(model: type[M], data: Any, positions: Positions | None, source: str, *, what: str, context: dict | None = None) -> M:
    """Validate plain data into `model`, or raise an InputError naming the line, the field and the fix."""
    if data is None:
        raise InputError(f"{source}: the {what} is empty.", hint=f"Write the {what} as a YAML mapping of keys to values.")
    try:
        return model.model_validate(data, context=context)
    except pydantic.ValidationError as exc:
        message, problems = _explain(exc, model, positions or Positions(), source, what)
        raise InputError(message, problems=problems) from None


def load_model_file(model: type[M], path: Path, *, what: str, context: dict | None = None) -> M:
    path = Path(path)
    data, positions = parse_yaml(read_text(path, what), str(path))
    return load_model(model, data, positions, str(path), what=what, context=context)


def _explain(exc: pydantic.ValidationError, model: type[pydantic.BaseModel], positions: Positions, source: str, what: str) -> tuple[str, list[tuple[int | None, str]]]:
    """One readable message for the whole error, and each problem with its line for editors."""
    errors = exc.errors(include_url=False)
    for err in errors:
        err["loc"] = _clean_loc(err["loc"])
    # A typo'd key also shows up as a missing field; the "did you mean" line says it all.
    suggested = set()
    for err in errors:
        if err["type"] == "extra_forbidden":
            close = difflib.get_close_matches(str(err["loc"][-1]), _allowed_keys(model, err["loc"][:-1]), n=1, cutoff=0.6)
            if close:
                suggested.add(err["loc"][:-1] + (close[0],))
    errors = [e for e in errors if not (e["type"] == "missing" and e["loc"] in suggested)]
    errors.sort(key=lambda e: positions.near(e["loc"]) or (0, 0))
    problems = [_explain_one(err, model, positions, source) for err in errors]
    lines = [(positions.near(e["loc"][:-1] if e["type"] == "missing" else e["loc"]) or (None,))[0] for e in errors]
    pairs = list(zip(lines, problems))
    if len(problems) == 1:
        return problems[0], pairs
    return "\n".join([f"{source}: the {what} has {len(problems)} problems:", *("  - " + p for p in problems)]), pairs


def _where(positions: Positions, loc: Loc, source: str) -> str:
    pos = positions.near(loc)
    return f"{source}, line {pos[0]}, column {pos[1]}" if pos else source


def field_name(loc: Loc) -> str:
    """A field's place as the user would write it: `briefs[0].platforms[1]`."""
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


def _explain_one(err: dict, model: type[pydantic.BaseModel], positions: Positions, source: str) -> str:
    loc = err["loc"]
    kind = err["type"]
    field = field_name(loc)
    if kind == "extra_forbidden":
        parent = loc[:-1]
        key = str(loc[-1])
        allowed = _allowed_keys(model, parent)
        where = _where(positions, loc, source)
        msg = f"{where}: unknown key '{key}'" + (f" in '{field_name(parent)}'" if parent else "") + "."
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        if close:
            return msg + f" Did you mean '{close[0]}'?"
        return msg + (f" Allowed keys: {', '.join(allowed)}." if allowed else "")
    if kind == "missing":
        parent = loc[:-1]
        where = _where(positions, parent, source) if parent else source
        inside = f" in '{field_name(parent)}'" if parent else ""
        return f"{where}: missing required field '{loc[-1]}'{inside}. Add it."
    where = _where(positions, loc, source)
    got = err.get("input")
    got_text = f" (got {_describe(got)})" if kind != "value_error" else ""
    message = err["msg"].removeprefix("Value error, ")
    return f"{where}: '{field}': {message}{got_text}."


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}"


def _clean_loc(loc: Loc) -> Loc:
    # Pydantic adds union-member and validator names (e.g. 'str', 'list[str]', 'function-after[...]') to locations;
    # they are not keys of the user's file.
    return tuple(p for p in loc if isinstance(p, int) or not _is_internal_loc(p))


def _is_internal_loc(part: str) -> bool:
    return "[" in part or part in {"str", "int", "float", "bool", "list", "dict", "none"} or part.startswith(("function-", "tagged-union"))


def _allowed_keys(model: type[pydantic.BaseModel], loc: Loc) -> list[str]:
    target = _annotation_at(model, loc)
    if isinstance(target, type) and issubclass(target, pydantic.BaseModel):
        return list(target.model_fields)
    return []


def _annotation_at(annotation: Any, loc: Loc) -> Any:
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return None
            annotation = field.annotation
            continue
        origin = typing.get_origin(annotation)
        args = typing.get_args(annotation)
        if origin in (list, tuple, set, frozenset) and args:
            annotation = args[0]
        elif origin is dict and len(args) == 2:
            annotation = args[1]
        else:
            return None
    return _unwrap(annotation)


def _unwrap(annotation: Any) -> Any:
    # Optional[X] / X | None / Annotated[X, ...] -> X
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            models = [a for a in members if isinstance(a, type) and issubclass(a, pydantic.BaseModel)]
            if len(members) == 1 or models:
                annotation = (models or members)[0]
                continue
        return annotation
