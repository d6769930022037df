"""Delivery latency per event type: drone emit to IDE receipt (definitions: docs/reports.md).

Which receipt delivers which send is ``harness.outcome.deliveries.pair``, the pairing the
delivery invariant uses: each receipt of an owed send is one sample,
``received.t - sent.t``; a send an IDE it was owed never received is lost (so the lost
count, the sequence diagram's lost rows and the invariant's "missing" speak of the same
sends). An emit marked ``negative`` or ``optional`` is owed to nobody: neither a sample nor
lost. Percentiles use the nearest-rank method.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from harness.outcome.deliveries import paired
from harness.protocol import FORWARDED_DRONE_EVENTS
from harness.sim.history import Message


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
    """Every delivery of an owed drone stream event to an IDE, and the sends that an IDE
    they were owed never received (``harness.outcome.deliveries``), in history order."""
    deliveries = paired(history if isinstance(history, tuple | list) else tuple(history))
    matched = [Delivery(r.send.message, r.message) for r in deliveries.receipts
               if r.send is not None and r.send.owed]
    return matched, [missed.send.message for missed in deliveries.lost()]


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
