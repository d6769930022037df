"""Relay profiles: how the harness runs and talks to a relay that is not its own.

A team's relay comes in its own image, with its own configuration names. A profile (a
small YAML file, ``--relay-profile FILE``) writes down the conventions the harness needs,
and every one of them is checked when the file is read::

    image: acme/gadget-web:candidate   # the relay image, run on the harness's compose file
                                       # (${VAR} reads the environment: image: ${RELAY_IMAGE})
    # compose: compose.yml             # or: your own compose file (relay + database)
    # override: compose.override.yml   # merged over the compose file in use
    services: {relay: relay, database: mongo}
    port: 3000                         # the relay's port inside its container
    database_port: 27017               # the database's port inside its container
    ready: /healthz                    # polled from the host until it answers 2xx
    ready_timeout: 120
    env:                               # your variable names for what the harness hands over
      mongo_uri: MONGODB_URL           # the database URI, as seen from the relay's container
      database: MONGODB_DB             # the database name
      admin_token: DEBUG_TOKEN         # leave out when the relay has no introspection
    environment: {NODE_ENV: test}      # passed to the relay as they are
    database: gadget                   # the database the relay uses (seeded by the harness)
    timeouts:                          # the relay's own timeouts, in seconds
      drone_ack_timeout: 5
      termination_ack_timeout: 5
      termination_poll_timeout: 10

Paths are relative to the profile's folder. Errors name the file and line.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from harness.errors import ConfigError, ScenarioError
from harness.protocol import DEFAULT_DATABASE, Route
from harness.settings import RelayTimeouts
from harness.yamlsrc import Document, KeyPath, read_documents

__all__ = ["ENV_KEYS", "RelayProfile", "load_profile"]

ENV_KEYS: Final = ("mongo_uri", "database", "admin_token")
_KEYS: Final = ("image", "compose", "override", "services", "port", "database_port", "ready",
                "ready_timeout", "env", "environment", "database", "timeouts")
_SERVICE_KEYS: Final = ("relay", "database")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SERVICE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
_IMAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@-]*$")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class RelayProfile:
    """A foreign relay's conventions (see the module docstring for the file format)."""

    source: Path
    image: str | None = None
    compose: Path | None = None
    override: Path | None = None
    relay_service: str = "relay"
    database_service: str = "mongo"
    port: int = 8080
    database_port: int = 27017
    ready: str = Route.HEALTHZ
    ready_timeout: float = 120.0
    env: dict[str, str] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    database: str = DEFAULT_DATABASE
    timeouts: RelayTimeouts = field(default_factory=RelayTimeouts)
    timeouts_given: frozenset[str] = frozenset()

    @property
    def relay_label(self) -> str:
        """What summaries call this relay."""
        what = self.image or f"service {self.relay_service} of {self.compose}"
        return f"{what} (profile {self.source})"

    def relay_environment(self, mongo_uri: str, database: str,
                          admin_token: str | None) -> dict[str, str]:
        """The relay container's variables: the fixed ones, then the handed-over values
        under the relay's own names."""
        values = {"mongo_uri": mongo_uri, "database": database, "admin_token": admin_token}
        env = dict(self.environment)
        for key, name in self.env.items():
            value = values[key]
            if value is not None:
                env[name] = value
        return env


def load_profile(path: Path) -> RelayProfile:
    """Read and check a profile; raises ``ConfigError`` naming the file and line."""
    try:
        documents = read_documents(path)  # size, encoding, nesting and alias limits
    except OSError as exc:
        raise ConfigError(f"--relay-profile {path}: cannot read it ({exc.strerror or exc})") \
            from exc
    except ScenarioError as exc:
        raise ConfigError(str(exc)) from exc
    if len(documents) != 1 or not isinstance(documents[0].data, dict):
        raise ConfigError(f"{path}:1: a relay profile is one YAML mapping (image:, compose:, "
                          "port:, env:, ...)")
    return _Reader(documents[0]).profile()


