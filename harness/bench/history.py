"""``benchmarks/history/``: one JSON per ``harness bench`` run, with the commit it measured,
so figures can be followed from change to change."""

from __future__ import annotations

import datetime
import json
import subprocess
from pathlib import Path
from typing import Any

__all__ = ["HISTORY", "save_history"]

HISTORY = Path("benchmarks") / "history"


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, timeout=10,
                              check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def save_history(results: dict[str, Any], kind: str, root: Path = HISTORY) -> Path | None:
    """Write ``results`` as ``<UTC time>-<kind>-<commit>.json`` under ``root`` (when
    ``root``'s parent exists: run from a checkout); returns the file, or None."""
    if not root.parent.is_dir():
        return None
    commit = _git("rev-parse", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    now = datetime.datetime.now(datetime.UTC)
    record = {"kind": kind, "when": now.isoformat(timespec="seconds"), "commit": commit,
              "dirty": dirty, "results": results}
    root.mkdir(exist_ok=True)
    path = root / f"{now:%Y%m%dT%H%M%SZ}-{kind}-{(commit or 'nogit')[:10]}.json"
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return path
