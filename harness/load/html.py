"""An offline HTML page of a load run: summary, throughput and p99 over time, and the latency
histogram, drawn as inline SVG (no script, no network)."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

from harness.load.histogram import Histogram
from harness.load.report import summary_lines
from harness.load.runner import LoadResult

__all__ = ["bar_chart", "line_chart", "render_html"]

_W, _H, _PAD = 720, 240, 48


def _ticks(top: float) -> list[float]:
    if top <= 0:
        return [0.0]
    step = 10 ** math.floor(math.log10(top))
    while top / step > 6:
        step *= 2
    return [i * step for i in range(int(top / step) + 1)]


def _frame(title: str, x_label: str, y_label: str, top: float, body: str,
           x_range: tuple[float, float]) -> str:
    ticks = "".join(
        f'<line x1="{_PAD}" x2="{_W - 10}" y1="{_y(v, top):.1f}" y2="{_y(v, top):.1f}" '
        f'stroke="#ddd"/><text x="{_PAD - 4}" y="{_y(v, top) + 4:.1f}" text-anchor="end" '
        f'font-size="10">{v:g}</text>'
        for v in _ticks(top)
    )
    lo, hi = x_range
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" '
        f'role="img" aria-label="{html.escape(title)}">'
        f'<text x="{_W / 2}" y="14" text-anchor="middle" font-size="13">'
        f'{html.escape(title)}</text>{ticks}'
        f'<line x1="{_PAD}" x2="{_PAD}" y1="20" y2="{_H - 30}" stroke="#333"/>'
        f'<line x1="{_PAD}" x2="{_W - 10}" y1="{_H - 30}" y2="{_H - 30}" stroke="#333"/>'
        f'<text x="{_PAD}" y="{_H - 14}" font-size="10">{lo:g}</text>'
        f'<text x="{_W - 10}" y="{_H - 14}" text-anchor="end" font-size="10">{hi:g}</text>'
        f'<text x="{_W / 2}" y="{_H - 4}" text-anchor="middle" font-size="11">'
        f'{html.escape(x_label)}</text>'
        f'<text x="12" y="{_H / 2}" font-size="11" transform="rotate(-90 12 {_H / 2})" '
        f'text-anchor="middle">{html.escape(y_label)}</text>{body}</svg>'
    )


def _y(value: float, top: float) -> float:
    return _H - 30 - (value / top if top else 0) * (_H - 50)


def line_chart(points: Sequence[tuple[float, float]], title: str, x_label: str,
               y_label: str) -> str:
    """An SVG line chart of ``(x, y)`` points."""
    if not points:
        return _frame(title, x_label, y_label, 1.0, "", (0, 1))
    x0, x1 = points[0][0], max(points[-1][0], points[0][0] + 1e-9)
    top = max(max(y for _, y in points) * 1.1, 1e-9)
    coords = " ".join(
        f"{_PAD + (x - x0) / (x1 - x0) * (_W - _PAD - 10):.1f},{_y(y, top):.1f}"
        for x, y in points
    )
    body = f'<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="{coords}"/>'
    return _frame(title, x_label, y_label, top, body, (x0, x1))


def bar_chart(histogram: Histogram, title: str, bins: int = 40) -> str:
    """An SVG histogram of latencies (ms), regrouped into at most ``bins`` log-spaced bars."""
    items = list(histogram.items())
    if not items:
        return _frame(title, "latency (ms)", "events", 1.0, "", (0, 1))
    low = max(items[0][0], 1e-6)
    high = items[-1][1]
    ratio = (high / low) ** (1 / bins) if high > low else 2.0
    counts = [0] * bins
    for start, _, n in items:
        index = int(math.log(max(start, low) / low, ratio)) if ratio > 1 else 0
        counts[min(index, bins - 1)] += n
    top = max(counts) * 1.1
    width = (_W - _PAD - 10) / bins
    bars = "".join(
        f'<rect x="{_PAD + i * width:.1f}" y="{_y(c, top):.1f}" width="{width - 1:.1f}" '
        f'height="{_H - 30 - _y(c, top):.1f}" fill="#ff7f0e"><title>'
        f'{low * ratio ** i * 1000:.3g}-{low * ratio ** (i + 1) * 1000:.3g} ms: {c}'
        f'</title></rect>'
        for i, c in enumerate(counts) if c
    )
    return _frame(title, "latency (ms, log scale)", "events", top, bars,
                  (round(low * 1000, 3), round(high * 1000, 3)))


def render_html(result: LoadResult) -> str:
    """The whole page."""
    agg = result.aggregate
    series = agg.series()
    rate_points = [(w.index * agg.interval, w.delivered / agg.interval) for w in series]
    p99_points = [(w.index * agg.interval, w.latency.percentile(99) * 1000) for w in series]
    summary = html.escape("\n".join(summary_lines(result)))
    return (
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>harness load</title>"
        "<style>body{font-family:sans-serif;margin:2em}pre{background:#f6f6f6;padding:1em}"
        "</style></head><body><h1>harness load</h1>"
        f"<pre>{summary}</pre>"
        f"<p>{line_chart(rate_points, 'Delivered events per second', 'time (s)', 'events/s')}</p>"
        f"<p>{line_chart(p99_points, 'Delivery latency p99 per interval', 'time (s)', 'ms')}</p>"
        f"<p>{bar_chart(agg.latency_all(), 'Delivery latency, every event')}</p>"
        "</body></html>\n"
    )