class _Reader:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.data: dict[str, Any] = doc.data
        self.folder = doc.file.parent

    def fail(self, path: KeyPath, message: str) -> ConfigError:
        where = ".".join(str(part) for part in path)
        return ConfigError(f"{self.doc.file}:{self.doc.line_of(path)}: {where}: {message}")

    def profile(self) -> RelayProfile:
        for key in self.data:
            if key not in _KEYS:
                raise self.fail((key,), f"unknown key; known: {', '.join(_KEYS)}")
        image = self.text("image", _IMAGE, "an image reference such as acme/relay:1.2")
        compose = self.file("compose")
        if image is None and compose is None:
            raise ConfigError(f"{self.doc.file}:{self.doc.line}: give the relay as image: "
                              "(run on the harness's compose file) or compose: (your own)")
        services = self.mapping("services", _SERVICE_KEYS, _SERVICE, "a compose service name")
        env = self.mapping("env", ENV_KEYS, _NAME, "an environment variable name")
        if compose is None and "mongo_uri" not in env:
            raise self.fail(("env",), "mongo_uri: needed with image: (the name of the variable "
                                      "your relay reads its database URI from)")
        timeouts, given = self.timeouts()
        return RelayProfile(
            source=self.doc.file, image=image, compose=compose, override=self.file("override"),
            relay_service=services.get("relay", "relay"),
            database_service=services.get("database", "mongo"),
            port=self.port("port", 8080), database_port=self.port("database_port", 27017),
            ready=self.ready(), ready_timeout=self.seconds("ready_timeout", 120.0),
            env=env, environment=self.environment(),
            database=self.text("database", _SERVICE, "a database name") or DEFAULT_DATABASE,
            timeouts=timeouts, timeouts_given=given,
        )

    def text(self, key: str, pattern: re.Pattern[str], what: str) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, str) and "${" in value:
            value = self.expand(key, value)
        if not isinstance(value, str) or not pattern.match(value):
            raise self.fail((key,), f"expected {what}, got {value!r}")
        return value

    def expand(self, key: str, value: str) -> str:
        def variable(match: re.Match[str]) -> str:
            name = match.group(1)
            if not os.environ.get(name):
                raise self.fail((key,), f"${{{name}}} is not set in the environment")
            return os.environ[name]

        return _VARIABLE.sub(variable, value)

    def file(self, key: str) -> Path | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise self.fail((key,), f"expected a file path, got {value!r}")
        path = (self.folder / value).resolve()
        if not path.is_file():
            raise self.fail((key,), f"no such file: {path}")
        return path

    def mapping(self, key: str, keys: tuple[str, ...], pattern: re.Pattern[str],
                what: str) -> dict[str, str]:
        value = self.data.get(key) or {}
        if not isinstance(value, dict):
            raise self.fail((key,), f"expected a mapping of {', '.join(keys)}")
        for name, item in value.items():
            if name not in keys:
                raise self.fail((key, name), f"unknown key; known: {', '.join(keys)}")
            if not isinstance(item, str) or not pattern.match(item):
                raise self.fail((key, name), f"expected {what}, got {item!r}")
        return dict(value)

    def environment(self) -> dict[str, str]:
        value = self.data.get("environment") or {}
        if not isinstance(value, dict):
            raise self.fail(("environment",), "expected a mapping of NAME: value")
        out: dict[str, str] = {}
        for name, item in value.items():
            if not isinstance(name, str) or not _NAME.match(name):
                raise self.fail(("environment", name), "expected an environment variable name")
            if isinstance(item, dict | list) or item is None:
                raise self.fail(("environment", name), f"expected a text or number, got {item!r}")
            out[name] = str(item).lower() if isinstance(item, bool) else str(item)
        return out

    def port(self, key: str, default: int) -> int:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
            raise self.fail((key,), f"expected a port 1..65535, got {value!r}")
        return value

    def seconds(self, key: str, default: float, path: KeyPath | None = None,
                data: dict[str, Any] | None = None) -> float:
        value = (data if data is not None else self.data).get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise self.fail(path or (key,), f"expected seconds > 0, got {value!r}")
        return float(value)

    def ready(self) -> str:
        value = self.data.get("ready", Route.HEALTHZ)
        if not isinstance(value, str) or not value.startswith("/"):
            raise self.fail(("ready",), f"expected an HTTP path such as /healthz, got {value!r}")
        return value

    def timeouts(self) -> tuple[RelayTimeouts, frozenset[str]]:
        value = self.data.get("timeouts") or {}
        if not isinstance(value, dict):
            raise self.fail(("timeouts",), "expected a mapping of "
                            + ", ".join(RelayTimeouts.names()))
        known = RelayTimeouts.names()
        for name in value:
            if name not in known:
                raise self.fail(("timeouts", name), f"unknown timeout; known: {', '.join(known)}")
        defaults = RelayTimeouts()
        seconds = {name: self.seconds(name, getattr(defaults, name), ("timeouts", name), value)
                   for name in known}
        return RelayTimeouts(**seconds), frozenset(value)
