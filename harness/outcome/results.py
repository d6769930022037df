"""Structured results of a scenario run: per-step outcomes with timings, the failure, the
violations and the message history, kept as data so reports (text, JUnit XML, HTML) can
be rendered from them later.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from harness.errors import ExpectationFailed
from harness.outcome.facts import Fact
from harness.outcome.findings import Mismatch, Violation
from harness.outcome.shapes import ScenarioLike, SourceLike, StepLike
from harness.sim.history import Message

StepStatus = Literal["passed", "failed", "error", "skipped", "cancelled", "not-run"]
ScenarioStatus = Literal["passed", "failed", "error", "skipped"]
FailureKind = Literal["expectation", "timeout", "invariant", "error", "interrupted"]


@dataclass(frozen=True)
class Failure:
    """Why a step or a scenario failed. ``message`` is one line that names the problem.

    ``expected``/``actual`` are shown side by side when ``compared``; ``mismatches`` list
    the differing paths; ``details`` are extra lines (what arrived instead, notes).
    """

    kind: FailureKind
    message: str
    step: str | None = None
    source: SourceLike | None = None
    compared: bool = False
    expected: Any = None
    actual: Any = None
    mismatches: tuple[Mismatch, ...] = ()
    details: tuple[str, ...] = ()
    at: float | None = None  # seconds since the scenario started
    facts: tuple[Fact, ...] = ()  # what the message states, as data
    used_at: tuple[SourceLike, ...] = ()  # the uses of step groups it is in, innermost first


class StepFailed(ExpectationFailed):
    """Raised inside a step: carries the structured ``Failure`` (step fields filled later)."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


class StepSkipped(Exception):
    """A step that cannot run here (e.g. no introspection); the reason goes in the result."""


def fail(message: str, *, kind: FailureKind = "expectation", expected: Any = None,
         actual: Any = None, compared: bool = False, mismatches: tuple[Mismatch, ...] = (),
         details: tuple[str, ...] | list[str] = (),
         facts: Iterable[Fact | None] = ()) -> StepFailed:
    """A ``StepFailed`` to raise from a step; ``facts`` (None skipped) are what ``message``
    states, as data."""
    return StepFailed(Failure(kind, message, compared=compared, expected=expected,
                              actual=actual, mismatches=mismatches, details=tuple(details),
                              facts=tuple(f for f in facts if f is not None)))


@dataclass
class StepResult:
    """The outcome of one step (and of its children for ``parallel``/``sequence``)."""

    step: StepLike
    status: StepStatus = "not-run"
    started: float = 0.0  # seconds since the scenario started
    duration: float = 0.0
    failure: Failure | None = None
    note: str = ""
    children: list[StepResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True unless the step failed or errored."""
        return self.status not in ("failed", "error")


@dataclass
class ScenarioResult:
    """Everything a run of one scenario produced."""

    scenario: ScenarioLike
    status: ScenarioStatus = "passed"
    duration: float = 0.0
    steps: list[StepResult] = field(default_factory=list)
    failure: Failure | None = None
    violations: list[Violation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    history: tuple[Message, ...] = ()
    actor_labels: dict[str, str] = field(default_factory=dict)
    logs: dict[str, str] = field(default_factory=dict)
    run_id: str | None = None

    @property
    def passed(self) -> bool:
        """True when the scenario passed (a negative one: exactly its expected violations),
        or was skipped because the environment cannot run it (``notes`` says why)."""
        return self.status in ("passed", "skipped")

    def flat_steps(self) -> list[StepResult]:
        """Every step result, depth first."""
        out: list[StepResult] = []

        def visit(results: list[StepResult]) -> None:
            for result in results:
                out.append(result)
                visit(result.children)

        visit(self.steps)
        return out
