"""Settings shared by every ``harness`` command, with environment defaults read in one place.

Each setting has a CLI flag (see ``harness.commands.options``) and an environment variable
``GADGET_<NAME>``; the flag wins over the variable, the variable over the default.
"""

from __future__ import annotations

import dataclasses
import os
import re
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
    "lock-retry-ok",
    "termination-waits-for-transport",
    "restart-strands-clients",
    "no-heartbeat-reaping",
)


class Variant:
    """Names of the reference relay's variants (``--variant NAME``).

    Each switches the relay to the *other* answer that contract v1.1 allows on one point
    (section 11, or sections 4 and 10); without any, the relay gives the reference answers.
    A variant is never a bug: the scenario pack must pass on every combination.
    """

    ERROR_PRECEDENCE: Final = "error-precedence"
    EXTRA_FIELDS: Final = "extra-fields"
    UNDERSCORE_IDS: Final = "underscore-ids"
    Z_TIMESTAMPS: Final = "z-timestamps"
    STRING_DATES: Final = "string-dates"
    ACK_AFTER_STREAM: Final = "ack-after-stream"
    RECOVERED_NULL: Final = "recovered-null"
    WRONG_SIDE_IGNORED: Final = "wrong-side-ignored"
    UNKNOWN_WORK_ORDER_FORWARDED: Final = "unknown-work-order-forwarded"
    UNKNOWN_WORK_ORDER_REFUSED: Final = "unknown-work-order-refused"
    BLANK_PROMPT_ACCEPTED: Final = "blank-prompt-accepted"
    OTHER_MESSAGES: Final = "other-messages"
    LOCK_PENDING_REFUSED: Final = "lock-pending-refused"
    PARTIAL_INTROSPECTION: Final = "partial-introspection"


VARIANT_DESCRIPTIONS: Final[dict[str, str]] = {
    Variant.ERROR_PRECEDENCE:
        "11.1: ids before shape, a non-string id is invalid-id, not-locked/drone-locked "
        "before drone-offline",
    Variant.EXTRA_FIELDS:
        "11.2, 10: extra fields on acks, errors, protocolError, forwarded events, HTTP "
        "bodies, workOrder; an extra introspection map",
    Variant.UNDERSCORE_IDS:
        "11.2: the recovery workOrder and the HTTP registration carry their id as _id only",
    Variant.Z_TIMESTAMPS:
        "11.3: datetimes on the wire end in Z (milliseconds) instead of +00:00",
    Variant.STRING_DATES:
        "11.3: lastSeenAt, completedAt and work order createdAt stored as RFC 3339 strings",
    Variant.ACK_AFTER_STREAM:
        "11.4: submitPrompt acked after its first forwarded stream event; "
        "requestSessionLock acked before droneStatus busy",
    Variant.RECOVERED_NULL:
        "11.5: droneRecovered {chatSessionId: null} when crash recovery finds no lock",
    Variant.WRONG_SIDE_IGNORED:
        "11.6: events of the wrong side and unknown events get no ack at all",
    Variant.UNKNOWN_WORK_ORDER_FORWARDED:
        "11.7: workOrderComplete of an unknown work order forwarded to the locking chat "
        "session",
    Variant.UNKNOWN_WORK_ORDER_REFUSED:
        "11.7: a stream event of a work order the relay did not create refused not-found",
    Variant.BLANK_PROMPT_ACCEPTED:
        "11.8: a blank prompt is accepted",
    Variant.OTHER_MESSAGES:
        "11.9: other message texts, and another connect_error message and data",
    Variant.LOCK_PENDING_REFUSED:
        "4: a lock request while another waits for the drone's ack is drone-locked at once",
    Variant.PARTIAL_INTROSPECTION:
        "10: the introspection answer leaves out codeSessionsByChatSession",
}
"""Each variant with a one-line description (its contract section first)."""

VARIANTS: Final = tuple(VARIANT_DESCRIPTIONS)

CORS_ANY: Final = "*"
"""``--cors-origin '*'``: every origin may call the relay, without credentials."""

CORS_ORIGIN_PATTERN: Final = re.compile(
    r"(?P<scheme>https?)://"
    r"(?P<host>\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)"
    r"(?::(?P<port>[0-9]{1,5}|\*))?",
    re.IGNORECASE,
)
"""A ``--cors-origin`` entry (``fullmatch``): ``http(s)://host[:port]``, where the port may
be ``*`` (any port); no user, path, query or trailing slash, as browsers send ``Origin``."""

_ENV_NAMES: Final = {"cors_origins": "CORS_ORIGIN"}  # the variable is named as its flag


def cors_origin_problem(origin: str) -> str | None:
    """What is wrong with one ``--cors-origin`` entry, or None when it is valid."""
    if origin == CORS_ANY:
        return None
    match = CORS_ORIGIN_PATTERN.fullmatch(origin)
    if match is None:
        return ("expected '*' or scheme://host[:port] (scheme http or https, port a number "
                "or *), e.g. https://ide.example.com or http://localhost:*")
    port = match["port"]
    if port not in (None, "*") and not 0 < int(port) <= 65535:
        return f"port {port} is out of range (1..65535)"
    return None


class Heartbeat:
    """Engine.IO heartbeat and termination grace, in seconds.

    Not part of the contract. ``SOCKETIO_PING_*`` are socket.io's (and python-engineio's)
    defaults, what a relay under test most likely runs with unless stated otherwise.
    ``PING_*`` are the reference relay's: shorter, so a client that vanishes without
    closing its connection (a polling one whose process exits, a half-open TCP connection)
    is noticed within ``PING_INTERVAL + PING_TIMEOUT`` = 5 s and the network scenarios
    run in seconds, not minutes.
    """

    SOCKETIO_PING_INTERVAL: Final = 25.0
    SOCKETIO_PING_TIMEOUT: Final = 20.0
    PING_INTERVAL: Final = 2.0
    PING_TIMEOUT: Final = 3.0
    TERMINATION_EXIT_GRACE: Final = 1.0


