"""``connect`` / ``reconnect``: open each actor's socket; with ``refused``, the relay must
refuse it with that reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.errors import ScenarioTimeout
from harness.outcome.results import fail
from harness.scenario.context import DEFAULT_TIMEOUT, Run
from harness.scenario.kinds.base import (
    ACTOR_NAME,
    ACTORS,
    DURATION,
    NAME_PATTERN,
    SOCKET,
    UNSET,
    StepKind,
    as_mapping,
    names,
)
from harness.scenario.matchers import match
from harness.scenario.model import Step
from harness.sim import ConnectRefused


@dataclass(frozen=True)
class ConnectArgs:
    """``actor`` (one or several), ``timeout``, ``refused`` (a matcher of the reason)."""

    actor: tuple[str, ...] = field(metadata=names())
    timeout: Any = None
    refused: Any = UNSET


async def connect(run: Run, step: Step) -> None:
    """Connect each actor; with ``refused``, expect the relay to refuse it."""
    args: ConnectArgs = step.args
    timeout = run.seconds(args.timeout, DEFAULT_TIMEOUT)
    for name in args.actor:
        actor, who = run.socket(name), run.label(name)
        try:
            await actor.connect(timeout=timeout)
        except ConnectRefused as exc:
            if args.refused is UNSET:
                raise fail(f"the relay refused the connection of {who}: {exc.reason}",
                           actual=exc.reason) from exc
            expected = run.render(args.refused)
            result = match(expected, exc.reason)
            if not result:
                raise fail(f"the relay refused {who} with {exc.reason!r}, not as expected",
                           compared=True, expected=expected, actual=exc.reason,
                           mismatches=result.mismatches) from exc
            run.capture(result)
            continue
        except ScenarioTimeout as exc:
            raise fail(f"{who} could not connect: {exc}", kind="timeout") from exc
        if args.refused is not UNSET:
            raise fail(f"{who} connected as {actor.sid}, but the relay was expected to refuse "
                       "it", expected=run.render(args.refused), actual="connected",
                       compared=True)


def _schema(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "type": ["string", "array", "object"],
        "pattern": NAME_PATTERN,
        "items": ACTOR_NAME, "minItems": 1, "uniqueItems": True,
        "properties": {
            "actor": ACTORS,
            "timeout": DURATION,
            "refused": {"description": "Expect the relay to refuse the connection with this "
                                       "reason (a matcher)."},
        },
        "required": ["actor"], "additionalProperties": False,
    }


_REFERENCE = ("actors, or `{actor, timeout, refused}`; with `refused: auth-denied` (a "
              "matcher) the relay must refuse the connection with that reason")

KINDS = (
    StepKind(
        name="connect", order=1, summary="Connect actors (or expect the relay to refuse them).",
        schema=_schema("An actor, a list of actors, or {actor, timeout, refused}."),
        reference=_REFERENCE, args=ConnectArgs, handler=connect,
        shorthand=as_mapping("actor"), actors={"actor": SOCKET}, matchers=(("refused",),)),
    StepKind(
        name="reconnect", order=2, summary="Connect actors again after a disconnect or crash.",
        schema=_schema("An actor, a list of actors, or {actor, timeout, refused}."),
        reference="as `connect`", args=ConnectArgs, handler=connect,
        shorthand=as_mapping("actor"), actors={"actor": SOCKET}, matchers=(("refused",),)),
)
