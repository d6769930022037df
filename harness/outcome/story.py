"""Failure stories: a failing scenario told as text a person can follow.

The failing step with its file and line, what was expected and what arrived instead (side
by side), the invariant violations, every step with its outcome and time, and the last
messages of each actor in order.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from harness.faults import FaultNote
from harness.faults.notes import EVENT as FAULT_EVENT
from harness.outcome.results import Failure, ScenarioResult, StepResult
from harness.sim.history import Message

LAST_MESSAGES = 8
LOG_LINES = 20
COLUMN = 58
_MARKS = {"passed": "✓", "failed": "✗", "error": "!", "skipped": "-", "cancelled": "~",
          "not-run": "·"}


def _json(value: Any) -> list[str]:
    try:
        text = json.dumps(value, indent=2, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text.splitlines() or [""]


def side_by_side(expected: Any, actual: Any, width: int = COLUMN) -> list[str]:
    """``expected | actual`` as two columns of pretty JSON."""
    left, right = _json(expected), _json(actual)
    rows = [f"{'expected':<{width}} | actual", f"{'-' * width}-+-{'-' * width}"]
    for a, b in itertools.zip_longest(left, right, fillvalue=""):
        a = a if len(a) <= width else a[: width - 1] + "…"
        rows.append(f"{a:<{width}} | {b}")
    return rows


def failure_lines(failure: Failure) -> list[str]:
    """The failure: where, the headline, the comparison, the mismatches, the details."""
    lines: list[str] = []
    if failure.step or failure.source:
        where = ", ".join(str(p) for p in (failure.step, failure.source) if p)
        when = f" at +{failure.at:.3f} s" if failure.at is not None else ""
        used = "".join(f", in the step group used at {s}" for s in failure.used_at)
        lines.append(f"at {where}{used}{when}")
    lines.append(failure.message)
    if failure.compared:
        lines += ["", *side_by_side(failure.expected, failure.actual)]
    if failure.mismatches:
        lines += ["", "differences:"] + [f"  {m}" for m in failure.mismatches]
    if failure.details:
        lines += ["", *list(failure.details)]
    return lines


def _step_lines(results: list[StepResult], depth: int = 0) -> list[str]:
    lines: list[str] = []
    for result in results:
        step = result.step
        timing = f"{result.duration:.3f} s" if result.status not in ("not-run", "cancelled") \
            else result.status
        note = f"  ({result.note})" if result.note else ""
        title = step.title.removeprefix("step ")
        lines.append(f"{'  ' * depth}{_MARKS[result.status]} {title:<44} line {step.source.line:<4}"
                     f" {timing}{note}")
        lines += _step_lines(result.children, depth + 1)
    return lines


def _faulted(message: Message) -> tuple[str, ...]:
    """The actors whose links a fault note acted on (none for other messages)."""
    if message.kind != "harness" or message.event != FAULT_EVENT:
        return ()
    note = FaultNote.from_json(message.payload)
    return note.actors if note is not None else ()


def _message_line(message: Message, started: float) -> str:
    if _faulted(message):
        note = FaultNote.from_json(message.payload)
        assert note is not None
        return f"+{message.t - started:.3f} s  {note.describe()}"
    body = message.ack if message.direction in ("ack", "acked") else message.payload
    text = "" if body is None else " " + json.dumps(body, sort_keys=True, default=str)
    if len(text) > 140:
        text = text[:137] + "..."
    sid = f" [{message.socket_id}]" if message.socket_id else ""
    extra = f" ({message.meta['reason']})" if "reason" in message.meta else ""
    return f"+{message.t - started:.3f} s  {message.direction} {message.event}{extra}{text}{sid}"


def last_messages(result: ScenarioResult, count: int = LAST_MESSAGES) -> list[str]:
    """The last ``count`` messages of each actor, in order."""
    history = result.history
    if not history:
        return []
    started = history[0].t
    lines: list[str] = []
    actors = list(dict.fromkeys(m.actor for m in history if m.kind != "harness"))
    for actor in actors:
        mine = [m for m in history if m.actor == actor or actor in _faulted(m)]
        label = result.actor_labels.get(actor, actor)
        skipped = f" (last {count} of {len(mine)})" if len(mine) > count else ""
        lines.append(f"{label}{skipped}:")
        lines += [f"  {_message_line(m, started)}" for m in mine[-count:]]
    return lines


def render_story(result: ScenarioResult, *, logs: bool = True) -> str:
    """The whole story of a scenario result (also useful for passing ones)."""
    scenario = result.scenario
    head = f"{result.status.upper()} {scenario.id}  ({result.duration:.2f} s)"
    lines = [head]
    if result.failure is not None:
        lines += ["  " + line if line else "" for line in failure_lines(result.failure)]
    if result.violations and (result.failure is None or result.failure.kind != "invariant"):
        lines += ["", "invariant violations:"] + [f"  {v}" for v in result.violations]
    if result.notes:
        lines += ["", "notes:"] + [f"  {note}" for note in result.notes]
    if result.steps:
        lines += ["", "steps:"] + [f"  {line}" for line in _step_lines(result.steps)]
    trail = last_messages(result)
    if trail:
        lines += ["", "last messages per actor:"] + [f"  {line}" for line in trail]
    relay_log = result.logs.get("relay", "") if logs else ""
    if relay_log.strip():
        tail = relay_log.rstrip().splitlines()[-LOG_LINES:]
        lines += ["", f"relay log (last {len(tail)} lines):"] + [f"  {line}" for line in tail]
    return "\n".join(lines)
