"""``expect``: listed actors receive the expected events, in order or in any order, after
their cursors (see "How expect reads the history" in docs/scenarios.md)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import Any

from harness.outcome.facts import Fact
from harness.outcome.results import Failure, StepFailed, fail
from harness.outcome.wording import notes, sentence
from harness.scenario import hints
from harness.scenario.context import DEFAULT_TIMEOUT, Run
from harness.scenario.kinds.base import (
    ACTORS,
    ANY,
    DURATION,
    MATCHER,
    SOCKET,
    Canonical,
    StepKind,
    convert,
    names,
)
from harness.scenario.matchers import MatchResult, match
from harness.scenario.model import Step
from harness.sim import Message, SimDrone

_SHOWN = 12  # messages listed in a failure


@dataclass(frozen=True)
class ExpectedEvent:
    """One expected event; ``payload`` None matches any payload."""

    event: str
    payload: Any = None


def _parse_events(raw: Any) -> tuple[ExpectedEvent, ...]:
    return tuple(ExpectedEvent(e["event"], e.get("payload")) for e in raw)


@dataclass(frozen=True)
class ExpectArgs:
    """The actors, the expected events and how to read them."""

    actor: tuple[str, ...] = field(metadata=names())
    events: tuple[ExpectedEvent, ...] = field(default=(), metadata=convert(_parse_events))
    order: str = "in_order"
    timeout: Any = None
    idle_timeout: Any = None


def _canonical(raw: Any) -> Canonical:
    """``event`` + ``payload`` is ``events: [{event, payload}]``."""
    if not isinstance(raw, dict) or "event" not in raw:
        return Canonical(raw)
    single = {k: raw[k] for k in ("event", "payload") if k in raw}
    rest = {k: v for k, v in raw.items() if k not in ("event", "payload")}
    return Canonical({**rest, "events": [single]}, (("events", 0), ()))


async def expect(run: Run, step: Step) -> None:
    """Wait until every listed actor received the expected events (in order or any)."""
    args: ExpectArgs = step.args
    events = [(e.event, run.render(e.payload)) for e in args.events]
    in_order = args.order == "in_order"
    idle = None if args.idle_timeout is None else run.seconds(args.idle_timeout, 0.0)
    limits = Limits(run.seconds(args.timeout, DEFAULT_TIMEOUT), idle)
    outcomes = await asyncio.gather(
        *(_expect_on(run, name, events, in_order, limits) for name in args.actor),
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


@dataclass
class Attempt:
    """How far matching the expected events got: done, the matches, what was received."""

    done: bool
    matched: list[tuple[Message, MatchResult]] = field(default_factory=list)
    received: list[Message] = field(default_factory=list)


def attempt(messages: tuple[Message, ...], name: str, start: int,
            events: list[tuple[str, Any]], in_order: bool) -> Attempt:
    """Match ``events`` against what ``name`` received from ``start`` on (greedy)."""
    received = [m for m in messages[start:] if m.actor == name and m.direction == "received"]
    found = Attempt(False, [], received)
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


class OrderedScan:
    """``attempt`` in order, fed the growing history: each message is looked at once.

    The in-order match is greedy (each expected event takes the first fitting message after
    the previous match), so resuming where the last ``feed`` stopped gives the same result
    as scanning the whole history again.
    """

    def __init__(self, name: str, start: int, events: list[tuple[str, Any]]) -> None:
        self._name, self._next, self._events = name, start, events
        self._found = Attempt(not events)

    def feed(self, messages: tuple[Message, ...]) -> Attempt:
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


@dataclass(frozen=True)
class Limits:
    """How long an expectation waits: ``timeout`` at most; with ``idle``, it fails as soon
    as its actor has received nothing for ``idle`` seconds (a stalled stream), and waits on
    while events keep arriving (a slow relay is not a broken one: the contract sets no
    throughput)."""

    timeout: float
    idle: float | None = None


class _Activity:
    """When ``name`` last received anything after history position ``start``."""

    def __init__(self, name: str, start: int, now: float) -> None:
        self._name, self._next, self.last = name, start, now

    def see(self, messages: tuple[Message, ...], now: float) -> None:
        if any(m.actor == self._name and m.direction == "received"
               for m in messages[self._next:]):
            self.last = now
        self._next = max(self._next, len(messages))


async def _wait(run: Run, name: str, start: int, done: Any, limits: Limits) -> Any:
    """``done``'s value, or ``TimeoutError`` with the wait described ("20 s", or "31.2 s,
    then nothing arrived for 10 s")."""
    if limits.idle is None:
        try:
            return await run.history.wait_for(done, limits.timeout)
        except TimeoutError:
            raise TimeoutError(f"{limits.timeout:g} s") from None
    loop = asyncio.get_running_loop()
    began = loop.time()
    deadline = began + limits.timeout
    activity = _Activity(name, start, began)

    def watched(messages: tuple[Message, ...]) -> Any:
        activity.see(messages, loop.time())
        return done(messages)

    while True:
        wait = min(deadline, activity.last + limits.idle) - loop.time()
        try:
            return await run.history.wait_for(watched, max(wait, 0.0))
        except TimeoutError:
            now = loop.time()
            if now >= deadline:
                raise TimeoutError(f"{limits.timeout:g} s") from None
            if now - activity.last >= limits.idle:
                raise TimeoutError(f"{now - began:.1f} s, then nothing arrived for "
                                   f"{limits.idle:g} s") from None


