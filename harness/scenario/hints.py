"""Hints for failure messages: what the relay did instead, read from the message history.

A failure that only says "nothing arrived" leaves a person guessing; these helpers find the
relay's own answers about the same drone (a refusal in an IDE's ack, an HTTP error), note
when the relay called a connected drone offline, and say whether a drone saw an event.
Each is a ``Fact``; ``harness.outcome.wording`` words it.
"""

from __future__ import annotations

from typing import Any

from harness.faults.notes import EVENT as FAULT_EVENT
from harness.faults.notes import FaultNote
from harness.outcome.facts import Fact
from harness.protocol import ErrorCode
from harness.scenario.context import Run
from harness.sim import Message, SimDrone
from harness.sim.reconnect import SERVER_DISCONNECT

OFFLINE_ERRORS = frozenset({ErrorCode.DRONE_OFFLINE, ErrorCode.DRONE_DISCONNECTED})
_ANSWERS_SHOWN = 2


def error_text(body: Any) -> str:
    """``drone-offline ("drone ... is offline")`` from a protocol error body, else ``""``."""
    if not isinstance(body, dict) or "error" not in body:
        return ""
    message = body.get("message")
    return f"{body['error']}" + (f" ({message!r})" if message else "")


def drone_named(run: Run, registration_id: Any) -> str | None:
    """The drone actor bound to ``registration_id`` (a connected one first), if any."""
    bound = [(name, actor) for name, actor in run.cast.actors.items()
             if isinstance(actor, SimDrone) and actor.registration_id == registration_id]
    bound.sort(key=lambda pair: not pair[1].connected)
    return bound[0][0] if bound else None


def received_since(run: Run, actor: str, event: str, since: int) -> bool:
    """True when ``actor`` received ``event`` at history seq ``since`` or later."""
    return any(m.actor == actor and m.direction == "received" and m.event == event
               for m in run.history.messages[since:])


def connected_anyway(run: Run, registration_id: Any, error: Any) -> Fact | None:
    """The relay answered an offline error for a drone this run holds connected."""
    name = drone_named(run, registration_id)
    if error not in OFFLINE_ERRORS or name is None:
        return None
    drone = run.drone(name)
    if not drone.connected:
        return None
    return Fact("connected-anyway", actor=name, role="drone", who=run.label(name),
                registration=str(registration_id), error=str(error), sid=drone.sid)


def not_connected(run: Run, registration_id: Any, error: Any) -> Fact | None:
    """The relay answered an error other than an offline one (or ok) for a drone of this
    run that has no connection."""
    name = drone_named(run, registration_id)
    if name is None or error in OFFLINE_ERRORS or run.drone(name).connected:
        return None
    return Fact("not-connected", actor=name, role="drone", who=run.label(name),
                registration=str(registration_id),
                error=None if error is None else str(error))


def gone(run: Run, name: str) -> bool:
    """The drone actor ``name`` is not connected, or has decided to go (its transport may
    not know yet: a polling client that drops its connection)."""
    drone = run.drone(name)
    return not drone.connected or drone.leaving is not None


def exited_unnoticed(run: Run, registration_id: Any, event: str, since: int,
                     error: Any) -> Fact | None:
    """The drone bound to ``registration_id`` received ``event`` since ``since`` and has
    gone, yet the relay answered ``error`` (as if it were still there)."""
    name = drone_named(run, registration_id)
    if name is None or error is None or not gone(run, name) \
            or not received_since(run, name, event, since):
        return None
    return Fact("exited-unnoticed", event=event, actor=name, role="drone", who=run.label(name),
                registration=str(registration_id), error=str(error))


def never_reached(run: Run, registration_id: Any, event: str, since: int) -> Fact | None:
    """The drone bound to ``registration_id`` did not receive ``event`` since ``since``."""
    name = drone_named(run, registration_id)
    if name is None or received_since(run, name, event, since):
        return None
    return Fact("never-reached", event=event, actor=name, role="drone", who=run.label(name),
                registration=str(registration_id))


def relay_answers(run: Run, registration_id: str, since: int) -> list[tuple[str, str]]:
    """The relay's refusals about ``registration_id`` since ``since`` as (text, error code):
    IDE acks with an error for an emit naming it, HTTP errors for a path naming it."""
    messages = run.history.messages
    sent: dict[int, Message] = {m.seq: m for m in messages[since:] if m.direction == "sent"}
    found: list[tuple[str, str]] = []
    for m in messages[since:]:
        origin = sent.get(m.meta.get("sent_seq", -1))
        if origin is None:
            continue
        if m.kind == "ide" and m.direction == "ack" and isinstance(m.ack, dict) \
                and m.ack.get("ok") is False and isinstance(origin.payload, dict) \
                and origin.payload.get("registrationId") == registration_id:
            found.append((f"{m.event} of {run.label(m.actor)} with {error_text(m.ack)}",
                          str(m.ack.get("error"))))
        elif m.kind == "http" and m.direction == "received" \
                and int(m.meta.get("status", 0)) >= 400 and registration_id in m.event:
            error = m.payload.get("error") if isinstance(m.payload, dict) else None
            found.append((f"{m.event} with {m.meta['status']} {error_text(m.payload)}".rstrip(),
                          str(error)))
    return found[-_ANSWERS_SHOWN:]


