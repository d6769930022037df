"""Settings shared by every ``harness`` command, with environment defaults read in one place.

Each setting has a CLI flag (see ``harness.cli_options``) and an environment variable
``GADGET_<NAME>``; the flag wins over the variable, the variable over the default.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from harness.errors import ConfigError
from harness.protocol import DEFAULT_DATABASE, Defaults

ENV_PREFIX: Final = "GADGET_"

REGRESSIONS: Final = (
    "lookup-by-socket-id",
    "no-termination-handler",
    "stale-index-on-disconnect",
)


@dataclass(frozen=True)
class RelaySettings:
    """How a relay process listens, where its database is, and its timeouts (seconds)."""

    host: str = "127.0.0.1"
    port: int = 8080
    mongo_uri: str = "mongodb://127.0.0.1:27017"
    database: str = DEFAULT_DATABASE
    drone_ack_timeout: float = Defaults.DRONE_ACK_TIMEOUT
    termination_ack_timeout: float = Defaults.TERMINATION_ACK_TIMEOUT
    termination_poll_timeout: float = Defaults.TERMINATION_POLL_TIMEOUT
    termination_poll_interval: float = Defaults.TERMINATION_POLL_INTERVAL
    admin_token: str | None = None
    log_level: str = "INFO"
    regressions: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        unknown = sorted(self.regressions - set(REGRESSIONS))
        if unknown:
            raise ConfigError(
                f"--regress: unknown switch {', '.join(unknown)}; "
                f"choose from {', '.join(REGRESSIONS)}"
            )
        for field in (
            "drone_ack_timeout",
            "termination_ack_timeout",
            "termination_poll_timeout",
            "termination_poll_interval",
        ):
            if getattr(self, field) <= 0:
                raise ConfigError(f"--{field.replace('_', '-')} must be > 0")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"--port must be 0..65535, got {self.port}")

    def regressed(self, switch: str) -> bool:
        """True when the known-bug switch ``switch`` is on."""
        return switch in self.regressions

    def to_env(self) -> dict[str, str]:
        """The settings as ``GADGET_*`` environment variables (for child processes)."""
        env: dict[str, str] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is None:
                continue
            if isinstance(value, frozenset):
                value = " ".join(sorted(value))
            env[ENV_PREFIX + field.name.upper()] = str(value)
        return env


def env_default(name: str, default: str | None = None,
                environ: Mapping[str, str] | None = None) -> str | None:
    """The value of ``GADGET_<NAME>`` or ``default``."""
    source = os.environ if environ is None else environ
    return source.get(ENV_PREFIX + name.upper(), default)
