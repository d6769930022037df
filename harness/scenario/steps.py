"""Socket steps: connect, disconnect, crash, restart, emit, expect, expect_nothing, and the
drone controls (set_behaviour, stream). Each raises ``StepFailed`` with a failure that
names the actor, what was expected and what arrived instead."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import Any

from harness.errors import ScenarioTimeout
from harness.outcome.results import Failure, StepFailed, fail
from harness.protocol import IDE_EVENTS
from harness.scenario import hints
from harness.scenario.acks import ack_headline, answer_kind
from harness.scenario.actors import make_script, merge_behaviour
from harness.scenario.context import DEFAULT_TIMEOUT, Run
from harness.scenario.matchers import MatchResult, match
from harness.scenario.model import Step
from harness.sim import AckTimeout, ConnectRefused, Message

_SHOWN = 12  # messages listed in a failure
IGNORED_WITHIN = 1.0  # s: an emit with may_ignore and no ack by then was ignored


def names_of(value: Any) -> list[str]:
    """An actor name or list of names, as a list."""
    return [value] if isinstance(value, str) else list(value)


async def connect(run: Run, step: Step) -> None:
    """Connect each actor; with ``refused``, expect the relay to refuse it."""
    args = step.args if isinstance(step.args, dict) else {"actor": step.args}
    timeout = run.seconds(args.get("timeout"), DEFAULT_TIMEOUT)
    for name in names_of(args["actor"]):
        actor, who = run.socket(name), run.label(name)
        try:
            await actor.connect(timeout=timeout)
        except ConnectRefused as exc:
            if "refused" not in args:
                raise fail(f"the relay refused the connection of {who}: {exc.reason}",
                           actual=exc.reason) from exc
            expected = run.render(args["refused"])
            result = match(expected, exc.reason)
            if not result:
                raise fail(f"the relay refused {who} with {exc.reason!r}, not as expected",
                           compared=True, expected=expected, actual=exc.reason,
                           mismatches=result.mismatches) from exc
            run.capture(result)
            continue
        except ScenarioTimeout as exc:
            raise fail(f"{who} could not connect: {exc}", kind="timeout") from exc
        if "refused" in args:
            raise fail(f"{who} connected as {actor.sid}, but the relay was expected to refuse "
                       "it", expected=run.render(args["refused"]), actual="connected",
                       compared=True)


async def disconnect(run: Run, step: Step) -> None:
    """Disconnect each actor cleanly."""
    for name in names_of(step.args):
        await run.socket(name).disconnect()


async def crash(run: Run, step: Step) -> None:
    """Drop each actor's transport without a goodbye."""
    for name in names_of(step.args):
        await run.socket(name).crash()


async def restart(run: Run, step: Step) -> None:
    """Restart a drone (handover to a new socket, then crash recovery) and check the ack."""
    args = step.args if isinstance(step.args, dict) else {"actor": step.args}
    name = args["actor"]
    timeout = run.seconds(args.get("timeout"), DEFAULT_TIMEOUT)
    try:
        answer = await run.drone(name).restart(timeout=timeout)
    except AckTimeout as exc:
        raise fail(f"no ack for requestCrashRecovery reached {run.label(name)} within "
                   f"{timeout:g} s", kind="timeout") from exc
    if "ack" in args:
        _check_ack(run, name, "requestCrashRecovery", run.render(args["ack"]), answer)


async def emit(run: Run, step: Step) -> None:
    """Emit an event; unless ``no_ack``, wait for its ack and match it."""
    args = step.args
    name, event = args["actor"], args["event"]
    actor = run.ensure_connected(name, f"emit {event}")
    payload = run.render(args.get("payload", {}))
    negative = bool(args.get("negative", False))
    if args.get("no_ack"):
        await actor.emit(event, payload, ack=False, negative=negative,
                         optional=bool(args.get("may_drop", False)))
        return
    may_ignore = bool(args.get("may_ignore", False))
    timeout = run.seconds(args.get("timeout"), IGNORED_WITHIN if may_ignore else DEFAULT_TIMEOUT)
    since = len(run.history)
    try:
        answer = await actor.emit(event, payload, timeout=timeout, negative=negative)
    except AckTimeout as exc:
        if may_ignore and actor.connected:
            return  # ignored: one of the two answers contract 11.6 allows
        raise fail(f"no ack for {event} reached {run.label(name)} within {timeout:g} s"
                   f"{' (the socket disconnected)' if 'disconnected' in str(exc) else ''}",
                   kind="timeout") from exc
    if "ack" in args:
        _check_ack(run, name, event, run.render(args["ack"]), answer, payload, since)


