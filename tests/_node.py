"""What the tests that run Node.js (the independent relay, the real socket.io-client) need."""

from __future__ import annotations

import shutil
from pathlib import Path


def node_missing(folder: Path, module: str) -> str | None:
    """Why Node.js with ``folder``'s ``module`` installed cannot run, or None when it can
    (``make test`` installs the modules with ``npm ci`` when npm is there)."""
    if shutil.which("node") is None:
        return "no `node` on PATH (Node.js 18 or newer)"
    if not (folder / "node_modules" / module).is_dir():
        return f"no node_modules in {folder} (npm ci --prefix {folder})"
    return None
