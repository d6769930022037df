"""The messages between a Locust process and its agent: one JSON object per line.

To the agent::

    {"op": "config", "relay_url": URL, "config": {LoadConfig fields}}        first, once
    {"op": "start", "id": N, "user": U, "pairs": [{...}, ...], "watcher": BOOL,
     "crash_rate": F, "ide_churn": F}        a user's pairs (several: of one seeded user)
    {"op": "prompt", "id": N, "user": U}     a work order on each of its drones at once
    {"op": "stop", "id": N, "user": U}
    {"op": "finish", "id": N}                   close every pair, settle the checker

From the agent::

    {"re": N, "ok": BOOL, "ms": F, "outcome": CODE|null}      the answer to request N
    {"op": "records", "r": [[KIND, NAME, MS, LENGTH, ERROR|null], ...]}
    {"op": "report", "violations": {...}, "samples": [...], "delivered": N,
     "cut_short": N, "ides": N, "drones": N}                   deltas, every second

A record is one Locust request: ``event`` (a stream event delivered to an IDE: latency from
the drone's emit), ``ack`` (an IDE request's round trip), ``connect``, ``workOrder`` (from
the submit to ``workOrderComplete``) or ``error`` (a failure with no round trip of its own).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Final

import orjson

from harness.errors import ConfigError
from harness.load.config import Pair

__all__ = ["KINDS", "Record", "decode", "encode", "pair_from_dict", "pair_to_dict"]

KINDS: Final = ("event", "ack", "connect", "workOrder", "error")

Record = tuple[str, str, float, int, str | None]  # kind, name, ms, length, error


def encode(message: dict[str, Any]) -> bytes:
    """One line (with its newline)."""
    return orjson.dumps(message) + b"\n"


def decode(line: bytes | str, where: str) -> dict[str, Any]:
    """One line as an object; ``ConfigError`` naming ``where`` when it is not one."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ConfigError(f"{where}: not a JSON line ({exc}): {str(line)[:80]!r}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a JSON object, got {str(line)[:80]!r}")
    return value


def pair_to_dict(pair: Pair) -> dict[str, Any]:
    """A pair as plain data (its tokens included: it travels to the agent only)."""
    return asdict(pair)


def pair_from_dict(data: Any, where: str) -> Pair:
    """The pair ``data`` describes; ``ConfigError`` naming the missing or wrong field."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: pair: expected an object")
    fields = {"index": int, "user_id": str, "chat_session_id": str, "registration_id": str,
              "user_token": str, "drone_token": str}
    for name, kind in fields.items():
        if not isinstance(data.get(name), kind) or isinstance(data.get(name), bool):
            raise ConfigError(f"{where}: pair.{name}: expected {kind.__name__}")
    return Pair(**{name: data[name] for name in fields})
