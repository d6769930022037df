"""``restart``: a drone restarts (a new connection replaces the half-open old one, then
``requestCrashRecovery``), and its answer is checked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.outcome.results import fail
from harness.scenario.context import DEFAULT_TIMEOUT, Run
from harness.scenario.kinds.base import (
    ACTOR_NAME,
    DRONE,
    DURATION,
    MATCHER,
    NAME_PATTERN,
    UNSET,
    StepKind,
    as_mapping,
)
from harness.scenario.kinds.emit import check_ack
from harness.scenario.model import Step
from harness.sim import AckTimeout


@dataclass(frozen=True)
class RestartArgs:
    """The drone, the ack's ``timeout``, and the expected ``ack`` (a matcher)."""

    actor: str
    timeout: Any = None
    ack: Any = UNSET


async def restart(run: Run, step: Step) -> None:
    """Restart a drone (handover to a new socket, then crash recovery) and check the ack."""
    args: RestartArgs = step.args
    timeout = run.seconds(args.timeout, DEFAULT_TIMEOUT)
    try:
        answer = await run.drone(args.actor).restart(timeout=timeout)
    except AckTimeout as exc:
        raise fail(f"no ack for requestCrashRecovery reached {run.label(args.actor)} within "
                   f"{timeout:g} s", kind="timeout") from exc
    if args.ack is not UNSET:
        check_ack(run, args.actor, "requestCrashRecovery", run.render(args.ack), answer)


KINDS = (
    StepKind(
        name="restart", order=5,
        summary="Restart a drone (a new connection replaces the old one, then crash "
                "recovery).",
        schema={
            "type": ["string", "object"], "pattern": NAME_PATTERN,
            "description": "Restart a drone (a new connection replaces the old one, then "
                           "crash recovery).",
            "properties": {"actor": ACTOR_NAME, "timeout": DURATION, "ack": MATCHER},
            "required": ["actor"], "additionalProperties": False,
        },
        reference="a drone, or `{actor, timeout, ack}`: a new connection replaces the "
                  "half-open old one, then `requestCrashRecovery`; `ack` matches its answer",
        args=RestartArgs, handler=restart, shorthand=as_mapping("actor"),
        actors={"actor": DRONE}, matchers=(("ack",),)),
)
