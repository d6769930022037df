"""The selftest's explore column: exploration alone, without the pack, must find each
``--regress`` switch within a fixed budget and write a scenario that fails on that switch
(naming the problem) and passes on the clean relay; and a run against the clean relay must
find nothing (no false alarm).

Each run has a fresh environment and no example database, with a fixed seed, so the time to
the first failure is measured from nothing and the column is the same on every machine that
runs it at the same speed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from harness.env.base import Environment
from harness.errors import HarnessError
from harness.explore import ExploreOptions, ExploreReport, explore
from harness.explore.explorer import RELAY_TIMEOUTS
from harness.scenario.loader import load_file
from harness.selftest.diagnoses import diagnosis_of
from harness.selftest.runner import EnvFactory, outcome_of, run_pack
from harness.settings import RelaySettings

log = logging.getLogger(__name__)

EXPLORE_EXAMPLES: Final = 30
"""Examples per switch: with a fixed seed, the examples tried before the first failure are
the same on every machine (a passing example does not change what Hypothesis tries next),
so a budget in examples, unlike one in seconds, does not depend on the machine's speed."""
CLEAN_BUDGET: Final = 60.0
"""Seconds of search against the clean relay, which must find nothing."""
EXPLORE_SHRINK: Final = 15.0
"""Seconds of shrinking after a first failure."""
EXPLORE_SEED: Final = 1
EXPLORE_SETTINGS: Final = RELAY_TIMEOUTS
"""The relay's timeouts in the column: short, as ``harness explore`` starts it. Its
heartbeat (2 s + 3 s) outlasts the 3 s termination poll, so termination-waits-for-transport
shows without the long heartbeat its run of the pack needs (``Diagnosis.settings``)."""

CellState = Literal["clean", "false-alarm", "caught", "generic", "missed", "error"]


@dataclass(frozen=True)
class ExploreCell:
    """One exploration: against the clean relay (``switch`` None) or with a switch."""

    switch: str | None
    examples: int = 0
    duration: float = 0.0
    file: Path | None = None
    first_failure_after: float | None = None
    first_failure_example: int = 0
    actions: int = 0
    steps: int = 0
    message: str = ""
    clue: str | None = None  # what the replay's failure names (switch runs)
    replay_failed: bool = False  # the written file fails on the switch's relay
    clean_status: str | None = None  # the written file against the clean relay
    error: str | None = None

    @property
    def name(self) -> str:
        return self.switch or "clean"

    @property
    def state(self) -> CellState:
        if self.error is not None:
            return "error"
        if self.switch is None:
            return "false-alarm" if self.file is not None else "clean"
        if self.file is None:
            return "missed"
        if self.replay_failed and self.clue is not None and self.clean_status == "passed":
            return "caught"
        return "generic"

    @property
    def ok(self) -> bool:
        return self.state in ("clean", "caught")


def run_explore_column(switches: Sequence[str], make_env: EnvFactory, base: RelaySettings,
                       *, examples: int = EXPLORE_EXAMPLES, clean_budget: float = CLEAN_BUDGET,
                       shrink: float = EXPLORE_SHRINK,
                       seed: int = EXPLORE_SEED, out: Path | None = None,
                       on_cell: Callable[[ExploreCell], None] | None = None
                       ) -> list[ExploreCell]:
    """The clean run, then one exploration per switch, then every written scenario against
    a clean relay."""
    timeouts: dict[str, Any] = dict(EXPLORE_SETTINGS)
    base = dataclasses.replace(base, regressions=frozenset(), variants=frozenset(),
                               **timeouts)
    folder = out or Path(tempfile.mkdtemp(prefix="harness-selftest-explore-"))
    cells: list[ExploreCell] = []
    for switch in (None, *switches):
        settings = dataclasses.replace(
            base, regressions=frozenset({switch}) if switch else frozenset())
        budget: dict[str, Any] = {"budget": clean_budget} if switch is None else \
            {"budget": None, "examples": examples}
        options = ExploreOptions(**budget, seed=seed, out=folder / (switch or "clean"),
                                 database=False, shrink_budget=shrink)
        try:
            report = explore(make_env(settings), options,
                             title=f"harness selftest (explore column, {switch or 'clean'})")
        except HarnessError as exc:
            cell = ExploreCell(switch, error=str(exc))
        else:
            cell = _cell(switch, report)
        cells.append(cell)
        if on_cell is not None and (switch is None or cell.file is None):
            on_cell(cell)
    files = [c.file for c in cells if c.switch is not None and c.file is not None]
    statuses = asyncio.run(_against_clean(files, make_env(base))) if files else {}
    out_cells = []
    for cell in cells:
        if cell.switch is not None and cell.file is not None:
            cell = dataclasses.replace(cell, clean_status=statuses.get(cell.file, "not run"))
            if on_cell is not None:
                on_cell(cell)
        out_cells.append(cell)
    return out_cells


