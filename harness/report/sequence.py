"""The sequence diagram of a scenario run, as data: lanes and rows (``svg.py`` draws it).

Lanes: every HTTP client and IDE on the left, the relay in the middle, every drone on the
right. The history records each actor's own side of a message, so every row touches the
relay's lane: a drone's "sent" is an arrow drone -> relay, an IDE's "received" relay -> IDE,
an ack relay -> sender. Rows follow the order of recording, one per message, with the
step each belongs to as a band above it.

Messages that stopped at the relay are drawn as "lost" rows (a dashed arrow ending at the
relay with a cross): a drone's stream event that no IDE received, an IDE request that the
relay should have forwarded to a drone (``requestSessionLock``, ``releaseSessionLock``,
``submitPrompt``) but the drone never got, a termination request that never reached its
drone. When the failing step waited for an event that never came and no lost row already
explains it, a "missing" row (relay -> actor, stopping short) says so. Long runs of stream
rows are collapsed into groups ("thinking x 200, seq 0-199"); very long diagrams keep the
rows around the failure and elide the rest.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal

import orjson

from harness.faults import FaultNote
from harness.faults.notes import EVENT as FAULT_EVENT
from harness.outcome.deliveries import Missed, paired
from harness.outcome.facts import Fact
from harness.outcome.results import ScenarioResult
from harness.protocol import STREAM_EVENTS, TERMINATE_PATH, Event
from harness.report.trace import ActorInfo, Trace, actor_infos, orjson_text
from harness.sim.history import Message

RELAY = "relay"
COLLAPSE_AT = 12  # a run of more stream rows than this is collapsed into groups
MAX_ROWS = 400  # rows kept around the failure in a very long diagram
_FORWARDED_REQUESTS = (Event.REQUEST_SESSION_LOCK, Event.RELEASE_SESSION_LOCK,
                       Event.SUBMIT_PROMPT)
_OBJECT_ID = re.compile(r"\b([0-9a-fA-F]{4})[0-9a-fA-F]{16}([0-9a-fA-F]{4})\b")

RowKind = Literal["step", "arrow", "lost", "missing", "marker", "group", "elided", "failure"]
Style = Literal["event", "ack", "http", "connect", "disconnect", "error", "note", "lost",
                "fault"]


@dataclass(frozen=True)
class Lane:
    """One vertical lane: an actor or the relay."""

    id: str
    title: str
    subtitle: str
    kind: str


@dataclass(frozen=True)
class Row:
    """One horizontal row of the diagram, in order. ``t`` is seconds since the first message."""

    kind: RowKind
    label: str
    t: float | None = None
    src: str | None = None
    dst: str | None = None
    style: Style = "event"
    detail: str = ""  # the payload or ack, pretty JSON (hover and expand)
    seqs: tuple[int, ...] = ()  # the history messages this row stands for
    failing: bool = False  # inside the failing step (or the failure itself)
    status: str = ""  # a step row's outcome
    t_end: float | None = None  # a group's last time
    count: int = 1
    why: str = ""  # a lost or missing row: where the message stopped, said in words
    lanes: tuple[str, ...] = ()  # a fault marker: every lane it acts on (src is the first)


@dataclass(frozen=True)
class Diagram:
    """Lanes and rows, ready to draw."""

    lanes: tuple[Lane, ...]
    rows: tuple[Row, ...]
    failure: str | None = None
    collapsed: int = 0  # rows folded into groups
    elided: int = 0  # rows left out around a very long history
    notes: tuple[str, ...] = field(default_factory=tuple)

    def lane(self, lane_id: str) -> Lane:
        """The lane called ``lane_id``."""
        return next(lane for lane in self.lanes if lane.id == lane_id)


def short_ids(text: str) -> str:
    """Abbreviate 24-hex ids: ``6b07…ad6a``."""
    return _OBJECT_ID.sub(lambda m: f"{m.group(1)}…{m.group(2)}", text)


_PRETTY: Final = (orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
                  | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS)
"""orjson, told to hand to ``default=str`` what the standard library's ``json`` would."""


