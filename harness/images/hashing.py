"""Content hashes that name images: same inputs, same tag, nothing to build."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path

TAG_LENGTH = 16
_SKIP_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
_SKIP_SUFFIXES = {".pyc", ".pyo", ".swp"}
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def content_hash(parts: Mapping[str, bytes | str]) -> str:
    """A short hex digest over named parts; names and contents both count, order does not."""
    digest = hashlib.sha256()
    for name in sorted(parts):
        value = parts[name]
        data = value.encode() if isinstance(value, str) else value
        for chunk in (name.encode(), data):
            digest.update(len(chunk).to_bytes(8, "big"))
            digest.update(chunk)
    return digest.hexdigest()[:TAG_LENGTH]


def source_files(root: Path, packages: Iterable[str],
                 extra: Iterable[str] = ()) -> dict[str, bytes]:
    """The files of ``packages`` (directories under ``root``) and ``extra`` files, by path.

    Caches and compiled files are left out, so running the code does not change the hash.
    """
    files: dict[str, bytes] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*")):
            relative = path.relative_to(root)
            if (path.is_file() and path.suffix not in _SKIP_SUFFIXES
                    and not _SKIP_DIRS.intersection(relative.parts)):
                files[relative.as_posix()] = path.read_bytes()
    for name in extra:
        path = root / name
        if path.is_file():
            files[name] = path.read_bytes()
    return files


def requirement_name(requirement: str) -> str | None:
    """The normalized distribution name of a requirement string, or None for an extra's."""
    if re.search(r"""extra\s*==""", requirement):
        return None
    match = _NAME.match(requirement)
    return normalize(match.group(1)) if match else None


def normalize(name: str) -> str:
    """PEP 503 normalized name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned_dependencies(distribution: str) -> dict[str, str]:
    """``name -> version`` of every installed distribution ``distribution`` needs, transitively.

    These become the wheelhouse's constraints, so an image holds what the host tested.
    Extras are not followed; a requirement that is not installed is skipped.
    """
    pinned: dict[str, str] = {}
    pending = [normalize(distribution)]
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        if name != normalize(distribution):
            pinned[name] = dist.version
        for requirement in dist.requires or ():
            if (dependency := requirement_name(requirement)) is not None:
                pending.append(dependency)
    return dict(sorted(pinned.items()))


def constraints_text(pins: Mapping[str, str]) -> str:
    """A pip constraints file pinning ``pins``."""
    return "".join(f"{name}=={version}\n" for name, version in sorted(pins.items()))