async def _expect_on(run: Run, name: str, events: list[tuple[str, Any]], in_order: bool,
                     limits: Limits) -> None:
    start = run.cursors[name]
    scan = OrderedScan(name, start, events) if in_order else None

    def done(messages: tuple[Message, ...]) -> Attempt | None:
        # In order, the scan resumes where it stopped (linear in a long stream, not quadratic).
        found = scan.feed(messages) if scan is not None else \
            attempt(messages, name, start, events, in_order)
        return found if found.done else None

    try:
        found = await _wait(run, name, start, done, limits)
    except TimeoutError as waited:
        found = attempt(run.history.messages, name, start, events, in_order)
        raise _expect_failure(run, name, start, events, found, str(waited)) from None
    run.cursors[name] = max(m.seq for m, _ in found.matched) + 1
    for _, result in found.matched:
        run.capture(result)
def _expect_failure(run: Run, name: str, start: int, events: list[tuple[str, Any]],
                    found: Attempt, waited: str) -> StepFailed:
    who = run.label(name)
    index = len(found.matched)
    event, payload = events[index]
    after = found.matched[-1][0].seq if found.matched else start - 1
    later = [m for m in found.received if m.seq > after]
    near = [(m, match(payload, m.payload)) for m in later if m.event == event]
    of = f" (expected event {index + 1} of {len(events)})" if len(events) > 1 else ""
    trail = [m for m in run.history.messages[start:] if m.actor == name]
    details = [f"{name} since the last expectation:"] + \
        [f"  {run.describe(m)}" for m in trail[-_SHOWN:]] if trail else []
    if found.matched:
        details.insert(0, "matched before it: " + ", ".join(
            f"{m.event} (+{run.elapsed(m):.3f} s)" for m, _ in found.matched))
    misplaced = _misplaced(run, name, start, after, event, payload)
    if misplaced:
        return fail(f"{event} did not reach {who}{of} where expected within {waited}: "
                    f"{misplaced}", kind="timeout", expected=payload, details=details)
    if near:
        message, result = min(near, key=lambda pair: len(pair[1].mismatches))
        return fail(f"{event} reached {who}{of} at +{run.elapsed(message):.3f} s, but its "
                    f"payload did not match (waited {waited})", compared=True,
                    expected=payload, actual=message.payload, mismatches=result.mismatches,
                    details=details)
    actor = run.cast.actors.get(name)
    missed = Fact("never-reached", event=event, actor=name, who=who,
                  role="drone" if isinstance(actor, SimDrone) else "ide")
    answered = hints.instead(run, name, start)
    arrived = f" within {waited}; {len(later)} other event(s) arrived instead" if later \
        else f": nothing arrived in {waited}"
    return fail(f"{sentence(missed)}{of}{arrived}{notes(answered)}", kind="timeout",
                expected=payload, details=details, facts=[missed, *answered])


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


KINDS = (
    StepKind(
        name="expect", order=7, summary="Expect events on one or several actors.",
        schema={
            "type": "object",
            "properties": {
                "actor": ACTORS,
                "event": {"type": "string", "minLength": 1},
                "payload": MATCHER,
                "events": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/event"}},
                "order": {"enum": ["in_order", "any"]},
                "timeout": DURATION,
                "idle_timeout": DURATION,
            },
            "additionalProperties": False, "required": ["actor"],
            "description": "Expect events on one or several actors.",
            "oneOf": [{"required": ["event"]}, {"required": ["events"]}],
        },
        reference="`actor` (actors), and `event` + `payload`, or `events: [{event, "
                  "payload}]`; `order: in_order` (default) or `any`; `timeout` (5 s); "
                  "`idle_timeout`: fail once the actor has received nothing for that long, "
                  "and wait on (up to `timeout`) while events keep arriving",
        args=ExpectArgs, handler=expect, shorthand=_canonical, actors={"actor": SOCKET},
        matchers=(("events", ANY, "payload"),)),
)
