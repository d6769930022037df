"""What workers measure and how the parent merges it.

A worker keeps running totals of the current interval in ``WorkerStats`` and sends them as a
``Snapshot`` (a delta: counts and histograms since the previous snapshot, plus gauges) every
interval; ``RunAggregate`` in the parent merges the deltas of every worker into run totals
and a time series of fixed windows (delivered events and latency per window).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Final

from harness.load.histogram import Histogram

__all__ = ["Gauges", "RunAggregate", "Snapshot", "Window", "WorkerStats"]

ALL: Final = "all"  # the latency histogram of every forwarded event type together


@dataclass
class Gauges:
    """Instant values of one worker."""

    ides: int = 0
    drones: int = 0
    open_streams: int = 0
    in_flight: int = 0


@dataclass
class Snapshot:
    """One worker's delta since its previous snapshot (``t`` is wall-clock ``time.time()``)."""

    worker: int
    t: float
    phase: str
    delivered: dict[str, int] = field(default_factory=dict)
    sent: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    latency: dict[str, Histogram] = field(default_factory=dict)
    timings: dict[str, Histogram] = field(default_factory=dict)  # lock, submit, connect
    violations: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)
    work_orders: int = 0
    crashes: int = 0
    lost_in_crash: int = 0
    gauges: Gauges = field(default_factory=Gauges)
    final: bool = False


class WorkerStats:
    """The counters a worker fills between two snapshots."""

    def __init__(self, worker: int) -> None:
        self.worker = worker
        self._reset()

    def _reset(self) -> None:
        self.delivered: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.latency: dict[str, Histogram] = {}
        self.timings: dict[str, Histogram] = {}
        self.work_orders = 0
        self.crashes = 0

    def latency_of(self, event: str, seconds: float) -> None:
        """A delivery latency (drone emit -> IDE receipt) of ``event`` (the histogram of
        every event, ``ALL``, is merged from these at each snapshot: one record per event)."""
        self.delivered[event] += 1
        histogram = self.latency.get(event)
        if histogram is None:
            histogram = self.latency[event] = Histogram()
        histogram.record(seconds)

    def timing(self, what: str, seconds: float) -> None:
        """An ack round trip (``lock``, ``submit``) or a connect time (``connect``)."""
        histogram = self.timings.get(what)
        if histogram is None:
            histogram = self.timings[what] = Histogram()
        histogram.record(seconds)

    def ack(self, what: str, event: str, seconds: float, error: str | None) -> None:
        """The ack of ``event`` (``what``: ``open``, ``lock``, ``submit``) came after
        ``seconds``; ``error`` is its code when it was no ok."""
        self.timing(what, seconds)
        if error is not None:
            self.error(error)

    def error(self, code: str) -> None:
        """Count one error by its code."""
        self.errors[code] += 1

    def snapshot(self, t: float, phase: str, gauges: Gauges, violations: dict[str, int],
                 samples: list[str], lost_in_crash: int, *, final: bool = False) -> Snapshot:
        """The delta since the last snapshot; counters restart from zero."""
        if self.latency:
            every = self.latency[ALL] = Histogram()
            for histogram in list(self.latency.values()):
                if histogram is not every:
                    every.merge(histogram)
        snap = Snapshot(
            worker=self.worker, t=t, phase=phase, delivered=dict(self.delivered),
            sent=dict(self.sent), errors=dict(self.errors), latency=self.latency,
            timings=self.timings, violations=violations, samples=samples,
            work_orders=self.work_orders, crashes=self.crashes, lost_in_crash=lost_in_crash,
            gauges=gauges,
            final=final,
        )
        self._reset()
        return snap


@dataclass
class Window:
    """The run's activity in one interval of the time series."""

    index: int
    delivered: int = 0
    latency: Histogram = field(default_factory=Histogram)
    phases: set[str] = field(default_factory=set)


class RunAggregate:
    """Every worker's snapshots merged: totals, gauges, and the windowed time series."""

    def __init__(self, started_at: float, interval: float) -> None:
        self.started_at = started_at
        self.interval = interval
        self.delivered: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.latency: dict[str, Histogram] = {}
        self.timings: dict[str, Histogram] = {}
        self.violations: Counter[str] = Counter()
        self.samples: list[str] = []
        self.work_orders = 0
        self.crashes = 0
        self.lost_in_crash = 0
        self.gauges: dict[int, Gauges] = {}
        self.peak_drones = 0
        self.peak_ides = 0
        self.windows: dict[int, Window] = {}
        self.finished: set[int] = set()

    def add(self, snap: Snapshot) -> None:
        """Merge one snapshot."""
        self.delivered.update(snap.delivered)
        self.sent.update(snap.sent)
        self.errors.update(snap.errors)
        for target, source in ((self.latency, snap.latency), (self.timings, snap.timings)):
            for key, histogram in source.items():
                target.setdefault(key, Histogram()).merge(histogram)
        self.violations.update(snap.violations)
        room = 50 - len(self.samples)
        if room > 0:
            self.samples.extend(snap.samples[:room])
        self.work_orders += snap.work_orders
        self.crashes += snap.crashes
        self.lost_in_crash += snap.lost_in_crash
        self.gauges[snap.worker] = snap.gauges
        self.peak_drones = max(self.peak_drones, self.connected_drones)
        self.peak_ides = max(self.peak_ides, sum(g.ides for g in self.gauges.values()))
        index = max(int((snap.t - self.started_at) / self.interval), 0)
        window = self.windows.setdefault(index, Window(index))
        window.delivered += sum(snap.delivered.values())
        if ALL in snap.latency:
            window.latency.merge(snap.latency[ALL])
        window.phases.add(snap.phase)
        if snap.final:
            self.finished.add(snap.worker)

    @property
    def connected_drones(self) -> int:
        """Drones connected now, over every worker."""
        return sum(g.drones for g in self.gauges.values())

    @property
    def total_delivered(self) -> int:
        """Forwarded events received by IDEs so far."""
        return sum(self.delivered.values())

    @property
    def total_violations(self) -> int:
        """Invariant violations so far."""
        return sum(self.violations.values())

    def series(self) -> list[Window]:
        """Every window from the first to the last, empty ones included."""
        if not self.windows:
            return []
        last = max(self.windows)
        return [self.windows.get(i, Window(i)) for i in range(last + 1)]

    def steady_rate(self) -> tuple[float, float]:
        """``(events/s, seconds measured)`` over the windows in which every worker was in
        its steady phase; falls back to every window when there is none."""
        series = self.series()
        steady = [w for w in series if w.phases == {"steady"}]
        chosen = steady or [w for w in series if w.delivered]
        if not chosen:
            return 0.0, 0.0
        seconds = len(chosen) * self.interval
        return sum(w.delivered for w in chosen) / seconds, seconds

    def latency_all(self) -> Histogram:
        """The latency histogram of every forwarded event."""
        return self.latency.get(ALL, Histogram())

    def metrics(self) -> dict[str, float]:
        """The values thresholds are held to (seconds, events/s, counts)."""
        values: dict[str, float] = {}
        for stat, value in self.latency_all().summary().items():
            values[stat] = value
        for scope in ("lock", "submit", "connect"):
            for stat, value in self.timings.get(scope, Histogram()).summary().items():
                values[f"{scope}_{stat}"] = value
        values["rate"] = self.steady_rate()[0]
        values["errors"] = float(sum(self.errors.values()))
        values["violations"] = float(self.total_violations)
        values["delivered"] = float(self.total_delivered)
        return {k: (0.0 if math.isnan(v) else v) for k, v in values.items()}
