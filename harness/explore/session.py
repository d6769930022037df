"""What every example of one exploration shares (``Session``), how an example fails
(``ExploreFailure``) and how the search stops (``StopExploring``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis.control import current_build_context

from harness.env.base import Environment
from harness.explore.loop import LoopThread
from harness.explore.program import Program
from harness.outcome.results import Failure
from harness.settings import RelayTimeouts


class StopExploring(KeyboardInterrupt):
    """The budget ran out with nothing found: ends the Hypothesis run at once. Hypothesis
    takes any other exception for a failure (and replays it); an interrupt it lets through
    untouched, without saving the example."""


class ExploreFailure(Exception):
    """A step (or, at the end, an invariant) did not hold: what the relay did differs from
    what the model allows. Carries the program of the example, which is the finding."""

    def __init__(self, program: Program, failure: Failure, expectation: str) -> None:
        super().__init__(failure.message)
        self.program = program
        self.failure = failure
        self.expectation = expectation
        self.size = (len(program.actions), program.step_count)


@dataclass
class Session:
    """What every example of one exploration shares: the loop, the environment, the
    options, the budget and the counters."""

    loop: LoopThread
    env: Environment
    reference: bool
    faults: bool
    restart: bool
    timeouts: RelayTimeouts
    file: Path  # the name the programs compile as (and the finding is written to)
    deadline: float  # time.monotonic() after which no new example starts
    shrink_budget: float
    on_example: Callable[[Session, str, float, int], None] | None = None
    examples: int = 0
    steps: int = 0
    found_at: float | None = None
    first_failure_after: float | None = None
    first_failure_example: int | None = None  # which example failed first (1 = the first)
    smallest: ExploreFailure | None = None
    shrink_stopped: bool = False
    started: float = field(default_factory=time.monotonic)

    def before_example(self) -> None:
        """Stop when the budget is spent: the search's when nothing was found yet, the
        shrinking's once something was (the smallest failing example seen is then the
        finding). Hypothesis's own final replay of its shrunk example always runs."""
        now = time.monotonic()
        if self.found_at is None:
            if now >= self.deadline:
                raise StopExploring
            return
        if now >= self.found_at + self.shrink_budget and \
                not current_build_context().is_final:
            self.shrink_stopped = True
            raise StopExploring

    def failed(self, failure: ExploreFailure) -> None:
        """Count a failing example; keep the smallest (the finding, should Hypothesis's own
        shrinking end in a replay that does not fail the same way)."""
        if self.found_at is None:
            self.found_at = time.monotonic()
            self.first_failure_after = self.found_at - self.started
            self.first_failure_example = self.examples + 1
        if self.smallest is None or failure.size < self.smallest.size:
            self.smallest = failure