@dataclass(frozen=True)
class RelayTimeouts:
    """The timeouts of the relay under test, in seconds, as scenarios must wait them out.

    For the reference relay they are its settings; for any other relay the user states
    them (``--drone-ack-timeout`` and friends, or a relay profile's ``timeouts:``), since the
    harness cannot read them. Scenarios read them as ``${relay.drone_ack_timeout}`` etc.
    The defaults are the contract's (sections 4 and 8).
    """

    drone_ack_timeout: float = Defaults.DRONE_ACK_TIMEOUT
    termination_ack_timeout: float = Defaults.TERMINATION_ACK_TIMEOUT
    termination_poll_timeout: float = Defaults.TERMINATION_POLL_TIMEOUT
    ping_interval: float = Heartbeat.SOCKETIO_PING_INTERVAL
    """The relay's heartbeat: a client that stops answering is gone after
    ``ping_interval + ping_timeout`` (``${relay.heartbeat}``); socket.io's defaults."""
    ping_timeout: float = Heartbeat.SOCKETIO_PING_TIMEOUT

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ConfigError(f"--{field.name.replace('_', '-')}: expected seconds > 0, "
                                  f"got {value!r}")

    @property
    def heartbeat(self) -> float:
        """How long a silent client (a half-open connection, a polling client that died)
        can stay connected before the relay's heartbeat drops it."""
        return self.ping_interval + self.ping_timeout

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The field names (what a relay profile's ``timeouts:`` and the flags state)."""
        return tuple(field.name for field in dataclasses.fields(cls))

    @classmethod
    def readable(cls) -> tuple[str, ...]:
        """What ``${relay.<name>}`` can read: the fields and ``heartbeat``."""
        return (*cls.names(), "heartbeat")


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
    termination_exit_grace: float = Heartbeat.TERMINATION_EXIT_GRACE
    """How long a drone that accepted termination has to go before the relay ends its
    session itself (it need not wait for the drone's transport to notice the exit)."""
    ping_interval: float = Heartbeat.PING_INTERVAL
    ping_timeout: float = Heartbeat.PING_TIMEOUT
    admin_token: str | None = None
    log_level: str = "INFO"
    regressions: frozenset[str] = frozenset()
    variants: frozenset[str] = frozenset()
    cors_origins: tuple[str, ...] = ()
    """Browser origins allowed to call the relay (``--cors-origin``); empty: the relay's
    own origin and loopback origins on any port; ``("*",)``: any, without credentials."""

    def __post_init__(self) -> None:
        unknown = sorted(self.regressions - set(REGRESSIONS))
        if unknown:
            raise ConfigError(
                f"--regress: unknown switch {', '.join(unknown)}; "
                f"choose from {', '.join(REGRESSIONS)}"
            )
        unknown = sorted(self.variants - set(VARIANTS))
        if unknown:
            raise ConfigError(
                f"--variant: unknown variant {', '.join(unknown)}; "
                f"choose from {', '.join(VARIANTS)}"
            )
        for field in (
            "drone_ack_timeout",
            "termination_ack_timeout",
            "termination_poll_timeout",
            "termination_poll_interval",
            "termination_exit_grace",
            "ping_interval",
            "ping_timeout",
        ):
            if getattr(self, field) <= 0:
                raise ConfigError(f"--{field.replace('_', '-')} must be > 0")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"--port must be 0..65535, got {self.port}")
        for origin in self.cors_origins:
            if problem := cors_origin_problem(origin):
                raise ConfigError(f"--cors-origin {origin!r}: {problem}")
        if CORS_ANY in self.cors_origins and set(self.cors_origins) != {CORS_ANY}:
            raise ConfigError("--cors-origin '*' allows every origin: give it alone")

    @classmethod
    def for_load(cls) -> RelaySettings:
        """The reference relay as load runs and benchmarks drive it: warnings only (a log
        line per connection would cost more than the load) and socket.io's heartbeat, as a
        production relay runs, not the short one of the scenario pack."""
        return cls(log_level="WARNING", ping_interval=Heartbeat.SOCKETIO_PING_INTERVAL,
                   ping_timeout=Heartbeat.SOCKETIO_PING_TIMEOUT)

    @property
    def timeouts(self) -> RelayTimeouts:
        """The timeouts scenarios wait out on this relay."""
        return RelayTimeouts(self.drone_ack_timeout, self.termination_ack_timeout,
                             self.termination_poll_timeout, self.ping_interval,
                             self.ping_timeout)

    def regressed(self, switch: str) -> bool:
        """True when the known-bug switch ``switch`` is on."""
        return switch in self.regressions

    def variant(self, name: str) -> bool:
        """True when the relay gives the other allowed answer ``name`` (see ``VARIANTS``)."""
        return name in self.variants

    def to_env(self) -> dict[str, str]:
        """The settings as ``GADGET_*`` environment variables (for child processes)."""
        env: dict[str, str] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is None:
                continue
            if isinstance(value, frozenset):
                value = " ".join(sorted(value))
            elif isinstance(value, tuple):
                value = " ".join(value)
            name = _ENV_NAMES.get(field.name, field.name.upper())
            env[ENV_PREFIX + name] = str(value)
        return env


def env_default(name: str, default: str | None = None,
                environ: Mapping[str, str] | None = None) -> str | None:
    """The value of ``GADGET_<NAME>`` or ``default``."""
    source = os.environ if environ is None else environ
    return source.get(ENV_PREFIX + name.upper(), default)
