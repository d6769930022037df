"""Run the pack against the clean reference relay, against each ``--variant`` alone and all
of them together, and once per ``--regress`` switch, each in its own fresh environment, and
build the matrix."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from harness.env import open_environment
from harness.env.base import Environment
from harness.errors import ConfigError, HarnessError
from harness.outcome import ScenarioResult
from harness.scenario import Scenario
from harness.scenario.schedule import run_scenarios
from harness.selftest.diagnoses import diagnosis_of
from harness.selftest.matrix import Matrix, Outcome, Run, build_matrix
from harness.settings import RelaySettings

log = logging.getLogger(__name__)

SELFTEST_ENVIRONMENTS = ("local", "compose")

EnvFactory = Callable[[RelaySettings], Environment]
OnResult = Callable[[str, ScenarioResult], None]


@dataclass
class SelftestReport:
    """The matrix and every scenario result, by run name (``clean`` or the switch)."""

    matrix: Matrix
    results: dict[str, list[ScenarioResult]] = field(default_factory=dict)
    clean_again: list[list[ScenarioResult]] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)  # run name -> clean/variant/switch


def outcome_of(result: ScenarioResult) -> Outcome:
    """The matrix's view of one scenario result."""
    reason = result.failure.message if result.failure is not None else ""
    facts = result.failure.facts if result.failure is not None else ()
    return Outcome(result.scenario.id, result.status, reason, result.duration, facts)


def environment_factory(kind: str) -> EnvFactory:
    """A factory of fresh ``kind`` environments (``local`` or ``compose``) for settings."""
    if kind not in SELFTEST_ENVIRONMENTS:
        raise ConfigError(f"selftest --env: {kind!r} cannot turn switches on; choose from "
                          f"{', '.join(SELFTEST_ENVIRONMENTS)}")
    return lambda settings: open_environment(kind, settings=settings)


async def run_pack(scenarios: Sequence[Scenario], env: Environment, switch: str | None,
                   on_result: OnResult | None = None, variants: Sequence[str] = (),
                   jobs: int = 1) -> tuple[Run, list[ScenarioResult]]:
    """Start ``env``, run every scenario in it (``jobs`` at a time, as ``harness run -j``),
    stop it; a start-up failure is the run's ``error``, not an exception."""
    began = time.monotonic()
    name = Run(switch, (), variants=tuple(variants)).name
    results: list[ScenarioResult] = []
    try:
        await env.start()
    except HarnessError as exc:
        log.debug("selftest: %s environment failed", name, exc_info=True)
        await env.stop()
        return Run(switch, (), time.monotonic() - began, error=str(exc),
                   variants=tuple(variants)), results
    def done(result: ScenarioResult) -> None:
        if on_result is not None:
            on_result(name, result)

    try:
        # Repeatable names: the compare column diffs runs (ids and tags stay per run).
        results = await run_scenarios(scenarios, env, jobs=jobs, on_result=done,
                                      repeatable_names=True)
    finally:
        await env.stop()
    outcomes = tuple(outcome_of(r) for r in results)
    return Run(switch, outcomes, time.monotonic() - began, variants=tuple(variants)), results


def variant_runs(variants: Sequence[str]) -> list[tuple[str, ...]]:
    """Each variant alone, then (with more than one) all of them together."""
    runs = [(variant,) for variant in variants]
    return runs + ([tuple(variants)] if len(variants) > 1 else [])


async def run_selftest(scenarios: Sequence[Scenario], switches: Sequence[str],
                       make_env: EnvFactory, base: RelaySettings | None = None,
                       on_result: OnResult | None = None,
                       variants: Sequence[str] = (), jobs: int = 1,
                       clean_twice: bool = False) -> SelftestReport:
    """The pack against the clean relay (``clean_twice``: twice more, each in a fresh
    environment, for the compare column: its noise, and the clean relay against itself),
    against each variant alone and all of them together, then with each switch (one at a
    time; every run in a fresh environment from ``make_env``); raises ``ConfigError`` for a
    switch with no diagnosis before anything runs."""
    base = dataclasses.replace(base or RelaySettings(), regressions=frozenset(),
                               variants=frozenset())
    diagnoses = [diagnosis_of(switch) for switch in switches]
    clean, clean_results = await run_pack(scenarios, make_env(base), None, on_result,
                                          jobs=jobs)
    again: list[list[ScenarioResult]] = []
    for _ in range(2 if clean_twice else 0):  # the noise, then the clean relay again
        again.append((await run_pack(scenarios, make_env(base), None, None, jobs=jobs))[1])
    results = {clean.name: clean_results}
    kinds = {clean.name: "clean"}
    variant_results: list[Run] = []
    for chosen in variant_runs(variants):
        settings = dataclasses.replace(base, variants=frozenset(chosen))
        run, run_results = await run_pack(scenarios, make_env(settings), None, on_result,
                                          chosen, jobs=jobs)
        results[run.name] = run_results
        kinds[run.name] = "variant"
        variant_results.append(run)
    switched = []
    for switch, diagnosis in zip(switches, diagnoses, strict=True):
        settings = dataclasses.replace(base, regressions=frozenset({switch}),
                                       **diagnosis.settings)
        run, run_results = await run_pack(scenarios, make_env(settings), switch, on_result,
                                          jobs=jobs)
        results[switch] = run_results
        kinds[switch] = "switch"
        switched.append((run, diagnosis))
    matrix = build_matrix([s.id for s in scenarios], clean, switched, variant_results)
    return SelftestReport(matrix, results, again, kinds)
