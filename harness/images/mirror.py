"""Which Debian mirror to bootstrap from: the one the host's apt already uses.

Reads ``sources.list`` and ``sources.list.d/*.list`` (one-line format) and
``sources.list.d/*.sources`` (deb822). ``GADGET_DEBIAN_MIRROR`` overrides the choice.
No mirror is ever named here: a machine's own apt configuration is the only source.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ConfigError, EnvError

log = logging.getLogger(__name__)

MIRROR_ENV = "GADGET_DEBIAN_MIRROR"
_SCHEMES = ("http://", "https://", "file:/")


@dataclass(frozen=True)
class AptSource:
    """One apt source entry: where it came from and what it serves."""

    origin: str
    types: tuple[str, ...]
    uris: tuple[str, ...]
    suites: tuple[str, ...]
    components: tuple[str, ...]
    enabled: bool = True

    def serves(self, suite: str) -> bool:
        """True for an enabled binary (``deb``) source of ``suite`` with ``main``."""
        return (self.enabled and "deb" in self.types and suite in self.suites
                and "main" in self.components)


def parse_one_line(text: str, origin: str = "sources.list") -> list[AptSource]:
    """Parse the one-line format: ``deb [options] URI SUITE COMPONENT...``."""
    sources: list[AptSource] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        kind, _, rest = line.partition(" ")
        rest = rest.strip()
        if rest.startswith("["):
            _, closed, rest = rest.partition("]")
            if not closed:
                raise ConfigError(f"{origin}:{number}: unclosed '[' in {raw.strip()!r}")
        fields = rest.split()
        if kind not in ("deb", "deb-src") or len(fields) < 2:
            raise ConfigError(f"{origin}:{number}: expected 'deb URI SUITE COMPONENT...', "
                              f"got {raw.strip()!r}")
        sources.append(AptSource(f"{origin}:{number}", (kind,), (fields[0],), (fields[1],),
                                 tuple(fields[2:])))
    return sources


def parse_deb822(text: str, origin: str = "debian.sources") -> list[AptSource]:
    """Parse deb822 ``.sources`` stanzas (``Types``, ``URIs``, ``Suites``, ``Components``)."""
    sources: list[AptSource] = []
    for number, stanza in _stanzas(text):
        fields = {key.lower(): value for key, value in stanza.items()}
        missing = [name for name in ("types", "uris", "suites") if name not in fields]
        if missing:
            raise ConfigError(f"{origin}:{number}: stanza lacks {', '.join(missing)}")
        sources.append(AptSource(
            f"{origin}:{number}", tuple(fields["types"].split()), tuple(fields["uris"].split()),
            tuple(fields["suites"].split()), tuple(fields.get("components", "").split()),
            enabled=fields.get("enabled", "yes").strip().lower() not in ("no", "false", "0"),
        ))
    return sources


def _stanzas(text: str) -> Iterable[tuple[int, dict[str, str]]]:
    """Yield (first line number, fields) per blank-line-separated stanza."""
    current: dict[str, str] = {}
    start = 0
    key = ""
    for number, raw in enumerate([*text.splitlines(), ""], start=1):
        if raw.startswith("#"):
            continue
        if not raw.strip():
            if current:
                yield start, current
            current, key = {}, ""
            continue
        if raw[0] in " \t" and key:
            current[key] += " " + raw.strip()
            continue
        name, colon, value = raw.partition(":")
        if not colon:
            raise ConfigError(f"line {number}: expected 'Field: value', got {raw.strip()!r}")
        if not current:
            start = number
        key = name.strip()
        current[key] = value.strip()


def read_sources(apt_dir: Path = Path("/etc/apt")) -> list[AptSource]:
    """Every source the host's apt reads, in apt's order (file names sorted)."""
    sources: list[AptSource] = []
    main_list = apt_dir / "sources.list"
    if main_list.is_file():
        sources += parse_one_line(main_list.read_text(), str(main_list))
    parts = apt_dir / "sources.list.d"
    if parts.is_dir():
        for path in sorted(parts.iterdir()):
            if path.suffix == ".list":
                sources += parse_one_line(path.read_text(), str(path))
            elif path.suffix == ".sources":
                sources += parse_deb822(path.read_text(), str(path))
    return sources


def choose_mirror(sources: Iterable[AptSource], suite: str) -> str:
    """The first URI serving ``suite``/main; raises ``EnvError`` when none does."""
    for source in sources:
        if source.serves(suite):
            for uri in source.uris:
                if uri.startswith(_SCHEMES):
                    return uri.rstrip("/")
    raise EnvError(f"no apt source serves Debian {suite!r} (main); set {MIRROR_ENV} to a "
                   f"Debian mirror URL")


def find_mirror(suite: str, apt_dir: Path = Path("/etc/apt"),
                environ: dict[str, str] | None = None) -> str:
    """The mirror to bootstrap ``suite`` from: ``$GADGET_DEBIAN_MIRROR`` or the host's apt's."""
    override = (os.environ if environ is None else environ).get(MIRROR_ENV, "").strip()
    if override:
        if not override.startswith(_SCHEMES):
            raise ConfigError(f"{MIRROR_ENV}: expected an http(s):// or file:/ URL, "
                              f"got {override!r}")
        return override.rstrip("/")
    mirror = choose_mirror(read_sources(apt_dir), suite)
    log.debug("bootstrapping %s from the host's apt mirror", suite)
    return mirror
