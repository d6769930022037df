"""``disconnect`` and ``crash``: an actor leaves, with a goodbye or without one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.scenario.context import Run
from harness.scenario.kinds.base import (
    ACTOR_NAME,
    ACTORS,
    NAME_PATTERN,
    SOCKET,
    StepKind,
    as_mapping,
    names,
)
from harness.scenario.model import Step


@dataclass(frozen=True)
class LeaveArgs:
    """The actors that leave."""

    actor: tuple[str, ...] = field(metadata=names())


async def disconnect(run: Run, step: Step) -> None:
    """Disconnect each actor cleanly."""
    args: LeaveArgs = step.args
    for name in args.actor:
        await run.socket(name).disconnect()


async def crash(run: Run, step: Step) -> None:
    """Drop each actor's transport without a goodbye."""
    args: LeaveArgs = step.args
    for name in args.actor:
        await run.socket(name).crash()


def _schema() -> dict[str, Any]:
    return {
        "description": "An actor, a list of actors, or {actor}.",
        "type": ["string", "array", "object"], "pattern": NAME_PATTERN,
        "items": ACTOR_NAME, "minItems": 1, "uniqueItems": True,
        "properties": {"actor": ACTORS}, "required": ["actor"], "additionalProperties": False,
    }


KINDS = (
    StepKind(name="disconnect", order=3, summary="Disconnect actors cleanly.", schema=_schema(),
             reference="actors: a clean goodbye", args=LeaveArgs, handler=disconnect,
             shorthand=as_mapping("actor"), actors={"actor": SOCKET}),
    StepKind(name="crash", order=4, summary="Drop actors' transports with no goodbye.",
             schema=_schema(), args=LeaveArgs, handler=crash,
             reference="actors: drop the transport with no goodbye (the relay sees the TCP "
                       "close)",
             shorthand=as_mapping("actor"), actors={"actor": SOCKET}),
)