def _drone_side(run: Run, event: str, answer: dict[str, Any], payload: Any,
                since: int | None) -> str:
    """What the refusal means for the drone named in ``payload``: connected after all (and
    then whether the forwarded event reached it; IDE events keep their name on the drone),
    or gone although the relay answered as if it were there."""
    if not isinstance(payload, dict) or "registrationId" not in payload:
        return ""
    registration = payload["registrationId"]
    name = hints.drone_named(run, registration)
    if name is None:
        return ""
    if not run.drone(name).connected:
        return hints.gone_note(run, registration, answer.get("error"))
    note = hints.connected_note(run, registration, answer.get("error"))
    if event in IDE_EVENTS and since is not None:
        note += hints.never_reached(run, registration, event, since)
    return note


def _check_ack(run: Run, name: str, event: str, expected: Any, answer: Any,
               payload: Any = None, since: int | None = None) -> None:
    result = match(expected, answer)
    if not result:
        headline = ack_headline(event, run.label(name), expected, answer, result.mismatches)
        if answer_kind(answer) == "refused":
            headline += _drone_side(run, event, answer, payload, since)
        raise fail(headline, compared=True, expected=expected, actual=answer,
                   mismatches=result.mismatches)
    run.capture(result)


@dataclass
class _Attempt:
    done: bool
    matched: list[tuple[Message, MatchResult]] = field(default_factory=list)
    received: list[Message] = field(default_factory=list)


def _attempt(messages: tuple[Message, ...], name: str, start: int,
             events: list[tuple[str, Any]], in_order: bool) -> _Attempt:
    received = [m for m in messages[start:] if m.actor == name and m.direction == "received"]
    found = _Attempt(False, [], received)
    used: set[int] = set()
    position = 0
    for event, payload in events:
        pool = range(position, len(received)) if in_order else range(len(received))
        for i in pool:
            message = received[i]
            if i in used or message.event != event:
                continue
            result = match(payload, message.payload) if payload is not None else MatchResult()
            if result:
                found.matched.append((message, result))
                used.add(i)
                position = i + 1
                break
        else:
            return found
    found.done = True
    return found


class _OrderedScan:
    """``_attempt`` in order, fed the growing history: each message is looked at once.

    The in-order match is greedy (each expected event takes the first fitting message after
    the previous match), so resuming where the last ``feed`` stopped gives the same result
    as scanning the whole history again.
    """

    def __init__(self, name: str, start: int, events: list[tuple[str, Any]]) -> None:
        self._name, self._next, self._events = name, start, events
        self._found = _Attempt(not events)

    def feed(self, messages: tuple[Message, ...]) -> _Attempt:
        """Look at the messages not seen yet; the attempt so far."""
        found = self._found
        for message in messages[self._next:]:
            if found.done:
                break
            if message.actor != self._name or message.direction != "received":
                continue
            found.received.append(message)
            event, payload = self._events[len(found.matched)]
            if message.event != event:
                continue
            result = match(payload, message.payload) if payload is not None else MatchResult()
            if result:
                found.matched.append((message, result))
                found.done = len(found.matched) == len(self._events)
        self._next = max(self._next, len(messages))
        return found


async def expect(run: Run, step: Step) -> None:
    """Wait until every listed actor received the expected events (in order or any)."""
    args = step.args
    raw = [(args["event"], args.get("payload"))] if "event" in args else \
        [(e["event"], e.get("payload")) for e in args["events"]]
    events = [(event, run.render(payload)) for event, payload in raw]
    in_order = args.get("order", "in_order") == "in_order"
    timeout = run.seconds(args.get("timeout"), DEFAULT_TIMEOUT)
    names = names_of(args["actor"])
    outcomes = await asyncio.gather(
        *(_expect_on(run, name, events, in_order, timeout) for name in names),
        return_exceptions=True)
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    for outcome in failures:
        if not isinstance(outcome, StepFailed):
            raise outcome
    if failures:
        first = failures[0]
        assert isinstance(first, StepFailed)
        if len(failures) > 1:
            others = "; ".join(str(f) for f in failures[1:])
            first.failure = _with_detail(first, f"also: {others}")
        raise first


def _with_detail(error: StepFailed, line: str) -> Failure:
    return replace(error.failure, details=(*error.failure.details, line))


async def _expect_on(run: Run, name: str, events: list[tuple[str, Any]], in_order: bool,
                     timeout: float) -> None:
    start = run.cursors[name]
    scan = _OrderedScan(name, start, events) if in_order else None

    def done(messages: tuple[Message, ...]) -> _Attempt | None:
        # In order, the scan resumes where it stopped (linear in a long stream, not quadratic).
        attempt = scan.feed(messages) if scan is not None else \
            _attempt(messages, name, start, events, in_order)
        return attempt if attempt.done else None

    try:
        attempt = await run.history.wait_for(done, timeout)
    except TimeoutError:
        attempt = _attempt(run.history.messages, name, start, events, in_order)
        raise _expect_failure(run, name, start, events, attempt, timeout) from None
    run.cursors[name] = max(m.seq for m, _ in attempt.matched) + 1
    for _, result in attempt.matched:
        run.capture(result)


