"""``parallel``, ``sequence`` and ``either``: steps made of steps.

Each branch of ``parallel`` and ``either`` runs on a fork of the run with cursors of its
own: a branch that matches late events must not move another past events it has yet to
match (an ack may arrive before or after a stream; contract 11.4).
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from harness.outcome.results import StepResult
from harness.scenario.context import Run
from harness.scenario.kinds.base import Execute, StepKind
from harness.scenario.model import Step


async def sequence(run: Run, step: Step, result: StepResult, execute: Execute) -> None:
    """Run the children one after another; the first failure stops the rest."""
    await run_in_order(run, step.children, result.children, result, execute)


async def run_in_order(run: Run, children: tuple[Step, ...], into: list[StepResult],
                       parent: StepResult | None, execute: Execute) -> None:
    """Run ``children`` in order into ``into``; a failure is also ``parent``'s."""
    for index, child in enumerate(children):
        outcome = await execute(run, child)
        into.append(outcome)
        if not outcome.ok:
            into += [StepResult(rest) for rest in children[index + 1:]]
            if parent is not None:
                parent.status, parent.failure = outcome.status, outcome.failure
            return


def _branches(run: Run, step: Step, execute: Execute
              ) -> tuple[list[Run], list[asyncio.Future[StepResult]]]:
    branches = [run.fork() for _ in step.children]
    return branches, [asyncio.ensure_future(execute(branch, child))
                      for branch, child in zip(branches, step.children, strict=True)]


async def _cancel(tasks: list[asyncio.Future[StepResult]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def parallel(run: Run, step: Step, result: StepResult, execute: Execute) -> None:
    """Run the children at once; the first failure cancels the others."""
    branches, tasks = _branches(run, step, execute)
    try:
        pending = set(tasks)
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            if any(not task.result().ok for task in done):
                break
    finally:
        await _cancel(tasks)
        run.join(branches)
    for child, task in zip(step.children, tasks, strict=True):
        if task.cancelled():
            result.children.append(StepResult(child, status="cancelled",
                                              note="a parallel step failed"))
        else:
            result.children.append(task.result())
    failed = next((c for c in result.children if not c.ok), None)
    if failed is not None:
        result.status, result.failure = failed.status, failed.failure


async def either(run: Run, step: Step, result: StepResult, execute: Execute) -> None:
    """Alternatives (contract section 11): each branch on a fork of the run; the first to
    pass wins (its cursors are kept) and the others are cancelled; all failing fails."""
    branches, tasks = _branches(run, step, execute)
    winner: int | None = None
    try:
        pending = set(tasks)
        while pending and winner is None:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            passed = [tasks.index(task) for task in done if task.result().ok]
            winner = min(passed) if passed else None
    finally:
        await _cancel(tasks)
    for index, (child, task) in enumerate(zip(step.children, tasks, strict=True)):
        if task.cancelled() or (winner is not None and index != winner and
                                not task.result().ok):
            result.children.append(StepResult(child, status="cancelled",
                                              note="another alternative passed"))
        else:
            result.children.append(task.result())
    if winner is not None:
        run.join([branches[winner]])
        return
    failures = [c.failure for c in result.children if c.failure is not None]
    first = failures[0]
    others = tuple(f"alternative {c.step.label} ({c.step.kind}): {c.failure.message}"
                   for c in result.children[1:] if c.failure is not None)
    result.status = "failed"
    result.failure = dataclasses.replace(
        first, message=f"no alternative held: {first.message}"
                       + (f" (and {len(others)} more, below)" if others else ""),
        details=(*others, *first.details))


def _schema(description: str, least: int) -> dict[str, Any]:
    return {"type": "array", "minItems": least, "items": {"$ref": "#/$defs/step"},
            "description": description}


KINDS = (
    StepKind(
        name="parallel", order=10,
        summary="Run these steps at the same time; all must pass.",
        schema=_schema("Run these steps at the same time; all must pass.", 1),
        reference="a list of steps run at the same time; the first failure cancels the rest",
        group=parallel),
    StepKind(
        name="sequence", order=11,
        summary="Run these steps one after another.",
        schema=_schema("Run these steps one after another (a branch of parallel).", 1),
        reference="a list of steps run in order (a branch of `parallel` or `either`)",
        group=sequence),
    StepKind(
        name="either", order=12,
        summary="Alternatives, for points where relays may differ.",
        schema=_schema("Alternatives, for points where relays may differ (contract section "
                       "11): run at the same time, each on its own view of the history; "
                       "passes as soon as one passes, fails when all fail.", 2),
        reference="alternatives, for the points where relays may differ: run at the same "
                  "time, each on its own view of the history; passes as soon as one passes "
                  "(the others are cancelled), fails when all fail, naming each failure",
        group=either),
)
