"""Errors raised by the simulated clients (subclasses of the harness tree)."""

from __future__ import annotations

from harness.errors import ExpectationFailed, ScenarioTimeout

__all__ = ["AckTimeout", "ConnectRefused"]


class ConnectRefused(ExpectationFailed):
    """The relay refused a connection (Socket.IO ``connect_error``).

    ``reason`` is the relay's message, e.g. ``"auth-denied"``.
    """

    def __init__(self, actor: str, reason: str) -> None:
        super().__init__(f"{actor}: the relay refused the connection: {reason}")
        self.actor = actor
        self.reason = reason


class AckTimeout(ScenarioTimeout):
    """The ack of an emitted event did not arrive within ``timeout`` seconds
    (or the socket went away while waiting, which means it never will)."""

    def __init__(self, actor: str, event: str, timeout: float, *, detail: str = "") -> None:
        why = f" ({detail})" if detail else ""
        super().__init__(f"{actor}: no ack for {event!r} within {timeout:g}s{why}")
        self.actor = actor
        self.event = event
        self.timeout = timeout
