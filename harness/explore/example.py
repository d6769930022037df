"""One exploration example as a Hypothesis state machine: a fresh world and the cast, each
action (a rule's steps) run against the live relay, the automatic checks at the end.

The rules live in ``harness.explore.clients`` and ``harness.explore.requests``;
``harness.explore.machine`` puts them together.
"""

from __future__ import annotations

import copy
import logging
import sys
import time
from collections.abc import Coroutine
from typing import Any, ClassVar, TypeVar

from hypothesis.stateful import RuleBasedStateMachine

from harness.errors import HarnessError
from harness.explore.live import ExplorerStopped, LiveExample, compile_program
from harness.explore.model import Drone, Ide, Model
from harness.explore.program import Program, Step
from harness.explore.session import ExploreFailure, Session
from harness.outcome.results import Failure

log = logging.getLogger(__name__)
T = TypeVar("T")


class Example(RuleBasedStateMachine):
    """One example: a fresh world, the cast, and the plumbing every rule uses."""

    session: ClassVar[Session]

    def __init__(self) -> None:
        super().__init__()
        self.session.before_example()
        self.model = Model.of_cast(self.session.reference)
        self.program = Program()
        self.live = LiveExample(self.session.env, self.session.faults)
        self.failed = False
        self.began = time.monotonic()
        self.expectation = ""
        # The rules that cost seconds (a relay restart, a heartbeat) run at most once per
        # example, so that an example stays a few seconds long.
        self.spent: set[str] = set()
    # -- plumbing ----------------------------------------------------------------------------

    def act(self, comment: str, steps: list[Step], expectation: str = "") -> None:
        """Add an action to the program and run its steps; a failure raises
        ``ExploreFailure`` with the program so far."""
        self.expectation = expectation or comment
        self.program.add(comment, steps)
        self.program.reference_only = list(self.model.references)
        scenario = compile_program(self.session.file, self.program.render_last())
        first = len(scenario.steps) - len(steps)
        began = time.monotonic()
        outcome = self._call(self.live.run_steps(scenario, first))
        log.debug("action %s: %.2f s", comment, time.monotonic() - began)
        self.session.steps += len(steps)
        if outcome is not None:
            self.failed = True
            failure = outcome.failure or Failure("error", f"{outcome.step.title} {outcome.status}")
            found = ExploreFailure(copy.deepcopy(self.program), failure, self.expectation)
            self.session.failed(found)
            raise found

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the explorer's loop; a failure of the harness or the environment
        (not of the relay's answers, which are step results) stops the exploration."""
        try:
            return self.session.loop.call(coro)
        except HarnessError as exc:
            raise ExplorerStopped(str(exc)) from exc

    def teardown(self) -> None:
        session = self.session
        log.debug("example %d (%r):\n%s", session.examples + 1, sys.exc_info()[1],
                  self.program.render())
        try:
            failure = self._call(self.live.finish(check=not self.failed))
        finally:
            session.examples += 1
            if session.on_example is not None:
                verdict = "failed" if self.failed else "passed"
                session.on_example(session, verdict, time.monotonic() - self.began,
                                   self.program.step_count)
        if failure is not None:
            self.failed = True
            found = ExploreFailure(copy.deepcopy(self.program), failure,
                                   "every automatic check holds after the steps (delivery, "
                                   "isolation, acks, leaks)")
            session.failed(found)
            raise found

    def _connected_ides(self) -> list[Ide]:
        return [i for i in self.model.ides.values() if i.connected]

    def _connected_drones(self) -> list[Drone]:
        return [d for d in self.model.drones.values() if d.connected]
