"""A trace as a readable terminal timeline (``harness show TRACE``).

One line per message: time, who to whom, the event and a short payload; the steps as
separators, the failing one marked; lost messages (stopped at the relay) in red.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import click

from harness.report.sequence import RELAY, diagram_of_trace, short_ids
from harness.report.trace import Trace
from harness.text import clip

PAYLOAD_WIDTH = 100


def header_lines(trace: Trace) -> list[str]:
    """The scenario, its outcome and its failure, as the timeline's head."""
    head = trace.header
    run = head.get("run") or {}
    lines = [f"{head.get('status', '?').upper()} {trace.scenario}  "
             f"({float(head.get('duration') or 0):.2f} s, run {run.get('id') or '-'}, "
             f"{len(trace.messages)} messages)"]
    failure = head.get("failure")
    if failure:
        where = ", ".join(str(p) for p in (failure.get("step"), failure.get("source")) if p)
        where += "".join(f", in the step group used at {s}" for s in failure.get("used_at") or ())
        lines.append(f"failed at {where}: {failure.get('message')}" if where
                     else f"failed: {failure.get('message')}")
    return lines


def timeline_lines(trace: Trace, *, width: int = PAYLOAD_WIDTH, color: bool = False,
                   actor: str | None = None, expand_groups: bool = True) -> Iterator[str]:
    """The timeline of ``trace``, line by line (``actor`` keeps only that actor's rows)."""
    diagram = diagram_of_trace(trace)
    by_seq = {m.seq: m for m in trace.messages}
    for line in header_lines(trace):
        yield click.style(line, bold=True) if color else line
    lane_width = max([len(lane.id) for lane in diagram.lanes] + [5])
    for row in diagram.rows:
        t = "" if row.t is None else f"+{row.t:.3f}s"
        if row.kind == "step":
            mark = {"passed": "✓", "failed": "✗", "error": "!"}.get(row.status, " ")
            text = f"── {mark} {row.label} " + ("◀ FAILED HERE " if row.failing else "")
            line = f"{t:>10}  {text}{'─' * max(0, 60 - len(text))}"
            yield click.style(line, fg="red" if row.failing else "cyan", bold=row.failing) \
                if color else line
            continue
        if row.kind in ("failure", "elided"):
            prefix = "✗ " if row.kind == "failure" else ""
            for i, part in enumerate(row.label.splitlines() or [""]):
                line = f"{'' if i else t:>10}  {prefix if not i else '  '}{part}"
                yield click.style(line, fg="red", bold=True) if color and row.kind == "failure" \
                    else line
            continue
        if actor is not None and actor not in (row.src, row.dst, *row.lanes):
            continue
        src = row.src or RELAY
        if row.kind == "marker":
            route = f"{src:>{lane_width}} ●{'':>{lane_width + 3}}"
        elif row.kind in ("lost", "missing"):
            route = f"{src:>{lane_width}} ─X {row.dst or RELAY:<{lane_width}}"
        else:
            arrow = "⇢" if row.style == "ack" else "→"
            route = f"{src:>{lane_width}} {arrow}  {row.dst or RELAY:<{lane_width}}"
        payload = ""
        if row.kind in ("arrow", "lost") and row.seqs and width:
            message = by_seq.get(row.seqs[0])
            body = None if message is None else \
                message.ack if message.direction in ("ack", "acked") else message.payload
            if body is not None and row.style != "ack":
                text = short_ids(json.dumps(body, sort_keys=True, default=str))
                payload = "  " + clip(text, width, "…")
        line = f"{t:>10}  {route}  {row.label}{payload}"
        if row.why:
            line += f"\n{'':>10}  {'':>{lane_width}}    ✗ {row.why}"
        if color and row.style == "fault":
            line = click.style(line, fg="yellow", bold=True)
        elif color and (row.kind in ("lost", "missing") or row.style == "error"):
            line = click.style(line, fg="red", bold=True)
        elif color and row.style in ("ack", "note"):
            line = click.style(line, dim=True)
        yield line
