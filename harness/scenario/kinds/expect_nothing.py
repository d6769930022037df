"""``expect_nothing``: listed actors receive no (listed) event during a quiet period."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.outcome.results import fail
from harness.scenario.context import Run
from harness.scenario.kinds.base import (
    ACTORS,
    DURATION,
    SOCKET,
    UNSET,
    StepKind,
    convert,
    key,
    names,
)
from harness.scenario.matchers import match
from harness.scenario.model import Step
from harness.sim import Message


@dataclass(frozen=True)
class ExpectNothingArgs:
    """The actors, the quiet ``period`` (written ``for``), the events and payload that
    count (every event when none are listed)."""

    actor: tuple[str, ...] = field(metadata=names())
    period: Any = field(default=None, metadata=key("for"))
    events: frozenset[str] = field(default=frozenset(), metadata=convert(frozenset))
    payload: Any = UNSET


async def expect_nothing(run: Run, step: Step) -> None:
    """Fail if a listed actor receives any (listed) event during the quiet period."""
    args: ExpectNothingArgs = step.args
    period = run.seconds(args.period, 0.0)
    watched = args.events
    shape = run.render(args.payload) if args.payload is not UNSET else None
    starts = {name: run.cursors[name] for name in args.actor}
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


KINDS = (
    StepKind(
        name="expect_nothing", order=8, summary="Expect no (listed) event for a quiet period.",
        schema={
            "type": "object",
            "properties": {
                "actor": ACTORS,
                "for": DURATION,
                "events": {"type": "array", "items": {"type": "string"}},
                "payload": {"description": (
                    "Only events whose payload matches this count (a matcher), e.g. "
                    "droneRecovered with a chatSessionId that is a string.")},
            },
            "additionalProperties": False, "required": ["actor", "for"],
            "description": "Expect no (listed) event for a quiet period.",
        },
        reference="`actor` (actors), `for` (seconds of quiet), `events` (only these count; "
                  "default every event), `payload` (only events whose payload matches count)",
        args=ExpectNothingArgs, handler=expect_nothing, actors={"actor": SOCKET},
        matchers=(("payload",),)),
)