def instead(run: Run, name: str, since: int) -> list[Fact]:
    """What the relay answered about drone actor ``name`` since ``since`` (and that it is
    connected, when it answered an offline error); empty for other actors."""
    actor = run.cast.actors.get(name)
    if not isinstance(actor, SimDrone):
        return []
    answers = relay_answers(run, actor.registration_id, since)
    if not answers:
        return []
    text = " and ".join(text for text, _ in answers)
    facts = [Fact("relay-answered", actor=name, role="drone", who=run.label(name),
                  registration=actor.registration_id, answer=text,
                  error=answers[-1][1])]
    offline = next((code for _, code in answers if code in OFFLINE_ERRORS), None)
    if offline is not None and actor.connected:
        facts.append(Fact("connected-anyway", actor=name, role="drone", who=run.label(name),
                          registration=actor.registration_id, error=offline, sid=actor.sid))
    return facts


def stranded(run: Run, name: str) -> Fact | None:
    """The actor ``name`` is not connected because the relay ended its last connection with
    a Socket.IO DISCONNECT (``io server disconnect``), after which socket.io-client (and the
    simulated clients, which follow its rules) never reconnect."""
    last = next((m for m in reversed(run.history.messages)
                 if m.actor == name and m.direction == "disconnect"), None)
    if last is None or last.meta.get("cause") != SERVER_DISCONNECT:
        return None
    actor = run.socket(name)
    return Fact("stranded", actor=name, role=actor.kind, who=run.label(name),
                cause=SERVER_DISCONNECT)


_RELEASING = ("remove", "clear", "heal", "resume")


def _silencing(note: FaultNote) -> str | None:
    """How ``note`` silences its actors' links with their connections left open, else None."""
    params = note.params
    if note.action == "toxic" and params.get("toxic") == "timeout" and not params.get("ms"):
        return "a blackhole (timeout toxic)"
    if note.action == "stall":
        return f"a stall ({params.get('direction')})"
    if note.action == "partition":
        return f"partition {params.get('name')}"
    if note.action == "cut" and params.get("side") == "client":
        return "a half-open cut"
    return None


_VANISHED = ("crash", "exit")  # how a client goes without a word (harness.sim: ``leaving``)


def kept_silent(run: Run, registration: Any, expected: Any, actual: Any) -> Fact | None:
    """A database check expected registration ``registration`` ``offline`` and found it
    online or busy (``actual``), though a fault silenced its drone (connections left open)
    longer ago than the relay's heartbeat, and the drone has not connected since: the relay
    never reaped it."""
    if actual is None or not isinstance(expected, dict) \
            or expected.get("status") != "offline" \
            or actual.get("status") not in ("online", "busy"):
        return None
    name = drone_named(run, registration)
    if name is None:
        return None
    silenced: tuple[Message, str] | None = None
    polling = run.socket(name).transport == "polling"
    for m in run.history.messages:
        if m.actor == name and m.direction == "connect":
            silenced = None  # it came back: what the relay sees now is a new connection
        if polling and m.actor == name and m.direction == "disconnect" \
                and m.meta.get("reason") in _VANISHED:
            # A long-polling client that vanishes leaves no connection to close: only the
            # heartbeat can tell the relay.
            silenced = (m, f"{m.meta['reason']}ed on long-polling")
            continue
        if m.direction != "note" or m.event != FAULT_EVENT:
            continue
        note = FaultNote.from_json(m.payload)
        if note is None or name not in note.actors:
            continue
        how = _silencing(note)
        if how is not None:
            silenced = (m, how)
        elif note.action in _RELEASING:
            silenced = None
    if silenced is None:
        return None
    since, how = silenced
    quiet = run.elapsed() - run.elapsed(since)
    if quiet < run.env.relay_timeouts.heartbeat:
        return None
    line = since.meta.get("line")
    return Fact("kept-silent", actor=name, role="drone", who=run.label(name),
                registration=str(registration),
                cause=f"{how}{f' at line {line}' if line else ''}",
                status=str(actual.get("status")), window=f"{quiet:.0f} s")
