"""The selftest matrix: which scenarios failed against which relay, and the verdict. Pure.

A *run* is the pack against one relay: clean (``switch`` None), with one ``--regress``
switch, or with ``--variant`` switches (the reference relay taking the other allowed answer
of points of contract section 11; ``variants``). The verdict is green only when the clean
run and every variant run passed every scenario (a harness that fails a correct relay is
worse than none) and every switch was caught: at least one scenario failed with a message
that names the problem (``harness.selftest.diagnoses``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from harness.outcome.facts import Fact
from harness.selftest.diagnoses import Diagnosis

CLEAN = "clean"
VARIANTS_COLUMN = "variants"
ALL_VARIANTS = "all variants"
SwitchState = Literal["caught", "generic", "missed", "error"]
_CELL = {"passed": ".", "skipped": "skip", "named": "CAUGHT", "generic": "failed",
         "error": "error"}


@dataclass(frozen=True)
class Outcome:
    """One scenario in one run: its status and, when it failed, its one-line reason."""

    scenario: str
    status: Literal["passed", "failed", "error", "skipped"]
    reason: str = ""
    duration: float = 0.0
    facts: tuple[Fact, ...] = ()  # what the failure established (harness.outcome.facts)

    @property
    def passed(self) -> bool:
        """True when the scenario passed, or was skipped (the environment cannot run it)."""
        return self.status in ("passed", "skipped")


def must_pass(run: str) -> bool:
    """True for the runs every scenario must pass: clean and the variant runs (by name)."""
    return run in (CLEAN, ALL_VARIANTS) or run.startswith("variant ")


@dataclass(frozen=True)
class Run:
    """The pack against one relay; ``error`` when the environment itself failed."""

    switch: str | None
    outcomes: tuple[Outcome, ...]
    duration: float = 0.0
    error: str | None = None
    variants: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """``clean``, the switch, ``variant <name>`` or ``all variants``."""
        if self.switch:
            return self.switch
        if len(self.variants) > 1:
            return ALL_VARIANTS
        return f"variant {self.variants[0]}" if self.variants else CLEAN

    @property
    def failures(self) -> list[Outcome]:
        """Scenarios that did not pass (or skip) in this run."""
        return [o for o in self.outcomes if not o.passed]

    def green(self, scenarios: int) -> bool:
        """Started, ran ``scenarios`` scenarios, and none failed."""
        return self.error is None and not self.failures and len(self.outcomes) == scenarios


@dataclass(frozen=True)
class Catch:
    """A scenario that failed under a switch; ``clue`` is what its reason names, if any."""

    outcome: Outcome
    clue: str | None

    @property
    def named(self) -> bool:
        """True when the failure names the switch's problem."""
        return self.clue is not None


@dataclass(frozen=True)
class SwitchVerdict:
    """What the pack made of one switch."""

    run: Run
    diagnosis: Diagnosis
    catches: tuple[Catch, ...]

    @property
    def state(self) -> SwitchState:
        """caught (a failure names the problem), generic (failures, none names it), missed
        (every scenario passed) or error (the environment failed)."""
        if self.run.error is not None:
            return "error"
        if any(c.named for c in self.catches):
            return "caught"
        return "generic" if self.catches else "missed"