def _cell(switch: str | None, report: ExploreReport) -> ExploreCell:
    finding = report.finding
    cell = ExploreCell(switch, report.examples, report.duration)
    if finding is None:
        return cell
    clue = None
    if switch is not None and finding.replay is not None:
        found = diagnosis_of(switch).clue_in(outcome_of(finding.replay).facts)
        clue = found.what if found is not None else None
    return dataclasses.replace(
        cell, file=finding.file, first_failure_after=finding.first_failure_after,
        first_failure_example=finding.first_failure_example,
        actions=finding.actions, steps=finding.steps,
        message=finding.failure.message.splitlines()[0], clue=clue,
        replay_failed=finding.reproduced)


async def _against_clean(files: Sequence[Path], env: Environment) -> dict[Path, str]:
    scenarios = [scenario for file in files for scenario in load_file(file)]
    _, results = await run_pack(scenarios, env, None)
    return {Path(r.scenario.source.file): r.status for r in results}


def render_column(cells: Sequence[ExploreCell], examples: int = EXPLORE_EXAMPLES,
                  clean_budget: float = CLEAN_BUDGET, shrink: float = EXPLORE_SHRINK
                  ) -> list[str]:
    """The column as a table: per run, the time to the first failure and the example it
    came in, the shrunk scenario's size, whether it names the problem, and whether it
    passes on the clean relay."""
    lines = [f"explore column: exploration alone, seed {EXPLORE_SEED}: {clean_budget:g} s "
             f"against the clean relay, at most {examples} examples per switch, "
             f"{shrink:g} s of shrinking",
             f"  {'run':<33} {'first failure':>20} {'examples':>8}  {'shrunk to':<20} "
             f"{'names the problem':<18} clean relay"]
    for cell in cells:
        if cell.error is not None:
            lines.append(f"  {cell.name:<33} ERROR: {cell.error}")
            continue
        first = "-" if cell.first_failure_after is None else \
            f"{cell.first_failure_after:.1f} s (#{cell.first_failure_example})"
        shrunk = "-" if cell.file is None else f"{cell.actions} actions, {cell.steps} steps"
        if cell.switch is None:
            verdict = "nothing found (ok)" if cell.file is None else \
                f"FALSE ALARM: {cell.message}"
            lines.append(f"  {'clean (no false alarm)':<33} {first:>20} {cell.examples:>8}  "
                         f"{shrunk:<20} {verdict}")
            continue
        named = {"caught": "CAUGHT", "generic": "not named" if cell.file else "-",
                 "missed": "MISSED"}.get(cell.state, cell.state)
        if cell.state == "generic" and cell.file is not None and not cell.replay_failed:
            named = "replay passed"
        clean = cell.clean_status or "-"
        lines.append(f"  {cell.name:<33} {first:>20} {cell.examples:>8}  {shrunk:<20} "
                     f"{named:<18} {clean}")
    return lines
