"""Draw a ``Diagram`` as inline SVG: no fonts, scripts or images from anywhere else.

Every arrow carries its payload as a ``<title>`` (shown on hover) and links to the
message's entry in the report's message list (``#m-<scenario>-<seq>``), where it expands.
Classes say what a row is (``row arrow``, ``row lost``, ``step failing``...), so tests and
stylesheets can find them.
"""

from __future__ import annotations

import textwrap
from html import escape

from harness.report.sequence import RELAY, Diagram, Row

TIME_COLUMN = 92
LANE_GAP = 190
HEAD = 64
ROW = 26
STEP_ROW = 28
PAD = 24
DETAIL_LIMIT = 1500
MIN_WIDTH = 960
GAP = 1.0  # seconds between two rows worth a mark
# A white halo keeps labels readable where they cross a lifeline.
_SVG_STYLE = (".label{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}"
              ".time{fill:#52606d;font-size:11px}")

_COLOURS = {"event": "#1f4e9c", "ack": "#5f6b7a", "http": "#7a3fa0", "connect": "#2e7d32",
            "disconnect": "#8d6e63", "error": "#c62828", "note": "#6d6d6d", "lost": "#c62828",
            "fault": "#e65100"}
_STEP_MARK = {"passed": "✓", "failed": "✗", "error": "!", "skipped": "-", "cancelled": "~",
              "not-run": "·"}


def _x(positions: dict[str, float], lane: str | None) -> float:
    return positions.get(lane or RELAY, positions[RELAY])


def _time(row: Row) -> str:
    if row.t is None:
        return ""
    if row.t_end is not None and row.t_end != row.t:
        return f"+{row.t:.3f}-{row.t_end:.3f}"
    return f"+{row.t:.3f} s"


def _title(row: Row) -> str:
    detail = row.detail
    if len(detail) > DETAIL_LIMIT:
        detail = detail[:DETAIL_LIMIT] + "\n…"
    text = row.label + (f"\n{detail}" if detail else "")
    return f"<title>{escape(text)}</title>"


def _failure_lines(text: str, width: float) -> list[str]:
    chars = max(40, int((width - TIME_COLUMN - 30) / 7))
    lines: list[str] = []
    for part in text.splitlines() or [""]:
        lines += textwrap.wrap(part, chars) or [""]
    return lines[:10]


def _row_height(row: Row, width: float) -> int:
    if row.kind == "step":
        return STEP_ROW
    if row.kind == "failure":
        return 22 + 16 * len(_failure_lines(row.label, width))
    if row.why:
        return ROW + 20
    return ROW + (6 if row.kind == "group" else 0)


def _arrow(row: Row, y: float, positions: dict[str, float], anchor: str) -> list[str]:
    x1, x2 = _x(positions, row.src), _x(positions, row.dst)
    colour = _COLOURS[row.style]
    dashed = row.style in ("ack", "lost") or row.kind in ("lost", "missing")
    dash = ' stroke-dasharray="6 4"' if dashed else ""
    width = 2.5 if row.kind in ("lost", "missing", "group") else 1.4
    out: list[str] = []
    if row.kind == "missing":
        # the arrow leaves the relay and never arrives: it stops short, with a cross
        x2 = x1 + (x2 - x1) * 0.55
    if row.kind in ("lost", "missing"):
        out.append(f'<line x1="{x1:.0f}" y1="{y:.0f}" x2="{x2:.0f}" y2="{y:.0f}" '
                   f'stroke="{colour}" stroke-width="{width}"{dash}/>')
        out.append(f'<g class="cross"><circle cx="{x2:.0f}" cy="{y:.0f}" r="7" fill="#fff" '
                   f'stroke="{colour}" stroke-width="2"/><path d="M{x2 - 4:.0f} {y - 4:.0f} '
                   f'l8 8 M{x2 + 4:.0f} {y - 4:.0f} l-8 8" stroke="{colour}" '
                   f'stroke-width="2"/></g>')
    else:
        head = "url(#head-" + row.style + ")"
        out.append(f'<line x1="{x1:.0f}" y1="{y:.0f}" x2="{x2:.0f}" y2="{y:.0f}" '
                   f'stroke="{colour}" stroke-width="{width}"{dash} marker-end="{head}"/>')
        if row.kind == "group":
            out.append(f'<line x1="{x1:.0f}" y1="{y + 4:.0f}" x2="{x2:.0f}" y2="{y + 4:.0f}" '
                       f'stroke="{colour}" stroke-width="1" opacity="0.5"/>')
    weight = ' font-weight="bold"' if row.kind == "group" else ""
    out.append(_label(row.label, x1, x2, y - 6, colour, weight))
    if row.why:
        out.append(_label(row.why, x1, x2, y + 17, _COLOURS["lost"],
                          ' font-weight="bold" font-size="13" class="why"'))
    link = f'<a href="#{anchor}-{row.seqs[0]}">' if row.seqs else "<a>"
    return [link, *out, "</a>"]


