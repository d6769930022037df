"""Payloads with what is per-run taken out, so two runs of one scenario can be compared.

Two relays (or two runs of one) give every seeded world, chat session and work order new
ids and every message a new time. ``Normaliser`` replaces:

- a 24-hex id by the name it was given (``<drone d0>``: the same on every run), else by
  ``<id>``, or by ``<unknown work order>`` for a work order id that no
  relay-to-drone ``submitPrompt`` of the run carried (contract section 11.7 lets relays
  differ on events that name one);
- an RFC 3339 time by ``<time Z>`` or ``<time +hh:mm>``: the instant is per run, the
  offset style is the relay's (section 11.3 lets it differ); a number under a key that
  names a time (``...At``, ``timestamp``, ``...Ms``) by ``<time>``;
- a UUID by ``<uuid>``, the run's id and its tag (in seeded names) by ``<run>``, and the
  port of a loopback or IP address by ``<port>`` (each environment has its own);
- a secret (the value of a key naming a token, secret, password, API key or
  authorization) by ``<secret>``: nothing secret reaches a comparison's reports.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from harness.protocol import Event
from harness.sim.history import Message
from seed.runid import run_tag

ID: Final = "<id>"
UNKNOWN_WORK_ORDER: Final = "<unknown work order>"
SECRET: Final = "<secret>"
RUN: Final = "<run>"

_HEX_ID = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{24}(?![0-9a-fA-F])")
_HOST_PORT = re.compile(
    r"\b(?P<host>\d{1,3}(?:\.\d{1,3}){3}|localhost|\[[0-9a-fA-F:]+\]):\d{2,5}\b")
_UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                   r"[0-9a-fA-F]{12}\b")
_TIME = re.compile(
    r"\b\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?P<offset>Z|[+-]\d\d:\d\d)?")
_TIME_KEY = re.compile(r"(?:At|Ms|^timestamp|^time|^ts)$")
_SECRET_KEY = re.compile(r"token|secret|password|api[-_]?key|authorization", re.IGNORECASE)
_TIMEISH_NUMBER = 10**9  # a number under a time key above this is an epoch, not a duration


def _time_mark(match: re.Match[str]) -> str:
    offset = match["offset"]
    return f"<time {offset}>" if offset else "<time>"


class Normaliser:
    """Normalises the payloads of one run (see the module docstring)."""

    def __init__(self, run_id: str | None = None, unknown_work_orders: Iterable[str] = (),
                 names: Mapping[str, str] | None = None) -> None:
        self._run_id = run_id or None
        self._names = dict(names or {})
        self._tag = run_tag(run_id) if run_id else None
        self._unknown = frozenset(unknown_work_orders)

    @classmethod
    def for_history(cls, history: Iterable[Message], run_id: str | None,
                    names: Mapping[str, str] | None = None) -> Normaliser:
        """A normaliser that knows which work order ids of ``history`` no relay created:
        those a drone named in a stream event that no ``submitPrompt`` to a drone (nor an
        ack of an IDE's ``submitPrompt``) carried."""
        created: set[str] = set()
        named: set[str] = set()
        for message in history:
            if message.event == Event.SUBMIT_PROMPT:
                for value in (message.payload, message.ack):
                    if isinstance(value, dict) and isinstance(value.get("workOrderId"), str) \
                            and message.direction in ("received", "ack"):
                        created.add(value["workOrderId"])
            elif message.kind == "drone" and message.direction == "sent" \
                    and isinstance(message.payload, dict):
                order = message.payload.get("workOrderId")
                if isinstance(order, str):
                    named.add(order)
        return cls(run_id, named - created, names)

    def value(self, value: Any, key: str = "") -> Any:
        """``value`` with every per-run part replaced (a new object; ``value`` is kept)."""
        if key and _SECRET_KEY.search(key) and value is not None:
            return SECRET
        if isinstance(value, dict):
            return {str(k): self.value(v, str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(item) for item in value]
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, int | float) and not isinstance(value, bool) and key \
                and _TIME_KEY.search(key) and abs(value) > _TIMEISH_NUMBER:
            return "<time>"
        return value

    def text(self, text: str) -> str:
        """One string with its ids, times, UUIDs and the run id replaced."""
        if self._run_id and self._run_id in text:
            text = text.replace(self._run_id, RUN)
        if self._tag and self._tag in text:
            text = text.replace(self._tag, RUN)
        if self._unknown and text in self._unknown:
            return UNKNOWN_WORK_ORDER
        text = _TIME.sub(_time_mark, text)
        text = _HOST_PORT.sub(lambda m: f"{m['host']}:<port>", text)
        text = _UUID.sub("<uuid>", text)
        return _HEX_ID.sub(self._id, text)

    def _id(self, found: re.Match[str]) -> str:
        raw = found[0]
        if raw in self._unknown:
            return UNKNOWN_WORK_ORDER
        return self._names.get(raw, ID)
