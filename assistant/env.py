"""Numbers read from environment variables, with a clear message instead of a traceback when one is mistyped."""

from __future__ import annotations

import os

from .errors import InputError


def number(name: str, default: float, cast: type = float, *, minimum: float = 0):
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return cast(default)
    try:
        value = cast(raw)
    except ValueError:
        raise InputError(f"{name}='{raw}' is not a {'whole ' if cast is int else ''}number.", hint=f"Unset it or use e.g. {name}={cast(default)}.") from None
    if value < minimum:
        raise InputError(f"{name}={raw} is below {minimum}.", hint=f"Unset it or use e.g. {name}={cast(default)}.")
    return value