def _label(text: str, x1: float, x2: float, y: float, colour: str, extra: str) -> str:
    """Centred over the arrow, unless that would run into the time column."""
    estimate = len(text) * (7.6 if "bold" in extra else 6.6)
    mid = (x1 + x2) / 2
    x, anchor = mid, "middle"
    if mid - estimate / 2 < TIME_COLUMN:
        x, anchor = min(x1, x2) + 6, "start"
    cls = "" if "class=" in extra else ' class="label"'
    extra = extra.replace('class="', 'class="label ')
    return (f'<text{cls} x="{x:.0f}" y="{y:.0f}" text-anchor="{anchor}" fill="{colour}"'
            f"{extra}>{escape(text)}</text>")


def render_svg(diagram: Diagram, *, anchor: str = "m") -> str:
    """The SVG markup of ``diagram`` (``anchor`` prefixes the message-list links)."""
    positions = {lane.id: TIME_COLUMN + PAD + LANE_GAP / 2 + i * LANE_GAP
                 for i, lane in enumerate(diagram.lanes)}
    width = max(MIN_WIDTH, TIME_COLUMN + PAD * 2 + LANE_GAP * len(diagram.lanes) + 120)
    height = HEAD + PAD + sum(_row_height(r, width) for r in diagram.rows) + PAD
    body: list[str] = []
    back: list[str] = []  # drawn under the lifelines
    y = HEAD + PAD
    previous: float | None = None
    for row in diagram.rows:
        h = _row_height(row, width)
        if row.t is not None and previous is not None and row.t - previous >= GAP:
            # a long quiet stretch: say so, rows are evenly spaced whatever the time
            back.append(f'<text class="gap" x="8" y="{y + 7:.0f}" fill="#b26a00" '
                        f'font-size="10">⋮ {row.t - previous:.1f} s later</text>')
        previous = row.t if row.t is not None else previous
        mid = y + (ROW / 2 + 4 if row.why else h / 2 + (4 if row.kind != "step" else 0))
        classes = f"row {row.kind}" + (" failing" if row.failing else "") + \
            (f" {row.status}" if row.status else "")
        body.append(f'<g class="{classes}">')
        if row.failing and row.kind not in ("step", "failure"):
            back.append(f'<rect class="failing-region" x="0" y="{y:.0f}" width="{width}" '
                        f'height="{h}" fill="#fdecea"/>')
        if row.kind == "step":
            fill, stroke = ("#f8d7da", "#c62828") if row.failing else ("#eef1f5", "#c9d1db")
            mark = _STEP_MARK.get(row.status, "")
            text = f"{mark} {row.label}".strip()
            if row.failing:
                text += "  — FAILED HERE"
            thick = 2 if row.failing else 1
            body.append(f'<rect class="band" x="4" y="{y + 3:.0f}" width="{width - 8}" '
                        f'height="{h - 6}" rx="4" fill="{fill}" stroke="{stroke}" '
                        f'stroke-width="{thick}"/>')
            colour = "#b71c1c" if row.failing else "#37474f"
            body.append(f'<text class="banner" x="{TIME_COLUMN + 8}" y="{y + h / 2 + 4:.0f}" '
                        f'fill="{colour}" '
                        f'font-weight="bold">{escape(text)}</text>')
            body.append(f'<text class="time" x="8" y="{y + h / 2 + 4:.0f}">{_time(row)}</text>')
        elif row.kind == "failure":
            lines = _failure_lines(row.label, width)
            body.append(f'<rect x="{TIME_COLUMN}" y="{y + 4:.0f}" '
                        f'width="{width - TIME_COLUMN - 8}" height="{h - 8}" rx="4" '
                        f'fill="#fff5f5" stroke="#c62828" stroke-width="2"/>')
            for i, line in enumerate(lines):
                prefix = "✗ " if i == 0 else "   "
                body.append(f'<text x="{TIME_COLUMN + 10}" y="{y + 20 + i * 16:.0f}" '
                            f'fill="#b71c1c" font-weight="{"bold" if i == 0 else "normal"}">'
                            f'{escape(prefix + line)}</text>')
        elif row.kind == "elided":
            body.append(f'<text x="{width / 2:.0f}" y="{mid:.0f}" text-anchor="middle" '
                        f'fill="#6d6d6d" font-style="italic">{escape(row.label)}</text>')
        elif row.kind == "marker":
            x = _x(positions, row.src)
            colour = _COLOURS[row.style]
            body.append(_title(row))
            for marked in row.lanes or (row.src,):  # a fault marks every link it acts on
                body.append(f'<circle cx="{_x(positions, marked):.0f}" cy="{mid - 4:.0f}" '
                            f'r="5" fill="{colour}"/>')
            body.append(f'<text class="label" x="{x + 9:.0f}" y="{mid:.0f}" '
                        f'fill="{colour}">{escape(row.label)}</text>')
        else:
            body.append(_title(row))
            body += _arrow(row, mid - 4, positions, anchor)
        if row.kind not in ("step", "failure", "elided"):
            body.append(f'<text class="time" x="8" y="{mid:.0f}">{_time(row)}</text>')
        body.append("</g>")
        y += h
    heads: list[str] = []
    for lane in diagram.lanes:
        x = positions[lane.id]
        relay = lane.id == RELAY
        fill = "#263238" if relay else "#e3ecfa" if lane.kind == "ide" else \
            "#e8f5e9" if lane.kind == "drone" else "#f3e5f5"
        ink = "#ffffff" if relay else "#102a43"
        heads.append(
            f'<g class="lane" data-lane="{escape(lane.id)}">'
            f'<line x1="{x:.0f}" y1="{HEAD:.0f}" x2="{x:.0f}" y2="{height - 8:.0f}" '
            f'stroke="{"#263238" if relay else "#9aa5b1"}" stroke-width="{3 if relay else 1}" '
            f'stroke-dasharray="{"none" if relay else "3 3"}"/>'
            f'<rect x="{x - 78:.0f}" y="8" width="156" height="{HEAD - 14}" rx="6" '
            f'fill="{fill}" stroke="#52606d"/>'
            f'<text class="lane-title" x="{x:.0f}" y="30" text-anchor="middle" fill="{ink}" '
            f'font-weight="bold" font-size="14">{escape(lane.title)}</text>'
            f'<text class="lane-sub" x="{x:.0f}" y="47" text-anchor="middle" fill="{ink}" '
            f'font-size="11">{escape(lane.subtitle)}</text></g>')
    markers = "".join(
        f'<marker id="head-{style}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" '
        f'markerUnits="userSpaceOnUse" '
        f'markerHeight="8" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" '
        f'fill="{colour}"/></marker>' for style, colour in _COLOURS.items())
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="sequence" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" font-family="DejaVu Sans, '
            f'Helvetica, Arial, sans-serif" font-size="12" role="img">'
            f"<defs>{markers}</defs><style>{_SVG_STYLE}</style>{''.join(back)}{''.join(heads)}{''.join(body)}</svg>")
