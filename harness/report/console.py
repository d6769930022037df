"""Report pieces for the terminal: the delivery-latency table of ``harness run``'s summary.

Every cell is a ``rich.text.Text``: event names come from the relay under test, and text
is never read as Rich markup (a name like ``[/x]`` would otherwise raise ``MarkupError``).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text

from harness.outcome.results import ScenarioResult
from harness.report.latency import format_ms, latency_stats


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
        cells = (s.event, str(s.count), format_ms(s.p50), format_ms(s.p95), format_ms(s.p99),
                 format_ms(s.max))
        table.add_row(*(Text(cell) for cell in cells),
                      Text(str(s.undelivered), style="red" if s.undelivered else ""))
    return table
