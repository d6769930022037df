"""The compare column of ``harness selftest``: ``harness compare``'s judgement of every run
against the clean relay.

The clean pack runs three times: what differs between the first two is noise. The third
and each run of the matrix are compared with those two, as ``harness compare`` would:

- the clean relay's third run: no regression (the clean relay against itself);
- each variant (and all of them together): no regression, its differences allowed by
  contract section 11;
- each switch: at least one regression besides failing scenarios, naming what the relay
  did otherwise (an ack, an event, an HTTP answer).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from harness.compare.build import ScenarioRuns, build_comparison
from harness.compare.model import Comparison, Difference, SideInfo
from harness.compare.run import Collected
from harness.outcome import ScenarioResult

RunKind = Literal["clean", "variant", "switch"]
CLEAN_AGAIN: Final = "clean (again)"
SHOWN: Final = 5  # regressions listed for a run that must have none


@dataclass(frozen=True)
class CompareCell:
    """One run compared with the clean runs: counts, the first regression, and whether that
    is what the run must show."""

    name: str
    kind: RunKind
    regressions: int
    behaviour: int  # regressions other than a changed verdict
    allowed: int
    unstable: int
    first: str = ""
    regressed: tuple[str, ...] = ()  # the first few regressions, for a run that must have none

    @property
    def ok(self) -> bool:
        """Clean and variants: no regression. Switches: a regression in behaviour."""
        return self.behaviour > 0 if self.kind == "switch" else self.regressions == 0


def _cell(name: str, kind: RunKind, comparison: Comparison) -> CompareCell:
    regressions = comparison.differences("regression")
    behaviour = [d for d in regressions if d.kind != "verdict"]
    first = behaviour[0] if behaviour else regressions[0] if regressions else None
    def words(difference: Difference) -> str:
        return f"{difference.scenario.split('::')[-1]}: {difference.summary}"

    return CompareCell(name, kind, len(regressions), len(behaviour),
                       len(comparison.differences("allowed")),
                       sum(len(s.unstable) for s in comparison.scenarios),
                       words(first) if first else "",
                       tuple(words(d) for d in regressions[:SHOWN]))


def compare_column(clean: Sequence[Sequence[ScenarioResult]],
                   again: Sequence[ScenarioResult],
                   runs: Mapping[str, tuple[RunKind, Sequence[ScenarioResult]]],
                   ) -> list[CompareCell]:
    """Compare ``again`` (one more clean run) and every run of ``runs`` (name -> kind,
    results) with the ``clean`` runs (two or more: what differs between them is noise)."""
    baseline = Collected()
    for results in clean:
        baseline.add(results)
    base_runs = baseline.runs()
    cells: list[CompareCell] = []
    for name, (kind, results) in [(CLEAN_AGAIN, ("clean", again)), *runs.items()]:
        side = Collected()
        side.add(results)
        cells.append(_cell(name, kind, _compare(base_runs, side.runs(), name)))
    return cells


def _compare(base: Mapping[str, ScenarioRuns], cand: Mapping[str, ScenarioRuns],
             name: str) -> Comparison:
    # Latency is left out: the runs of a selftest are minutes apart on a busy machine.
    return build_comparison(SideInfo("clean"), SideInfo(name), base, cand, runs=1,
                            max_p99_regression=float("inf"), min_p99_delta=0.0)


def render_compare_column(cells: Sequence[CompareCell]) -> list[str]:
    """One line per run, then the verdict of the column."""
    lines = [f"  {'run':<33} {'regr.':>5} {'behav.':>6} {'allowed':>7} {'noise':>5}  verdict"]
    for cell in cells:
        want = "a regression" if cell.kind == "switch" else "no regression"
        state = "ok" if cell.ok else f"WRONG (must show {want})"
        lines.append(f"  {cell.name:<33} {cell.regressions:>5} {cell.behaviour:>6} "
                     f"{cell.allowed:>7} {cell.unstable:>5}  {state}")
        if cell.kind == "switch" and cell.first:
            lines.append(f"  {'':<33} first: {cell.first[:150]}")
        elif not cell.ok:
            lines += [f"  {'':<33} regression: {text[:150]}" for text in cell.regressed]
    bad = [c.name for c in cells if not c.ok]
    lines.append("compare column: " + ("ok" if not bad else f"FAILED ({', '.join(bad)})"))
    return lines