def _expect_failure(run: Run, name: str, start: int, events: list[tuple[str, Any]],
                    attempt: _Attempt, timeout: float) -> StepFailed:
    who = run.label(name)
    index = len(attempt.matched)
    event, payload = events[index]
    after = attempt.matched[-1][0].seq if attempt.matched else start - 1
    later = [m for m in attempt.received if m.seq > after]
    near = [(m, match(payload, m.payload)) for m in later if m.event == event]
    of = f" (expected event {index + 1} of {len(events)})" if len(events) > 1 else ""
    trail = [m for m in run.history.messages[start:] if m.actor == name]
    details = [f"{name} since the last expectation:"] + \
        [f"  {run.describe(m)}" for m in trail[-_SHOWN:]] if trail else []
    if attempt.matched:
        details.insert(0, "matched before it: " + ", ".join(
            f"{m.event} (+{run.elapsed(m):.3f} s)" for m, _ in attempt.matched))
    misplaced = _misplaced(run, name, start, after, event, payload)
    if misplaced:
        return fail(f"{event} did not reach {who}{of} where expected within {timeout:g} s: "
                    f"{misplaced}", kind="timeout", expected=payload, details=details)
    if near:
        message, result = min(near, key=lambda pair: len(pair[1].mismatches))
        return fail(f"{event} reached {who}{of} at +{run.elapsed(message):.3f} s, but its "
                    f"payload did not match (waited {timeout:g} s)", compared=True,
                    expected=payload, actual=message.payload, mismatches=result.mismatches,
                    details=details)
    answered = hints.instead(run, name, start)
    if later:
        return fail(f"{event} never reached {who}{of} within {timeout:g} s; "
                    f"{len(later)} other event(s) arrived instead{answered}", kind="timeout",
                    expected=payload, details=details)
    return fail(f"{event} never reached {who}{of}: nothing arrived in {timeout:g} s{answered}",
                kind="timeout", expected=payload, details=details)


def _misplaced(run: Run, name: str, start: int, after: int, event: str,
               payload: Any) -> str:
    """Where a matching ``event`` did arrive, when not after ``after``: before an earlier
    expected event of this step (out of order), or before the step's window began."""
    def fits(m: Message) -> bool:
        return m.actor == name and m.direction == "received" and m.event == event and \
            (payload is None or match(payload, m.payload).ok)

    messages = run.history.messages
    inside = next((m for m in messages[start:after + 1] if fits(m)), None)
    if inside is not None:
        return (f"a matching one arrived at +{run.elapsed(inside):.3f} s, but before the "
                "event expected ahead of it (out of the expected order)")
    before = next((m for m in reversed(messages[:start]) if fits(m)), None)
    if before is not None:
        return (f"a matching one arrived at +{run.elapsed(before):.3f} s, before this step's "
                "window (an earlier expect had already read past it)")
    return ""


async def expect_nothing(run: Run, step: Step) -> None:
    """Fail if a listed actor receives any (listed) event during the quiet period."""
    args = step.args
    period = run.seconds(args["for"], 0.0)
    watched = set(args.get("events", []))
    shape = run.render(args["payload"]) if "payload" in args else None
    starts = {name: run.cursors[name] for name in names_of(args["actor"])}
    first = min(starts.values())

    def offending(messages: tuple[Message, ...]) -> Message | None:
        for m in messages[first:]:
            if m.actor in starts and m.seq >= starts[m.actor] and m.direction == "received" \
                    and (not watched or m.event in watched) \
                    and (shape is None or match(shape, m.payload).ok):
                return m
        return None

    try:
        message: Message = await run.history.wait_for(offending, period)
    except TimeoutError:
        return
    raise fail(f"{message.event} reached {run.label(message.actor)} at "
               f"+{run.elapsed(message):.3f} s, during a quiet period of {period:g} s",
               actual=message.payload, details=[run.describe(message)])


async def set_behaviour(run: Run, step: Step) -> None:
    """Change a drone's behaviour from here on (fields merged into the current one)."""
    drone = run.drone(step.args["actor"])
    drone.behaviour = merge_behaviour(drone.behaviour, step.args["behaviour"])


async def stream(run: Run, step: Step) -> None:
    """Make a drone stream a script for a work order and chat session."""
    args = step.args
    run.ensure_connected(args["actor"], "stream")
    await run.drone(args["actor"]).stream(
        str(run.render(args["work_order"])), str(run.render(args["chat_session"])),
        make_script(args.get("script")), negative=bool(args.get("negative", False)),
        optional=bool(args.get("may_drop", False)))
