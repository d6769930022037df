"""``harness compare --explore-seed N``: ``harness explore`` against both sides with the same
seed and budget, and the candidate's finding run against the baseline.

With one seed, Hypothesis draws the same action sequences on both sides (what it draws
follows the model of the contract, not the relay's answers), so a sequence that fails on
the candidate and not on the baseline is the candidate's doing. The scenario the
candidate's exploration wrote is then run against a fresh baseline: it must pass there for
the finding to count as a regression.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.compare.model import Difference, Verdict
from harness.compare.sides import Side, open_side
from harness.explore import ExploreOptions, ExploreReport, explore
from harness.explore.explorer import RELAY_TIMEOUTS
from harness.scenario.loader import load_file
from harness.scenario.schedule import run_scenarios
from harness.settings import RelaySettings


@dataclass(frozen=True)
class ExploreSide:
    """What one side's exploration did: examples, and its finding (one line) if any."""

    examples: int
    finding: str | None = None
    file: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"examples": self.examples, "finding": self.finding, "file": self.file}


@dataclass
class ExploreComparison:
    """Both explorations, the baseline's verdict on the candidate's finding, and what that
    makes a regression (or fixed)."""

    seed: int
    examples: int
    baseline: ExploreSide
    candidate: ExploreSide
    finding_on_baseline: str | None = None  # the status of the candidate's scenario there
    differences: list[Difference] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"seed": self.seed, "examples": self.examples,
                "baseline": self.baseline.to_json(), "candidate": self.candidate.to_json(),
                "candidateFindingOnBaseline": self.finding_on_baseline,
                "differences": [d.to_json() for d in self.differences]}


def _side(report: ExploreReport) -> ExploreSide:
    finding = report.finding
    if finding is None:
        return ExploreSide(report.examples)
    return ExploreSide(report.examples, finding.failure.message, str(finding.file))


async def _explore(side: Side, base: RelaySettings, token: str | None,
                   options: ExploreOptions) -> ExploreReport:
    opened = await open_side(side, base, token)
    try:
        return await asyncio.to_thread(explore, opened.env, options,
                                       title=f"harness compare ({side.flag})")
    finally:
        opened.cleanup()


async def explore_both(baseline: Side, candidate: Side, base: RelaySettings,
                       token: str | None, seed: int, examples: int,
                       out: Path) -> ExploreComparison:
    """Explore each side (fresh environments, the explorer's short relay timeouts), then
    run the candidate's finding, if any, against a fresh baseline."""
    settings = dataclasses.replace(
        base, drone_ack_timeout=RELAY_TIMEOUTS["drone_ack_timeout"],
        termination_ack_timeout=RELAY_TIMEOUTS["termination_ack_timeout"],
        termination_poll_timeout=RELAY_TIMEOUTS["termination_poll_timeout"])
    reports = []
    for side, name in ((baseline, "baseline"), (candidate, "candidate")):
        options = ExploreOptions(budget=None, examples=examples, seed=seed, out=out / name,
                                 database=False)
        reports.append(await _explore(side, settings, token, options))
    result = ExploreComparison(seed, examples, _side(reports[0]), _side(reports[1]))
    finding = reports[1].finding
    if finding is not None:
        opened = await open_side(baseline, settings, token)
        try:
            await opened.env.start()
            try:
                runs = await run_scenarios(load_file(finding.file), opened.env)
            finally:
                await opened.env.stop()
        finally:
            opened.cleanup()
        result.finding_on_baseline = runs[0].status if runs else "not run"
    _judge(result)
    return result


def _judge(result: ExploreComparison) -> None:
    def add(verdict: Verdict, summary: str) -> None:
        result.differences.append(Difference("(explore)", "explore", verdict, summary))

    cand, base = result.candidate, result.baseline
    where = f"explore seed {result.seed}, {result.examples} examples"
    if cand.finding is not None and result.finding_on_baseline == "passed":
        add("regression", f"{where}: the candidate fails ({cand.finding}); the scenario "
                          f"{cand.file} passes on the baseline")
    elif cand.finding is not None and base.finding is None:
        add("regression", f"{where}: the candidate fails ({cand.finding}); on the baseline "
                          f"that scenario is {result.finding_on_baseline}")
    elif base.finding is not None and cand.finding is None:
        add("fixed", f"{where}: the baseline fails ({base.finding}), the candidate does not")
