"""One exploration example against a live relay: a seeded world, the cast, the steps of each
action run as the scenario runner runs them, and the automatic checks at the end.

Everything here is a coroutine on the explorer's event loop (``harness.explore.loop``); the
Hypothesis state machine calls it from its own thread.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from harness.env.base import Environment
from harness.errors import ScenarioError
from harness.outcome.results import Failure, ScenarioResult, StepResult
from harness.scenario.context import Run
from harness.scenario.loader import load_file
from harness.scenario.model import Scenario
from harness.scenario.runner import execute, finish_run, open_run
from harness.sim import MessageHistory

log = logging.getLogger(__name__)


class ExplorerStopped(KeyboardInterrupt):
    """The exploration cannot go on: the explorer wrote a step the scenario loader refuses
    (a bug of the explorer), or the environment failed. Hypothesis takes any other
    exception for a finding and replays and shrinks it; an interrupt it lets through at
    once. ``harness explore`` reports it as an error (exit 2)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def compile_program(file: Path, text: str) -> Scenario:
    """The scenario of ``text`` as ``file``; raises ``ExplorerStopped`` naming the line."""
    try:
        (scenario,) = load_file(file, text)
    except ScenarioError as exc:
        raise ExplorerStopped(f"the explorer wrote a scenario the loader refuses: {exc}") \
            from exc
    return scenario


@dataclass
class LiveExample:
    """The live side of one example: call ``open``, then ``run`` per action, then ``finish``
    (always), which cleans the world up."""

    env: Environment
    faults: bool
    history: MessageHistory = field(default_factory=MessageHistory)
    result: ScenarioResult | None = None
    run: Run | None = None
    _stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)

    async def run_steps(self, scenario: Scenario, first: int) -> StepResult | None:
        """Run the top-level steps of ``scenario`` from index ``first``; the first one that
        did not pass, else None. The first call seeds the world and creates the cast."""
        if self.run is None:
            self.result = ScenarioResult(scenario)
            self.run = await self._stack.enter_async_context(
                open_run(scenario, self.env, self.result, history=self.history,
                         faults=self.faults))
        self.run.scenario = scenario
        assert self.result is not None
        for step in scenario.steps[first:]:
            outcome = await execute(self.run, step)
            log.debug("%s: %s in %.2f s", step.title, outcome.status, outcome.duration)
            self.result.steps.append(outcome)
            if not outcome.ok:
                return outcome
        return None

    async def finish(self, check: bool) -> Failure | None:
        """Settle, check the invariants (when ``check``: the steps passed), close and clean
        up; the invariants' failure, if any."""
        try:
            if self.run is None or self.result is None or not check:
                return None
            await finish_run(self.run, self.result)
            if self.result.status != "passed":
                return self.result.failure or Failure("invariant", "an invariant broke")
            return None
        finally:
            await self._stack.aclose()
            if self.result is not None:
                self.result.history = self.history.messages
