"""Choosing an environment by name: the one place that knows every kind."""

from __future__ import annotations

from typing import Any

from harness.env.base import Environment
from harness.env.external import ExternalEnvironment
from harness.env.local import LocalEnvironment
from harness.errors import ConfigError

ENVIRONMENT_KINDS = ("local", "compose", "external")


def open_environment(kind: str, **options: Any) -> Environment:
    """Build an (unstarted) environment of ``kind`` from keyword options.

    ``local`` takes ``settings`` (RelaySettings), ``database_server``, ``log_dir``;
    ``compose`` takes the same (the relay and database in containers, see
    ``harness.env.compose``);
    ``external`` takes ``relay_url``, ``mongo_uri``, ``database``, ``admin_token``.
    Raises ``ConfigError`` for an unknown kind or a missing option.
    """
    if kind == "local":
        return LocalEnvironment(**options)
    if kind == "compose":
        from harness.env.compose import ComposeEnvironment  # imports testcontainers: lazily

        compose: Environment = ComposeEnvironment(**options)
        return compose
    if kind == "external":
        missing = [name for name in ("relay_url", "mongo_uri") if not options.get(name)]
        if missing:
            flags = ", ".join("--" + name.replace("_", "-") for name in missing)
            raise ConfigError(f"--env external needs {flags}")
        return ExternalEnvironment(**options)
    raise ConfigError(f"--env: unknown environment {kind!r}; choose from "
                      f"{', '.join(ENVIRONMENT_KINDS)}")
