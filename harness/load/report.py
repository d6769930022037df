"""A finished load run as a summary table (text) and as JSON."""

from __future__ import annotations

import dataclasses
from typing import Any

from harness.load.histogram import Histogram
from harness.load.metrics import ALL
from harness.load.runner import LoadResult

__all__ = ["result_to_json", "summary_lines"]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def _stats(histogram: Histogram) -> dict[str, float]:
    return {k: (v if k == "count" else round(v * 1000, 3)) for k, v in
            histogram.summary().items()}


def _short_of_drones(peak: int, drones: int, max_connecting: int) -> list[str]:
    if peak >= drones:
        return []
    return [f"note: at most {peak} of the {drones} drones were connected at once: the relay "
            f"set pairs up more slowly than --ramp-up spread them ({max_connecting} at a time "
            "at most); a longer --ramp-up gets them all on"]


def summary_lines(result: LoadResult) -> list[str]:
    """The end-of-run summary: throughput, latency table, acks, errors, verdicts."""
    agg, config = result.aggregate, result.config
    rate, seconds = agg.steady_rate()
    lines = [
        f"relay {result.relay_url}: {config.drones} drones over {len(agg.gauges)} worker(s), "
        f"{result.wall_seconds:.1f}s wall",
        f"delivered {agg.total_delivered} events in {agg.work_orders} work orders; "
        f"{rate:.1f} events/s over {seconds:g}s of steady phase",
        f"peak connected: {agg.peak_drones} drones, {agg.peak_ides} IDEs; "
        f"crashes {agg.crashes}; events cut short by a crash or an IDE leaving: "
        f"{agg.lost_in_crash}",
        *_short_of_drones(agg.peak_drones, config.drones, config.max_connecting),
        "",
        f"{'latency (ms)':<20}{'count':>9}{'p50':>9}{'p90':>9}{'p99':>9}{'max':>9}",
    ]
    for name in sorted(agg.latency, key=lambda n: (n == ALL, n)):
        h = agg.latency[name]
        label = "all events" if name == ALL else name
        lines.append(f"{label:<20}{h.count:>9}{_ms(h.percentile(50)):>9}"
                     f"{_ms(h.percentile(90)):>9}{_ms(h.percentile(99)):>9}{_ms(h.max):>9}")
    for name in sorted(agg.timings):
        h = agg.timings[name]
        lines.append(f"{name + ' (ack/connect)':<20}{h.count:>9}{_ms(h.percentile(50)):>9}"
                     f"{_ms(h.percentile(90)):>9}{_ms(h.percentile(99)):>9}{_ms(h.max):>9}")
    lines.append("")
    if agg.errors:
        lines.append("errors: " + ", ".join(f"{k} x{v}" for k, v in sorted(agg.errors.items())))
    else:
        lines.append("errors: none")
    if agg.violations:
        lines.append("INVARIANT VIOLATIONS: " + ", ".join(
            f"{k} x{v}" for k, v in sorted(agg.violations.items())))
        lines.extend(f"  {sample}" for sample in agg.samples[:10])
    elif not agg.total_delivered:
        lines.append("nothing was delivered: the invariants (exactly-once, order, isolation) "
                     "checked nothing")
    else:
        lines.append("invariants (exactly-once, order, isolation): no violation")
    lines.extend(f"worker failure: {text}" for text in result.worker_failures)
    for verdict in result.thresholds:
        lines.append(f"threshold {verdict.describe()}")
    lines.append("PASS" if result.passed else "FAIL")
    return lines


def result_to_json(result: LoadResult) -> dict[str, Any]:
    """Everything measured, JSON-ready (milliseconds for durations)."""
    agg = result.aggregate
    rate, seconds = agg.steady_rate()
    return {
        "config": dataclasses.asdict(result.config),
        "relayUrl": result.relay_url,
        "wallSeconds": round(result.wall_seconds, 3),
        "rate": round(rate, 2),
        "steadySeconds": seconds,
        "delivered": dict(agg.delivered),
        "sent": dict(agg.sent),
        "workOrders": agg.work_orders,
        "crashes": agg.crashes,
        "lostInCrash": agg.lost_in_crash,
        "peakDrones": agg.peak_drones,
        "peakIdes": agg.peak_ides,
        "latencyMs": {name: _stats(h) for name, h in agg.latency.items()},
        "timingsMs": {name: _stats(h) for name, h in agg.timings.items()},
        "errors": dict(agg.errors),
        "violations": dict(agg.violations),
        "violationSamples": agg.samples,
        "workerFailures": result.worker_failures,
        "series": [
            {"t": w.index * agg.interval, "rate": w.delivered / agg.interval,
             "p99Ms": round(w.latency.percentile(99) * 1000, 3), "phases": sorted(w.phases)}
            for w in agg.series()
        ],
        "thresholds": [
            {"threshold": t.threshold.text, "actual": t.actual, "passed": t.passed}
            for t in result.thresholds
        ],
        "passed": result.passed,
    }
