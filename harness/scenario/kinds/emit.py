"""``emit``: an IDE or drone emits an event; its ack is awaited and matched."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.outcome.facts import Fact
from harness.outcome.results import fail
from harness.outcome.wording import notes
from harness.protocol import IDE_EVENTS
from harness.scenario import hints
from harness.scenario.acks import ack_headline, ack_kind, answer_kind
from harness.scenario.context import DEFAULT_TIMEOUT, Run
from harness.scenario.kinds.base import ACTOR_NAME, DURATION, MATCHER, SOCKET, UNSET, StepKind
from harness.scenario.matchers import match
from harness.scenario.model import Step
from harness.sim import AckTimeout

IGNORED_WITHIN = 1.0  # s: an emit with may_ignore and no ack by then was ignored


@dataclass(frozen=True)
class EmitArgs:
    """What to emit, and what its ack must be."""

    actor: str
    event: str
    payload: Any = field(default_factory=dict)
    ack: Any = UNSET
    no_ack: bool = False
    may_ignore: bool = False
    may_drop: bool = False
    negative: bool = False
    timeout: Any = None


async def emit(run: Run, step: Step) -> None:
    """Emit an event; unless ``no_ack``, wait for its ack and match it."""
    args: EmitArgs = step.args
    name, event = args.actor, args.event
    actor = run.ensure_connected(name, f"emit {event}")
    payload = run.render(args.payload)
    if args.no_ack:
        await actor.emit(event, payload, ack=False, negative=args.negative,
                         optional=args.may_drop)
        return
    timeout = run.seconds(args.timeout, IGNORED_WITHIN if args.may_ignore else DEFAULT_TIMEOUT)
    since = len(run.history)
    try:
        answer = await actor.emit(event, payload, timeout=timeout, negative=args.negative)
    except AckTimeout as exc:
        if args.may_ignore and actor.connected:
            return  # ignored: one of the two answers contract 11.6 allows
        raise fail(f"no ack for {event} reached {run.label(name)} within {timeout:g} s"
                   f"{' (the socket disconnected)' if 'disconnected' in str(exc) else ''}",
                   kind="timeout") from exc
    if args.ack is not UNSET:
        check_ack(run, name, event, run.render(args.ack), answer, payload, since)


def _drone_side(run: Run, event: str, answer: dict[str, Any], payload: Any,
                since: int | None) -> list[Fact | None]:
    """What the refusal means for the drone named in ``payload``: connected after all (and
    then whether the forwarded event reached it; IDE events keep their name on the drone),
    or gone although the relay answered as if it were there."""
    if not isinstance(payload, dict) or "registrationId" not in payload:
        return []
    registration = payload["registrationId"]
    name = hints.drone_named(run, registration)
    if name is None:
        return []
    if not run.drone(name).connected:
        return [hints.not_connected(run, registration, answer.get("error"))]
    facts = [hints.connected_anyway(run, registration, answer.get("error"))]
    if event in IDE_EVENTS and since is not None:
        facts.append(hints.never_reached(run, registration, event, since))
    return facts


def check_ack(run: Run, name: str, event: str, expected: Any, answer: Any,
              payload: Any = None, since: int | None = None) -> None:
    """Match an ack; a refusal that does not match says what the drone side shows."""
    result = match(expected, answer)
    if not result:
        who = run.label(name)
        kind = ack_kind(event, who, expected, answer)
        headline = ack_headline(event, who, expected, answer, result.mismatches)
        facts: list[Fact | None] = [kind]
        if answer_kind(answer) == "refused":
            facts += _drone_side(run, event, answer, payload, since)
        raise fail(headline + notes(facts[1:]), compared=True, expected=expected,
                   actual=answer, mismatches=result.mismatches, facts=facts)
    run.capture(result)


KINDS = (
    StepKind(
        name="emit", order=6, summary="Emit an event and check its ack.",
        schema={
            "type": "object",
            "properties": {
                "actor": ACTOR_NAME,
                "event": {"type": "string", "minLength": 1},
                "payload": {"description": "The payload; ${...} references are resolved."},
                "ack": MATCHER,
                "no_ack": {"type": "boolean"},
                "may_ignore": {"type": "boolean", "description": (
                    "The relay may ignore this event (contract 11.6: wrong-side and unknown "
                    "events): no ack within timeout (default 1 s) passes; an ack that "
                    "arrives must match ack.")},
                "timeout": DURATION,
                "negative": {"type": "boolean"},
                "may_drop": {"type": "boolean", "description": (
                    "A drone stream event (no_ack) the relay may drop or forward to its chat "
                    "session only (contract 11.7): not owed to any IDE, never allowed to "
                    "reach another.")},
            },
            "additionalProperties": False, "required": ["actor", "event"],
            "description": "Emit an event and check its ack.",
        },
        reference="`actor`, `event`, `payload`, `ack` (matcher), `timeout` (5 s), `no_ack: "
                  "true` (fire and forget), `negative: true` (the protocol forbids it, "
                  "deliberately), `may_ignore: true` (the relay may ignore it: no ack within "
                  "`timeout`, default 1 s, passes; contract 11.6), `may_drop: true` (a "
                  "stream event the relay may drop or forward to its chat session only; "
                  "contract 11.7)",
        args=EmitArgs, handler=emit, actors={"actor": SOCKET}, matchers=(("ack",),)),
)
