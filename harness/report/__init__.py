"""Reports of a run: the HTML page with sequence diagrams, ``trace.jsonl`` per scenario,
JUnit XML, delivery latency, and the terminal timeline of ``harness show``.

``write_reports(results, report_dir=..., junit_xml=..., title=...)`` writes them all;
``RunReport`` writes them as a run goes (each scenario's part as soon as it is done).
"""

from __future__ import annotations

from harness.errors import TraceError
from harness.report.files import (
    ReportPaths,
    RunReport,
    default_report_dir,
    prune_default_reports,
    write_reports,
)
from harness.report.html import render_html
from harness.report.junit import junit_xml, write_junit
from harness.report.latency import LatencyStats, latency_stats, match_deliveries, percentile
from harness.report.sequence import Diagram, Lane, Row, build_diagram, diagram_of_result
from harness.report.svg import render_svg
from harness.report.timeline import timeline_lines
from harness.report.trace import Trace, read_trace, write_trace

__all__ = [
    "Diagram",
    "Lane",
    "LatencyStats",
    "ReportPaths",
    "Row",
    "RunReport",
    "Trace",
    "TraceError",
    "build_diagram",
    "default_report_dir",
    "diagram_of_result",
    "junit_xml",
    "latency_stats",
    "match_deliveries",
    "percentile",
    "prune_default_reports",
    "read_trace",
    "render_html",
    "render_svg",
    "timeline_lines",
    "write_junit",
    "write_reports",
    "write_trace",
]
