"""Errors raised by the simulated clients (subclasses of the harness tree)."""

from __future__ import annotations

import re

from harness.errors import ExpectationFailed, ScenarioTimeout
from harness.protocol import AUTH_ERRORS

__all__ = ["AckTimeout", "ConnectRefused", "refusal_reason"]


def refusal_reason(message: str) -> str:
    """The reason code a ``connect_error`` message names (contract sections 3 and 11.9: the
    text is free, the code is contract): the message itself when it is a code, else the one
    code it contains as a word, else the whole message (it names no reason)."""
    if message in AUTH_ERRORS:
        return message
    named = [code for code in AUTH_ERRORS if re.search(rf"(?<![\w-]){code}(?![\w-])", message)]
    return named[0] if len(named) == 1 else message


class ConnectRefused(ExpectationFailed):
    """The relay refused a connection (Socket.IO ``connect_error``).

    ``reason`` is the reason code the relay's message names, e.g. ``"auth-denied"``
    (``refusal_reason``); ``message`` is the whole text.
    """

    def __init__(self, actor: str, reason: str, message: str | None = None) -> None:
        text = reason if message in (None, reason) else f"{reason} ({message!r})"
        super().__init__(f"{actor}: the relay refused the connection: {text}")
        self.actor = actor
        self.reason = reason
        self.message = message if message is not None else reason


class AckTimeout(ScenarioTimeout):
    """The ack of an emitted event did not arrive within ``timeout`` seconds
    (or the socket went away while waiting, which means it never will)."""

    def __init__(self, actor: str, event: str, timeout: float, *, detail: str = "") -> None:
        why = f" ({detail})" if detail else ""
        super().__init__(f"{actor}: no ack for {event!r} within {timeout:g}s{why}")
        self.actor = actor
        self.event = event
        self.timeout = timeout
