"""Report pieces for the terminal: the delivery-latency table of ``harness run``'s summary."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from harness.report.latency import format_ms, latency_stats
from harness.scenario.results import ScenarioResult


def latency_table(results: Sequence[ScenarioResult]) -> Table | None:
    """Per event type: deliveries, p50/p95/p99/max latency, sends never delivered (or None)."""
    stats = latency_stats(r.history for r in results)
    if not stats:
        return None
    table = Table(title="delivery latency (drone emit -> IDE receipt)")
    for column in ("event", "n", "p50", "p95", "p99", "max", "lost"):
        table.add_column(column, justify="left" if column == "event" else "right",
                         no_wrap=True)
    for s in stats:
        table.add_row(s.event, str(s.count), format_ms(s.p50), format_ms(s.p95),
                      format_ms(s.p99), format_ms(s.max),
                      f"[red]{s.undelivered}[/]" if s.undelivered else "0")
    return table
