"""How long each scenario took last time, so the next run starts the long ones first.

``harness run`` keeps them in ``.harness/durations.json`` (scenario id -> seconds), as
pytest keeps its cache: a missing or unreadable file only means no history (the ``slow``
tag is the guess then), never an error. Only finished scenarios (passed or failed) are
kept; a skipped or cancelled one says nothing about its length.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from harness.outcome.results import ScenarioResult

__all__ = ["DURATIONS_FILE", "read_durations", "save_durations"]

log = logging.getLogger(__name__)

DURATIONS_FILE: Final = Path(".harness") / "durations.json"


def read_durations(path: Path = DURATIONS_FILE) -> dict[str, float]:
    """The durations kept at ``path``; empty when there are none or they cannot be read."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {key: float(value) for key, value in data.items()
            if isinstance(key, str) and isinstance(value, int | float)
            and not isinstance(value, bool) and value >= 0}


def save_durations(results: Iterable[ScenarioResult], path: Path = DURATIONS_FILE) -> None:
    """Merge the durations of the finished ``results`` into ``path`` (best effort: a file
    that cannot be written is logged at debug level, the run goes on)."""
    known = read_durations(path)
    known.update({r.scenario.id: round(r.duration, 3) for r in results
                  if r.status in ("passed", "failed")})
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + f".{os.getpid()}")
        partial.write_text(json.dumps(known, indent=0, sort_keys=True) + "\n",
                           encoding="utf-8")
        partial.replace(path)  # whole or not at all, if two runs finish at once
    except OSError as exc:
        log.debug("could not keep scenario durations in %s: %s", path, exc)