@dataclass(frozen=True)
class Matrix:
    """The clean run, a verdict per switch, and the scenarios in order."""

    scenarios: tuple[str, ...]
    clean: Run
    switches: tuple[SwitchVerdict, ...]
    variants: tuple[Run, ...] = ()

    @property
    def clean_failures(self) -> list[Outcome]:
        """Scenarios that did not pass against the clean relay."""
        return self.clean.failures

    @property
    def clean_green(self) -> bool:
        """The clean run started and passed every scenario."""
        return self.clean.green(len(self.scenarios))

    @property
    def variants_green(self) -> bool:
        """Every variant run started and passed every scenario (vacuous without any)."""
        return all(run.green(len(self.scenarios)) for run in self.variants)

    @property
    def ok(self) -> bool:
        """Clean and every variant all green, and every switch caught."""
        return self.clean_green and self.variants_green and \
            all(v.state == "caught" for v in self.switches)

    def problems(self) -> list[str]:
        """Why the selftest failed, one line each (empty when ``ok``)."""
        out: list[str] = []
        if self.clean.error is not None:
            out.append(f"the clean run could not start: {self.clean.error}")
        elif self.clean_failures:
            names = ", ".join(o.scenario for o in self.clean_failures)
            out.append(f"{len(self.clean_failures)} scenario(s) failed against the clean "
                       f"relay: {names}")
        for run in self.variants:
            if run.error is not None:
                out.append(f"{run.name}: the environment failed: {run.error}")
            elif run.failures:
                names = ", ".join(o.scenario for o in run.failures)
                out.append(f"{run.name}: {len(run.failures)} scenario(s) failed against a "
                           f"relay that takes another allowed answer: {names}")
            elif len(run.outcomes) != len(self.scenarios):
                out.append(f"{run.name}: ran {len(run.outcomes)} of {len(self.scenarios)} "
                           "scenario(s)")
        for verdict in self.switches:
            switch = verdict.run.name
            if verdict.state == "error":
                out.append(f"{switch}: the environment failed: {verdict.run.error}")
            elif verdict.state == "missed":
                out.append(f"{switch}: not caught: every scenario passed")
            elif verdict.state == "generic":
                out.append(f"{switch}: {len(verdict.catches)} scenario(s) failed, but no "
                           f"failure names the problem ({verdict.diagnosis.bug})")
        return out


def judge(run: Run, diagnosis: Diagnosis) -> SwitchVerdict:
    """The verdict on one switch's run."""
    catches = tuple(
        Catch(o, clue.what if (clue := diagnosis.clue_in(o.facts)) else None)
        for o in run.outcomes if not o.passed)
    return SwitchVerdict(run, diagnosis, catches)


def build_matrix(scenarios: Sequence[str], clean: Run,
                 switched: Sequence[tuple[Run, Diagnosis]],
                 variants: Sequence[Run] = ()) -> Matrix:
    """The matrix of a clean run, the switch runs (each with its diagnosis) and the variant
    runs."""
    return Matrix(tuple(scenarios), clean,
                  tuple(judge(run, diagnosis) for run, diagnosis in switched), tuple(variants))


def short_id(scenario: str) -> str:
    """``delivery/full-work-order::full work order`` from a scenario id."""
    path, _, name = scenario.partition("::")
    path = path.removeprefix("scenarios/").removesuffix(".scenario.yaml")
    return f"{path}::{name}" if name else path


def _cell(matrix: Matrix, column: int, scenario: str) -> str:
    if column == 0:
        outcome = next((o for o in matrix.clean.outcomes if o.scenario == scenario), None)
        if outcome is None:
            return "-"
        if outcome.passed:
            return _CELL[outcome.status]
        return _CELL["error"] if outcome.status == "error" else "FAILED"
    if matrix.variants:
        if column == 1:
            return _variants_cell(matrix, scenario)
        column -= 1
    verdict = matrix.switches[column - 1]
    outcome = next((o for o in verdict.run.outcomes if o.scenario == scenario), None)
    if outcome is None:
        return "-"
    if outcome.passed:
        return _CELL[outcome.status]
    catch = next(c for c in verdict.catches if c.outcome is outcome)
    return _CELL["named"] if catch.named else _CELL["generic"]


def _variants_cell(matrix: Matrix, scenario: str) -> str:
    outcomes = [next((o for o in run.outcomes if o.scenario == scenario), None)
                for run in matrix.variants]
    failed = sum(1 for o in outcomes if o is not None and not o.passed)
    if failed:
        return f"FAILED {failed}"
    if any(o is None for o in outcomes):
        return "-"
    return "skip" if all(o is not None and o.status == "skipped" for o in outcomes) else "."


