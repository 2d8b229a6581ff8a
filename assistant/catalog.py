"""Where brand profiles, platform rules and prompt templates are found: the user's folders, then the bundled ones."""

from __future__ import annotations

import difflib
import os
from functools import cached_property
from pathlib import Path

from .brands import BrandProfile, load_brand
from .errors import InputError, NotFoundError
from .platforms import PlatformRules, load_platform

PACKAGE_DIR = Path(__file__).resolve().parent


def bundled_dir(name: str) -> Path:
    """A folder shipped with the package: inside it when installed from a wheel, beside it in a checkout."""
    inside = PACKAGE_DIR / name
    return inside if inside.is_dir() else PACKAGE_DIR.parent / name


def _user_dir(value: str | os.PathLike | None, env: str, flag: str) -> Path | None:
    raw = value if value is not None else os.environ.get(env) or None
    if raw is None:
        return None
    path = Path(raw).expanduser()
    if not path.is_dir():
        source = flag if value is not None else env
        raise InputError(f"{source}: {path} is not a folder.", hint="Create it, or point at an existing folder.")
    return path


def suggest(name: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
    return (f"Did you mean '{close[0]}'? " if close else "") + f"Valid: {', '.join(valid)}."


class Catalog:
    """The brands, platforms and prompt folders one session works with. Files are read once and cached."""

    def __init__(self, brands_dir=None, prompts_dir=None, platforms_dir=None):
        self.brands_dir = _user_dir(brands_dir, "ASSISTANT_BRANDS_DIR", "--brands-dir") or bundled_dir("brand_profiles")
        self.prompts_dir = _user_dir(prompts_dir, "ASSISTANT_PROMPTS_DIR", "--prompts-dir")
        self.platforms_dir = _user_dir(platforms_dir, "ASSISTANT_PLATFORMS_DIR", "--platforms-dir")
        self._brands: dict[str, BrandProfile] = {}

    # Platforms -----------------------------------------------------------------------------------
    @cached_property
    def platform_files(self) -> dict[str, Path]:
        files = {p.stem: p for p in sorted((PACKAGE_DIR / "data" / "platforms").glob("*.yaml"))}
        if self.platforms_dir:  # the user's file for a platform replaces the bundled one
            files.update({p.stem: p for p in sorted(self.platforms_dir.glob("*.yaml"))})
        return files

    @cached_property
    def platforms(self) -> dict[str, PlatformRules]:
        return {pid: load_platform(path) for pid, path in self.platform_files.items()}

    def platform(self, platform_id: str) -> PlatformRules:
        if platform_id not in self.platform_files:
            raise NotFoundError(f"Unknown platform '{platform_id}'.", hint=suggest(platform_id, sorted(self.platform_files)))
        return self.platforms[platform_id]

    # Brands --------------------------------------------------------------------------------------
    def brand_files(self) -> dict[str, Path]:
        return {p.stem: p for p in sorted(self.brands_dir.glob("*.yaml")) + sorted(self.brands_dir.glob("*.yml"))}

    def brand_ids(self) -> list[str]:
        return sorted(self.brand_files())

    def brand(self, brand: str | BrandProfile) -> BrandProfile:
        """A brand by id (file name without .yaml), or by path to a profile file."""
        if isinstance(brand, BrandProfile):
            return brand
        if brand not in self._brands:
            path = self.brand_files().get(brand)
            if path is None and brand.endswith((".yaml", ".yml")):
                path = Path(brand)
            if path is None:
                raise NotFoundError(
                    f"Unknown brand '{brand}' (looked in {self.brands_dir}).",
                    hint=suggest(brand, self.brand_ids()) if self.brand_ids() else "Add a profile YAML there or set --brands-dir.",
                )
            self._brands[brand] = load_brand(path, set(self.platform_files))
        return self._brands[brand]

    def reload(self) -> None:
        """Forget cached brand profiles, e.g. after one was edited or saved. Platform rules stay: they are
        not edited at run time, and keeping the same objects keeps the caches keyed on them valid."""
        self._brands.clear()
