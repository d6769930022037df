"""Running the ``harness`` command as a user does: a real process in the repository."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_harness(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m harness.cli ARGS`` from the repository root, output captured."""
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, check=False)