def render_grid(matrix: Matrix, width: int = 48) -> list[str]:
    """Scenarios x runs: ``.`` passed, ``skip`` skipped, ``CAUGHT`` failed naming the
    problem, ``failed`` failed without naming it; in the clean column a failure is
    ``FAILED``; the variants column is ``.`` when the scenario passed (or was skipped) in
    every variant run, ``FAILED n`` when it failed in n of them."""
    heads = [CLEAN] + ([VARIANTS_COLUMN] if matrix.variants else []) + \
        [v.run.name for v in matrix.switches]
    rows = [[short_id(s)] + [_cell(matrix, i, s) for i in range(len(heads))]
            for s in matrix.scenarios]
    first = min(width, max([len("scenario"), *(len(r[0]) for r in rows)]))
    sizes = [first] + [max(len(h), 6) for h in heads]

    def line(cells: Sequence[str]) -> str:
        name = cells[0] if len(cells[0]) <= first else cells[0][: first - 1] + "…"
        return "  ".join([f"{name:<{first}}"] + [f"{c:^{s}}" for c, s in
                                                 zip(cells[1:], sizes[1:], strict=True)])

    ruler = "  ".join("-" * s for s in sizes)
    return [line(["scenario", *heads]), ruler, *(line(r) for r in rows), ruler]


def render_reasons(matrix: Matrix) -> list[str]:
    """Per switch: its state and every scenario that failed, with its one-line reason."""
    lines: list[str] = []
    for verdict in matrix.switches:
        named = sum(1 for c in verdict.catches if c.named)
        head = {"caught": f"CAUGHT by {named} of {len(verdict.catches)} failing scenario(s)",
                "generic": f"NOT CAUGHT: {len(verdict.catches)} scenario(s) failed, none "
                           "names the problem",
                "missed": "NOT CAUGHT: every scenario passed",
                "error": f"ERROR: {verdict.run.error}"}[verdict.state]
        lines += ["", f"{verdict.run.name} ({verdict.diagnosis.bug}): {head}"]
        for catch in verdict.catches:
            mark = f"names it: {catch.clue}" if catch.named else "generic"
            lines.append(f"  [{mark}] {short_id(catch.outcome.scenario)}")
            lines.append(f"      {catch.outcome.reason or '(no reason given)'}")
    if matrix.clean_failures:
        lines += ["", "clean: FAILED (a scenario fails against the reference relay)"]
        for outcome in matrix.clean_failures:
            lines += [f"  {short_id(outcome.scenario)}", f"      {outcome.reason}"]
    for run in matrix.variants:
        if run.failures:
            lines += ["", f"{run.name}: FAILED (a scenario fails against a relay that takes "
                          "another answer the contract allows)"]
            for outcome in run.failures:
                lines += [f"  {short_id(outcome.scenario)}", f"      {outcome.reason}"]
    return lines


def render_verdict(matrix: Matrix) -> list[str]:
    """The closing lines: clean result, one line per switch, and pass/fail."""
    clean = matrix.clean
    passed = sum(1 for o in clean.outcomes if o.passed)
    lines = [f"clean: {passed}/{len(matrix.scenarios)} passed in {clean.duration:.1f} s"]
    for run in matrix.variants:
        skipped = sum(1 for o in run.outcomes if o.status == "skipped")
        state = f"ERROR: {run.error}" if run.error is not None else \
            f"{len(run.outcomes) - len(run.failures)}/{len(matrix.scenarios)} passed" + \
            (f" ({skipped} skipped: reference relay only)" if skipped else "")
        lines.append(f"{run.name}: {state} in {run.duration:.1f} s")
    for verdict in matrix.switches:
        named = sum(1 for c in verdict.catches if c.named)
        lines.append(f"{verdict.run.name}: {verdict.state}; {len(verdict.catches)} failed, "
                     f"{named} naming the problem, in {verdict.run.duration:.1f} s")
    problems = matrix.problems()
    lines.append("selftest passed" if not problems else "selftest FAILED")
    lines += [f"  - {p}" for p in problems]
    return lines