def pretty(value: Any) -> str:
    """Pretty JSON of a payload (``repr`` for what JSON cannot hold).

    A report pretty-prints every payload twice (its diagram and its message list), and
    ``json.dumps(indent=2)`` runs the standard library's pure-Python encoder: orjson
    writes the same text many times faster. What orjson refuses (an integer past 64 bits,
    a key that is not a string) or writes otherwise (NaN and infinities, which it writes as
    null; a float's exponent) goes to ``json`` as before."""
    if value is None:
        return ""
    text = orjson_text(value, _PRETTY)
    if text is not None:
        return text
    try:
        return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _brief(value: Any, limit: int = 40) -> str:
    if isinstance(value, dict) and "ok" in value:
        if value.get("ok") is False:
            return f"error {value.get('error', '?')}"
        rest = {k: v for k, v in value.items() if k != "ok"}
        text = "ok" + (" " + json.dumps(rest, default=str) if rest else "")
    else:
        text = json.dumps(value, default=str)
    text = short_ids(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _lanes(actors: Mapping[str, ActorInfo], messages: Sequence[Message]) -> tuple[Lane, ...]:
    kinds: dict[str, str] = {name: info.kind for name, info in actors.items()}
    for message in messages:
        if message.kind != "harness":
            kinds.setdefault(message.actor, message.kind)
    seen = [m.actor for m in messages if m.kind != "harness"]
    order = list(dict.fromkeys([*seen, *kinds]))

    def lane(name: str) -> Lane:
        info = actors.get(name)
        ident = (info.registration_id or info.user_id) if info else None
        kind = kinds[name]
        sub = f"{kind} {short_ids(ident)}" if ident else kind
        return Lane(name, name, sub, kind)

    left = [lane(n) for n in order if kinds[n] == "http"] + \
        [lane(n) for n in order if kinds[n] == "ide"]
    right = [lane(n) for n in order if kinds[n] == "drone"]
    return (*left, Lane(RELAY, RELAY, "under test", "relay"), *right)


def _stream_label(message: Message) -> str:
    payload = message.payload
    if message.event in STREAM_EVENTS and isinstance(payload, dict) and "seq" in payload:
        return f"{message.event} seq {payload['seq']}"
    if message.event == Event.WORK_ORDER_COMPLETE and isinstance(payload, dict):
        return f"{message.event} {payload.get('status', '')}".rstrip()
    if message.event == Event.DRONE_STATUS and isinstance(payload, dict):
        return f"{message.event} {payload.get('status', '')}".rstrip()
    return message.event


def _lost_sends(messages: Sequence[Message],
                actors: Mapping[str, ActorInfo]) -> dict[int, str]:
    """History seq -> label, for every send that stopped at the relay."""
    by_registration: dict[str, str] = {}
    for name, info in actors.items():
        if info.kind == "drone" and info.registration_id:
            by_registration.setdefault(info.registration_id, name)
    lost: dict[int, str] = {}
    has_ide = any(info.kind == "ide" for info in actors.values()) or \
        any(m.kind == "ide" for m in messages)
    if has_ide:
        missed_by_send: dict[int, list[Missed]] = {}
        for missed in paired(messages).missed():
            missed_by_send.setdefault(missed.send.message.seq, []).append(missed)
        for seq, misses in missed_by_send.items():
            lost[seq] = _missed_why(misses)
    acks = {m.meta.get("sent_seq"): m for m in messages
            if m.direction in ("ack", "received") and "sent_seq" in m.meta}
    for index, message in enumerate(messages):
        if message.direction != "sent":
            continue
        target: str | None = None
        expected = message.event
        if message.kind == "ide" and message.event in _FORWARDED_REQUESTS \
                and isinstance(message.payload, dict):
            target = by_registration.get(str(message.payload.get("registrationId")))
        elif message.kind == "http":
            found = TERMINATE_PATH.search(message.event) \
                if message.event.startswith("POST ") else None
            if found:
                target, expected = by_registration.get(found.group(1)), Event.REQUEST_TERMINATION
        if target is None:
            continue
        answer = acks.get(message.seq)
        end = answer.seq if answer is not None and expected == Event.REQUEST_TERMINATION \
            else None
        later = messages[index + 1:]
        reached = any(m.actor == target and m.direction == "received" and m.event == expected
                      and (end is None or m.seq < end) for m in later)
        if not reached:
            lost[message.seq] = f"{expected} never reached {target}" + _why(answer)
    return lost


def _missed_why(misses: Sequence[Missed]) -> str:
    """``thinking seq 3 never reached laptop``, and why that is no violation if it is not."""
    names = sorted({m.conn.actor for m in misses if m.conn is not None})
    text = f"{_stream_label(misses[0].send.message)} never reached {', '.join(names) or 'an IDE'}"
    excuses = {m.excuse for m in misses}
    if None in excuses:
        return text
    if "crash" in excuses:
        return text + " (not owed: its drone crashed)"
    if "goodbye" in excuses:
        return text + " (not owed: sent just before its drone's goodbye)"
    return text + " (not owed: the IDE left midway)"


def _why(answer: Message | None) -> str:
    if answer is None:
        return ""
    if answer.direction == "ack":
        return f" (ack: {_brief(answer.ack)})"
    status = answer.meta.get("status")
    body = answer.payload
    code = body.get("error") if isinstance(body, dict) else None
    return f" ({status}{' ' + code if code else ''})"


def _message_row(message: Message, t0: float, lost: Mapping[int, str]) -> Row:
    actor, direction = message.actor, message.direction
    t = message.t - t0
    base = Row("arrow", message.event, t=t, seqs=(message.seq,), detail=pretty(message.payload))
    if message.seq in lost:
        label = short_ids(message.event) if message.kind == "http" else _stream_label(message)
        return replace(base, kind="lost", src=actor, dst=RELAY, style="lost",
                       label=label, why=lost[message.seq])
    if direction == "sent":
        style: Style = "http" if message.kind == "http" else "event"
        label = short_ids(message.event) if message.kind == "http" else _stream_label(message)
        if message.meta.get("negative"):
            label += " (negative)"
        return replace(base, src=actor, dst=RELAY, style=style, label=label)
    if direction == "received":
        if message.kind == "http":
            status = message.meta.get("status", "?")
            return replace(base, src=RELAY, dst=actor, style="http",
                           label=f"{status} {_brief(message.payload)}")
        return replace(base, src=RELAY, dst=actor, label=_stream_label(message))
    if direction == "ack":
        return replace(base, src=RELAY, dst=actor, style="ack", detail=pretty(message.ack),
                       label=f"ack {message.event}: {_brief(message.ack)}")
    if direction == "acked":
        return replace(base, src=actor, dst=RELAY, style="ack", detail=pretty(message.ack),
                       label=f"ack {message.event}: {_brief(message.ack)}")
    if direction == "connect":
        transport = message.meta.get("transport", "")
        return replace(base, src=actor, dst=RELAY, style="connect",
                       label=f"connect {transport}".rstrip())
    if direction == "connect-error":
        return replace(base, src=RELAY, dst=actor, style="error",
                       label=f"connect_error {_brief(message.payload)}")
    if direction == "disconnect":
        reason = str(message.meta.get("reason", ""))
        by_relay = reason in ("server", "replaced")
        return replace(base, src=RELAY if by_relay else actor, dst=actor if by_relay else RELAY,
                       style="disconnect", label=f"disconnect ({reason})")
    if direction == "ack-timeout":
        reason = message.meta.get("reason", "timeout")
        return replace(base, kind="marker", src=actor, style="error",
                       label=f"no ack for {message.event} ({reason})")
    text = message.event + (f": {message.payload}" if message.payload else "")
    return replace(base, kind="marker", src=actor, style="note", label=short_ids(text)[:80])


def _fault_row(message: Message, t0: float, actors: Mapping[str, ActorInfo]) -> Row | None:
    """A marked row where a ``fault`` step acted, on the lanes of the actors it touched."""
    note = FaultNote.from_json(message.payload) if message.event == FAULT_EVENT else None
    if note is None:
        return None
    lanes = tuple(a for a in note.actors if a in actors)
    return Row("marker", note.describe(), t=message.t - t0, src=lanes[0] if lanes else RELAY,
               style="fault", seqs=(message.seq,), detail=pretty(message.payload), lanes=lanes)


def _missing_row(facts: Sequence[Fact], actors: Mapping[str, ActorInfo],
                 rows: Sequence[Row], t: float | None) -> Row | None:
    """A relay -> actor arrow that never arrived, for a failure that establishes an event
    never reached an actor (when a lost row does not already explain it)."""
    missed = next((f for f in facts if f.kind == "never-reached" and f.actor in actors), None)
    if missed is None or missed.actor is None or missed.event is None:
        return None
    event, target = missed.event, missed.actor
    if any(r.kind == "lost" and r.why.startswith(f"{event} never reached {target}")
           for r in rows):
        return None
    return Row("missing", event, t=t, src=RELAY, dst=target, style="lost", failing=True,
               why=f"expected {event} never reached {target}")


def name_ids(text: str, actors: Mapping[str, ActorInfo]) -> str:
    """``<drone registration id>`` -> ``<id> (d0)``, so a failure names the actor it means."""
    for name, info in actors.items():
        ident = info.registration_id
        if info.kind == "drone" and ident:
            # not where the text already says whose it is: "drone d0 (<id>)"
            text = re.sub(rf"(?<![(\w]){ident}(?!\w)", f"{ident} ({name})", text)
    return text


def _collapse(rows: list[Row]) -> tuple[list[Row], int]:
    def streamish(row: Row) -> bool:
        return row.kind in ("arrow", "lost") and row.label.split(" ")[0] in STREAM_EVENTS

    out: list[Row] = []
    folded = 0
    index = 0
    while index < len(rows):
        end = index
        while end < len(rows) and streamish(rows[end]):
            end += 1
        if end - index > COLLAPSE_AT:
            run = rows[index:end]
            groups: dict[tuple[str, str | None, str | None, str], list[Row]] = {}
            for row in run:
                event = row.label.split(" ")[0]
                groups.setdefault((row.kind, row.src, row.dst, event), []).append(row)
            for (kind, src, dst, event), members in groups.items():
                if len(members) == 1:
                    out.append(members[0])
                    continue
                seqs = [int(m.label.split(" ")[2]) for m in members
                        if len(m.label.split(" ")) > 2 and m.label.split(" ")[2].isdigit()]
                span = f", seq {min(seqs)}-{max(seqs)}" if seqs else ""
                why = f"{event} x {len(members)} never reached an IDE" if kind == "lost" else ""
                out.append(Row("group", f"{event} x {len(members)}{span}", why=why,
                               t=members[0].t, t_end=members[-1].t, src=src, dst=dst,
                               style=members[0].style,
                               seqs=tuple(s for m in members for s in m.seqs),
                               failing=any(m.failing for m in members), count=len(members),
                               detail=members[0].detail))
            folded += sum(len(m) for m in groups.values() if len(m) > 1)
            index = end
        elif end > index:
            out += rows[index:end]
            index = end
        else:
            out.append(rows[index])
            index += 1
    return out, folded


def _elide(rows: list[Row]) -> tuple[list[Row], int]:
    if len(rows) <= MAX_ROWS:
        return rows, 0
    focus = next((i for i, r in enumerate(rows) if r.kind == "failure"),
                 next((i for i, r in enumerate(rows) if r.failing), len(rows) - 1))
    start = max(0, min(focus - MAX_ROWS * 3 // 4, len(rows) - MAX_ROWS))
    stop = start + MAX_ROWS
    out: list[Row] = []
    if start:
        out.append(Row("elided", f"… {start} earlier rows left out (see the message list) …"))
    out += rows[start:stop]
    if stop < len(rows):
        out.append(Row("elided", f"… {len(rows) - stop} later rows left out …"))
    return out, len(rows) - MAX_ROWS


def build_diagram(messages: Sequence[Message], actors: Mapping[str, ActorInfo], *,
                  step_status: Mapping[str, str] | None = None,
                  failing_step: str | None = None,
                  failure_message: str | None = None,
                  failure_facts: Sequence[Fact] = (),
                  failure_t: float | None = None) -> Diagram:
    """Lay out ``messages`` as lanes and rows.

    ``step_status`` maps a step title to its outcome; ``failing_step`` is the title of the
    step that failed (its band and rows are marked failing, up to ``failure_t``, seconds
    since the first step began, when given); ``failure_message`` is drawn as a failure row
    where that step ended (or at the end), and an event its ``failure_facts`` say never
    reached an actor as a missing arrow.
    """
    actors = dict(actors)
    for message in messages:
        if message.kind != "harness" and message.actor not in actors:
            actors[message.actor] = ActorInfo(message.actor, message.kind, message.actor)
    lanes = _lanes(actors, messages)
    t0 = messages[0].t if messages else 0.0
    first_step = next((m.t for m in messages if m.kind == "harness" and m.event == "step"), t0)
    until = None if failure_t is None else first_step - t0 + failure_t
    lost = _lost_sends(messages, actors)
    statuses = dict(step_status or {})
    rows: list[Row] = []
    in_failing = False
    failure_at: int | None = None
    for message in messages:
        if message.kind == "harness":
            fault = _fault_row(message, t0, actors)
            if fault is not None:
                rows.append(replace(fault, failing=in_failing) if in_failing else fault)
            if message.event != "step":
                continue
            title = str(message.payload)
            if in_failing and failure_at is None:
                failure_at = len(rows)
            in_failing = failing_step is not None and title == failing_step \
                and failure_at is None
            rows.append(Row("step", title, t=message.t - t0, status=statuses.get(title, ""),
                            failing=in_failing, seqs=(message.seq,)))
            continue
        if in_failing and until is not None and message.t - t0 > until + 0.001:
            in_failing = False
            failure_at = len(rows)
        row = _message_row(message, t0, lost)
        rows.append(replace(row, failing=in_failing) if in_failing else row)
    if failure_message is not None:
        where = failure_at if failure_at is not None else len(rows)
        t = rows[where - 1].t if where and rows[where - 1].t is not None else None
        extra: list[Row] = []
        missing = _missing_row(failure_facts, actors, rows, t)
        if missing is not None:
            extra.append(missing)
        extra.append(Row("failure", name_ids(failure_message, actors), t=t, src=RELAY,
                         style="error", failing=True))
        rows[where:where] = extra
    rows, folded = _collapse(rows)
    rows, elided = _elide(rows)
    return Diagram(lanes, tuple(rows), failure_message, folded, elided)


def _failure_t(steps: Sequence[tuple[str, float, float]], failing: str | None) -> float | None:
    """When the failing step ended, in seconds since the first step began (step times
    count from the run's start; the first step's band in the history is the link)."""
    if not steps or failing is None:
        return None
    first = steps[0][1]
    for title, started, duration in steps:
        if title == failing:
            return started + duration - first
    return None


def diagram_of_result(result: ScenarioResult) -> Diagram:
    """The diagram of a scenario result."""
    failure = result.failure
    message = None
    if failure is not None:
        message = failure.message
    elif result.status != "passed":
        message = result.status
    flat = result.flat_steps()
    timed = [(s.step.title, s.started, s.duration) for s in flat if s.status != "not-run"]
    failing = failure.step if failure else None
    return build_diagram(result.history, actor_infos(result),
                         step_status={s.step.title: s.status for s in flat},
                         failing_step=failing, failure_message=message,
                         failure_facts=failure.facts if failure else (),
                         failure_t=_failure_t(timed, failing))


def diagram_of_trace(trace: Trace) -> Diagram:
    """The diagram of a trace read back from ``trace.jsonl``."""
    header = trace.header
    failure = header.get("failure") or None
    steps: list[dict[str, Any]] = list(header.get("steps") or ())
    timed = [(str(s.get("title")), float(s.get("started") or 0), float(s.get("duration") or 0))
             for s in steps if s.get("status") != "not-run"]
    failing = failure.get("step") if failure else None
    message = failure.get("message") if failure else None
    if message is None and header.get("status") not in (None, "passed", "recorded"):
        message = str(header.get("status"))
    facts = [fact for raw in (failure.get("facts") or () if failure else ())
             if isinstance(raw, dict) and (fact := Fact.from_json(raw)) is not None]
    return build_diagram(trace.messages, trace.actors,
                         step_status={str(s.get("title")): str(s.get("status")) for s in steps},
                         failing_step=failing, failure_message=message, failure_facts=facts,
                         failure_t=_failure_t(timed, failing))
