"""``restart_relay``: restart the relay process, in environments that can (a scenario with
this step is skipped, saying why, where the environment cannot)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from harness.outcome.results import fail
from harness.scenario.context import Run
from harness.scenario.kinds.base import DURATION, Canonical, StepKind
from harness.scenario.model import Step

RESTART_TIMEOUT = 30.0


@dataclass(frozen=True)
class RestartRelayArgs:
    """How long the restart may take."""

    timeout: Any = None


async def restart_relay(run: Run, step: Step) -> None:
    """Restart the relay process (environments that support it)."""
    args: RestartRelayArgs = step.args
    if not run.env.supports_restart:
        raise fail(f"this environment cannot restart the relay ({run.env.describe()})",
                   kind="error")
    timeout = run.seconds(args.timeout, RESTART_TIMEOUT)
    try:
        async with asyncio.timeout(timeout):
            await run.env.restart_relay()
    except TimeoutError:
        raise fail(f"the relay did not restart within {timeout:g} s", kind="timeout") from None


def _canonical(raw: Any) -> Canonical:
    """``restart_relay:`` with no value is ``restart_relay: {}``."""
    return Canonical({} if raw is None else raw)


KINDS = (
    StepKind(
        name="restart_relay", order=19,
        summary="Restart the relay (environments that support it).",
        schema={"type": ["object", "null"], "properties": {"timeout": DURATION},
                "additionalProperties": False,
                "description": "Restart the relay (environments that support it)."},
        reference="restart the relay process (`timeout`, 30 s). A scenario with this step is "
                  "**skipped**, saying why, on environments that cannot restart the relay "
                  "(`--env external`): nothing is seeded or run, the result's status is "
                  "`skipped` (a pytest skip; not a failure)",
        args=RestartRelayArgs, handler=restart_relay, shorthand=_canonical),
)
