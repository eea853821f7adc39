"""The packs and demo schools that ship inside the package, found by name.

This is I/O at the edge: it reads package resources and hands bytes to the pure core.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from rules import Pack, SchoolProfile, SencocalInputError, load_pack, load_profile

BUILTIN_PACKAGE = "rules.packs"
DEMO_PACKAGE = "feedserver.demo"


def _yaml_files(package: str) -> dict[str, bytes]:
    root = resources.files(package)
    return {
        entry.name.removesuffix(".yaml"): entry.read_bytes()
        for entry in sorted(root.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".yaml")
    }


@lru_cache(maxsize=1)
def builtin_packs() -> tuple[Pack, ...]:
    """The built-in packs every school gets unless its profile turns one off."""
    return tuple(
        load_pack(data, f"{name}.yaml") for name, data in _yaml_files(BUILTIN_PACKAGE).items()
    )


@lru_cache(maxsize=1)
def _builtin_digests() -> dict[str, str]:
    import hashlib

    return {
        name: hashlib.sha256(data).hexdigest()
        for name, data in _yaml_files(BUILTIN_PACKAGE).items()
    }


def digest(slug: str) -> str:
    """The content hash of a built-in pack's file (changes when a release changes the pack)."""
    return _builtin_digests()[slug]


@lru_cache(maxsize=1)
def _demo_files() -> dict[str, bytes]:
    return _yaml_files(DEMO_PACKAGE)


def demo_file(name: str) -> bytes:
    """The raw bytes of a bundled demo file (``la-example``, ``demo-primary``, ...)."""
    return _demo_files()[name]


def demo_pack_names() -> list[str]:
    """Names of the bundled demo LA packs."""
    return [name for name in _demo_files() if name.startswith("la-")]


def demo_school_names() -> list[str]:
    """Names of the bundled demo schools."""
    return [name for name in _demo_files() if not name.startswith("la-")]


@lru_cache(maxsize=16)
def demo_pack(name: str) -> Pack:
    """A bundled demo LA pack by name (e.g. ``la-example``)."""
    return load_pack(_demo_files()[name], f"{name}.yaml")


@lru_cache(maxsize=16)
def demo_school(name: str) -> SchoolProfile:
    """A bundled demo school by name (e.g. ``demo-primary``)."""
    return load_profile(_demo_files()[name], f"{name}.yaml")


def la_packs_for(la_code: str) -> list[Pack]:
    """The bundled LA packs published for ``la_code``."""
    packs = [demo_pack(name) for name in demo_pack_names()]
    return [p for p in packs if p.publisher.kind == "la" and p.publisher.code == la_code]


class UnknownName(SencocalInputError):
    """A name that is neither a bundled pack or school nor a file that exists."""


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UnknownName(f"{path}: cannot read the file ({exc.strerror}).") from None


def pack_by_name_or_path(ref: str) -> Pack:
    """A pack from a file path, or a bundled pack (built-in or demo) by name.

    Raises:
        UnknownName: no such file or bundled pack.
        rules.PackRejected: the file is not a valid pack.
    """
    path = Path(ref)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        return load_pack(_read(path), str(path))
    for pack in builtin_packs():
        if pack.pack == ref:
            return pack
    if ref in demo_pack_names():
        return demo_pack(ref)
    known = [p.pack for p in builtin_packs()] + demo_pack_names()
    raise UnknownName(
        f"no pack called '{ref}' (bundled packs: {', '.join(known)}), and no such file"
    )


def school_by_name_or_path(ref: str) -> SchoolProfile:
    """A school profile from a file path, or a bundled demo school by name.

    Raises:
        UnknownName: no such file or demo school.
        rules.PackRejected: the file is not a valid profile.
    """
    path = Path(ref)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        return load_profile(_read(path), str(path))
    if ref in demo_school_names():
        return demo_school(ref)
    raise UnknownName(
        f"no school called '{ref}' (demo schools: {', '.join(demo_school_names())}), "
        "and no such file"
    )


def packs_for(profile: SchoolProfile, extra: list[Pack] | None = None) -> list[Pack]:
    """Pack resolution (DESIGN.md): built-ins not turned off + the LA's pack + extras."""
    off = set(profile.packs_off)
    packs = [p for p in builtin_packs() if p.pack not in off]
    packs += la_packs_for(profile.la_code)
    for pack in extra or []:
        packs = [p for p in packs if p.pack != pack.pack] + [pack]
    return packs
