"""Delivery latency per event type: drone emit to IDE receipt (definitions: docs/reports.md).

A drone's "sent" stream event (``thinking``, ``response``, ``toolCall``,
``workOrderComplete``) is matched to every IDE "received" event with the same
``(workOrderId, seq, event)``; each receipt is one sample, ``received.t - sent.t``. A send
that no IDE received counts as undelivered, unless no IDE was owed it: an emit marked
``negative`` (the relay must drop it) or ``optional`` (it may). Percentiles use the
nearest-rank method.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from harness.protocol import FORWARDED_DRONE_EVENTS
from harness.sim.history import Message

Key = tuple[str, Any, str]


@dataclass(frozen=True)
class LatencyStats:
    """Delivery latency of one event type, in seconds."""

    event: str
    count: int
    p50: float | None
    p95: float | None
    p99: float | None
    max: float | None
    undelivered: int = 0


def percentile(samples: Sequence[float], p: float) -> float | None:
    """The nearest-rank ``p``-th percentile of ``samples`` (None when empty)."""
    if not samples:
        return None
    if not 0 < p <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {p}")
    ordered = sorted(samples)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def stream_key(message: Message) -> Key | None:
    """``(workOrderId, seq, event)`` of a stream event, or None for anything else."""
    payload = message.payload
    if message.event not in FORWARDED_DRONE_EVENTS or not isinstance(payload, dict):
        return None
    work_order = payload.get("workOrderId")
    if not isinstance(work_order, str):
        return None
    return (work_order, payload.get("seq"), message.event)


@dataclass(frozen=True)
class Delivery:
    """One matched delivery: the drone's send and one IDE's receipt."""

    sent: Message
    received: Message

    @property
    def latency(self) -> float:
        """Seconds from the drone's emit to the IDE's receipt."""
        return self.received.t - self.sent.t


def match_deliveries(history: Iterable[Message]) -> tuple[list[Delivery], list[Message]]:
    """Every delivery of a drone stream event to an IDE, and the sends no IDE received.

    A receipt is matched to the latest earlier send with the same key (a resent event
    counts from its last emit).
    """
    sends: dict[Key, list[Message]] = defaultdict(list)
    deliveries: list[Delivery] = []
    delivered: set[int] = set()
    for message in history:
        key = stream_key(message)
        if key is None:
            continue
        if message.kind == "drone" and message.direction == "sent":
            if not (message.meta.get("negative") or message.meta.get("optional")):
                sends[key].append(message)
        elif message.kind == "ide" and message.direction == "received" and sends.get(key):
            sent = sends[key][-1]
            deliveries.append(Delivery(sent, message))
            delivered.add(sent.seq)
    lost = sorted((m for ms in sends.values() for m in ms if m.seq not in delivered),
                  key=lambda m: m.seq)
    return deliveries, lost


def latency_stats(histories: Iterable[Iterable[Message]]) -> list[LatencyStats]:
    """Per event type (in protocol order), the latency of every delivery in ``histories``."""
    samples: dict[str, list[float]] = defaultdict(list)
    undelivered: dict[str, int] = defaultdict(int)
    for history in histories:
        deliveries, lost = match_deliveries(history)
        for delivery in deliveries:
            samples[delivery.sent.event].append(delivery.latency)
        for message in lost:
            undelivered[message.event] += 1
    out: list[LatencyStats] = []
    for event in FORWARDED_DRONE_EVENTS:
        values = samples.get(event, [])
        if not values and not undelivered.get(event):
            continue
        out.append(LatencyStats(event, len(values), percentile(values, 50),
                                percentile(values, 95), percentile(values, 99),
                                max(values) if values else None, undelivered.get(event, 0)))
    return out


def format_ms(value: float | None) -> str:
    """``12.3 ms`` (or ``-`` for no value)."""
    return "-" if value is None else f"{value * 1000:.1f} ms"
