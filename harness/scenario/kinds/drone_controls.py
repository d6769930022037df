"""``set_behaviour`` and ``stream``: the harness steers a simulated drone directly."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.scenario.actors import make_script, merge_behaviour
from harness.scenario.context import Run
from harness.scenario.kinds.base import ACTOR_NAME, DRONE, StepKind
from harness.scenario.model import Step


@dataclass(frozen=True)
class SetBehaviourArgs:
    """The drone and the behaviour fields that change."""

    actor: str
    behaviour: Mapping[str, Any]


@dataclass(frozen=True)
class StreamArgs:
    """The drone, the work order and chat session it streams for, and the script."""

    actor: str
    work_order: str
    chat_session: str
    script: Mapping[str, Any] | None = None
    negative: bool = False
    may_drop: bool = False


async def set_behaviour(run: Run, step: Step) -> None:
    """Change a drone's behaviour from here on (fields merged into the current one)."""
    args: SetBehaviourArgs = step.args
    drone = run.drone(args.actor)
    drone.behaviour = merge_behaviour(drone.behaviour, dict(args.behaviour))


async def stream(run: Run, step: Step) -> None:
    """Make a drone stream a script for a work order and chat session."""
    args: StreamArgs = step.args
    run.ensure_connected(args.actor, "stream")
    await run.drone(args.actor).stream(
        str(run.render(args.work_order)), str(run.render(args.chat_session)),
        make_script(dict(args.script) if args.script is not None else None),
        negative=args.negative, optional=args.may_drop)


KINDS = (
    StepKind(
        name="set_behaviour", order=17,
        summary="Change a drone's behaviour from here on.",
        schema={
            "type": "object",
            "properties": {"actor": ACTOR_NAME, "behaviour": {"$ref": "#/$defs/behaviour"}},
            "additionalProperties": False, "required": ["actor", "behaviour"],
            "description": "Change a drone's behaviour from here on.",
        },
        reference="`actor` (a drone), `behaviour`: fields merged into its current behaviour",
        args=SetBehaviourArgs, handler=set_behaviour, actors={"actor": DRONE}),
    StepKind(
        name="stream", order=18,
        summary="Make a drone stream a script explicitly.",
        schema={
            "type": "object",
            "properties": {
                "actor": ACTOR_NAME,
                "work_order": {"type": "string"},
                "chat_session": {"type": "string"},
                "script": {"$ref": "#/$defs/script"},
                "negative": {"type": "boolean"},
                "may_drop": {"type": "boolean", "description": (
                    "Events the relay may drop or forward to their chat session only "
                    "(contract 11.7).")},
            },
            "additionalProperties": False, "required": ["actor", "work_order", "chat_session"],
            "description": "Make a drone stream a script explicitly.",
        },
        reference="`actor` (a drone), `work_order`, `chat_session`, `script`, `negative`, "
                  "`may_drop`: stream a script explicitly",
        args=StreamArgs, handler=stream, actors={"actor": DRONE}),
)
