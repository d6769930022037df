"""Outcomes: what a scenario run produced, as data the engine writes and reports read.

    findings.py   ``Violation`` (a broken invariant), ``Mismatch`` (a differing path)
    results.py    ``ScenarioResult``, ``StepResult``, ``Failure``; ``fail`` for steps
    shapes.py     the Protocols of a parsed scenario that results and reports read
    story.py      ``render_story``: a failing scenario told as text

It sits below ``harness.scenario`` (which fills the results) and ``harness.report`` (which
renders them), so neither imports the other.
"""

from harness.outcome.findings import Mismatch, Violation
from harness.outcome.results import Failure, ScenarioResult, StepResult
from harness.outcome.shapes import ScenarioLike, SourceLike, StepLike
from harness.outcome.story import render_story

__all__ = [
    "Failure",
    "Mismatch",
    "ScenarioLike",
    "ScenarioResult",
    "SourceLike",
    "StepLike",
    "StepResult",
    "Violation",
    "render_story",
]
