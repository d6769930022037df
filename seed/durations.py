"""Durations written as ``30s``, ``30m``, ``2h``, ``1d``, ``1w`` or combined (``1h30m``)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Final

from harness.errors import ConfigError

_PART: Final = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_WHOLE: Final = re.compile(r"^(?:\d+(?:\.\d+)?[smhdw])+$")
_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_LONGEST: Final = timedelta(days=999_999)  # ~2700 years; timedelta itself stops near 2.7M


def parse_duration(text: str, *, what: str = "duration") -> timedelta:
    """A positive ``timedelta`` from ``text``. Raises ``ConfigError`` naming ``what``."""
    compact = text.strip().lower().replace(" ", "")
    if not _WHOLE.fullmatch(compact):
        raise ConfigError(
            f"{what}: {text!r} is not a duration; write e.g. 30m, 2h, 1d or 1h30m"
        )
    seconds = sum(float(n) * _UNITS[unit] for n, unit in _PART.findall(compact))
    if seconds <= 0:
        raise ConfigError(f"{what}: must be more than zero, got {text!r}")
    # Also infinity (digits past a float's range), which timedelta cannot hold.
    if seconds > _LONGEST.total_seconds():
        shown = text if len(text) <= 40 else f"{text[:37]}..."
        raise ConfigError(f"{what}: {shown!r} is too long; at most {_LONGEST.days}d")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """``2d03h``, ``1h05m``, ``2h``, ``4m10s`` or ``12s``: at most the two largest units."""
    seconds = max(0, int(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    for big, small, big_unit, small_unit in (
        (days, hours, "d", "h"), (hours, minutes, "h", "m"), (minutes, secs, "m", "s")
    ):
        if big:
            return f"{big}{big_unit}{small:02d}{small_unit}" if small else f"{big}{big_unit}"
    return f"{secs}s"
