"""Running the ``harness`` command as a user does: a real process in the repository."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import click
from click.testing import CliRunner

from harness.commands.options import relay_settings_from, relay_tuning_options
from harness.settings import RelaySettings

REPO = Path(__file__).resolve().parents[1]


def run_harness(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m harness.cli ARGS`` from the repository root, output captured."""
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, check=False)


def parse_relay_settings(args: list[str], env: dict[str, str] | None = None) -> RelaySettings:
    """The ``RelaySettings`` a command with ``relay_tuning_options`` builds from ``args``
    and the ``GADGET_*`` variables in ``env``."""
    seen: dict[str, Any] = {}

    @click.command()
    @relay_tuning_options
    def command(**params: Any) -> None:
        seen["settings"] = relay_settings_from(params)

    result = CliRunner().invoke(command, args, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    settings: RelaySettings = seen["settings"]
    return settings
