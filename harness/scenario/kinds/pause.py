"""``pause``: wait a fixed time. For replays that keep a recording's gaps (``harness scenario
from-trace --gaps keep``); the pack waits for conditions instead (``wait_until``), and a
test holds it to that."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from harness.scenario.context import Run
from harness.scenario.kinds.base import DURATION, StepKind, as_mapping
from harness.scenario.model import Step


@dataclass(frozen=True)
class PauseArgs:
    """How long to wait (``for``: seconds, or a sum with ``${relay.*}`` timeouts)."""

    seconds: Any


async def pause(run: Run, step: Step) -> None:
    """Sleep for the given time (cancelled with the scenario at its timeout)."""
    args: PauseArgs = step.args
    await asyncio.sleep(run.seconds(args.seconds, 0.0))


KINDS = (
    StepKind(
        name="pause", order=21, summary="Wait a fixed time (a recording's gap, kept).",
        schema={
            "description": "Seconds to wait: a duration or {seconds}.", "$comment": "duration",
            "anyOf": [DURATION, {"type": "object", "properties": {"seconds": DURATION},
                                 "required": ["seconds"], "additionalProperties": False}],
        },
        reference="seconds, or `{seconds}`: wait that long. For replays that keep a "
                  "recording's gaps (`harness scenario from-trace --gaps keep`); the pack "
                  "waits for conditions (`wait_until`), never a fixed time",
        args=PauseArgs, handler=pause, shorthand=as_mapping("seconds"),
    ),
)
