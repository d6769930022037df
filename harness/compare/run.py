"""Running both sides: the same scenarios, ``runs`` times each, alternating.

Both environments start side by side and stay up; then baseline run 1, candidate run 1,
baseline run 2, ... so a machine that slows down during the comparison slows both sides
alike. Each run is ``harness run``'s own scheduler (``-j``), with fresh seeded worlds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.compare.build import ScenarioRuns, build_comparison
from harness.compare.exploring import explore_both
from harness.compare.load import compare_loads, run_load_on, summarise
from harness.compare.model import Comparison, SideInfo
from harness.compare.observe import Observation, observe
from harness.compare.sides import OpenedSide, Side, open_side
from harness.errors import EnvError, HarnessError
from harness.load.config import LoadConfig
from harness.load.runner import LoadResult
from harness.outcome.results import ScenarioResult
from harness.report.trace import actor_infos
from harness.scenario.model import Scenario
from harness.scenario.schedule import run_scenarios
from harness.settings import RelaySettings

log = logging.getLogger(__name__)

OnRun = Callable[[str, int, list[ScenarioResult], float], None]
OnLoad = Callable[[str, int, LoadResult, float], None]


def stable_names(result: ScenarioResult) -> dict[str, str]:
    """The ids of a run's drones and users by the actor's name, the same on every run."""
    names: dict[str, str] = {}
    for name, info in sorted(actor_infos(result).items()):
        if info.registration_id:
            names.setdefault(info.registration_id, f"<drone {name}>")
        if info.user_id:
            names.setdefault(info.user_id, f"<user of {name}>")
    return names


@dataclass
class Collected:
    """One side's runs so far, per scenario id: ``add`` each run's results, then
    ``runs()`` for ``build_comparison``."""

    file: dict[str, str] = field(default_factory=dict)
    observations: dict[str, list[Observation]] = field(default_factory=dict)
    first: dict[str, ScenarioResult] = field(default_factory=dict)

    def add(self, results: Sequence[ScenarioResult]) -> None:
        """Observe one run of the scenarios."""
        for result in results:
            sid = result.scenario.id
            failure = result.failure.message if result.failure is not None else None
            self.file[sid] = str(result.scenario.source.file)
            self.observations.setdefault(sid, []).append(
                observe(sid, result.status, failure, result.history, result.run_id,
                        stable_names(result)))
            self.first.setdefault(sid, result)

    def runs(self) -> dict[str, ScenarioRuns]:
        """Every scenario's runs on this side."""
        return {sid: ScenarioRuns(sid, self.file[sid], tuple(obs), (self.first[sid],))
                for sid, obs in self.observations.items()}


@dataclass(frozen=True)
class CompareOptions:
    """How to compare: runs per side, ``-j``, the latency threshold, the p99 floor."""

    runs: int = 2
    jobs: int = 1
    max_p99_regression: float = 0.2
    min_p99_delta: float = 0.005
    load: LoadConfig | None = None  # also a harness load run per side and run
    load_profile: str = ""
    scenarios: bool = True  # False: the load profile only
    explore_seed: int | None = None  # also harness explore on each side with this seed
    explore_examples: int = 30
    explore_out: Path = Path(".harness") / "compare-explore"


async def run_comparison(scenarios: Sequence[Scenario], baseline: Side, candidate: Side,
                         options: CompareOptions, base: RelaySettings,
                         admin_token: str | None = None,
                         on_run: OnRun | None = None,
                         on_load: OnLoad | None = None) -> Comparison:
    """Start both sides, run ``scenarios`` on each ``options.runs`` times, alternating (then
    the load profile as many times, alternating, with ``options.load``), stop both, explore
    each in fresh environments with ``options.explore_seed``, and compare. Raises
    ``HarnessError`` (``EnvError``, ``ConfigError``) when a side cannot start; nothing it
    started is left running."""
    began = time.monotonic()
    opened: list[OpenedSide] = []
    try:
        for wanted in (baseline, candidate):
            opened.append(await open_side(wanted, base, admin_token))
        starts = await asyncio.gather(*(o.env.start() for o in opened),
                                      return_exceptions=True)
        for outcome, which in zip(starts, opened, strict=True):
            if isinstance(outcome, HarnessError):
                raise EnvError(f"{which.side.flag} {which.side.label}: {outcome}") from outcome
            if isinstance(outcome, BaseException):
                raise outcome
        collected = (Collected(), Collected())
        loads: tuple[list[LoadResult], list[LoadResult]] = ([], [])
        for number in range(1, options.runs + 1 if options.scenarios else 1):
            for index, each in enumerate(opened):
                started = time.monotonic()
                results = await run_scenarios(scenarios, each.env, jobs=options.jobs,
                                              repeatable_names=True)
                collected[index].add(results)
                if on_run is not None:
                    on_run(each.side.flag, number, results, time.monotonic() - started)
        for number in range(1, options.runs + 1 if options.load is not None else 1):
            for index, each in enumerate(opened):
                assert options.load is not None
                started = time.monotonic()
                loads[index].append(await run_load_on(each.env, options.load))
                if on_load is not None:
                    on_load(each.side.flag, number, loads[index][-1], time.monotonic() - started)
        infos = [SideInfo(o.side.label, o.env.describe()) for o in opened]
    finally:
        await asyncio.gather(*(o.env.stop() for o in opened), return_exceptions=True)
        for each in opened:
            each.cleanup()
    comparison = build_comparison(
        infos[0], infos[1], collected[0].runs(), collected[1].runs(), runs=options.runs,
        max_p99_regression=options.max_p99_regression, min_p99_delta=options.min_p99_delta,
        wall=time.monotonic() - began)
    if options.explore_seed is not None:
        comparison.explore = await explore_both(
            baseline, candidate, base, admin_token, options.explore_seed,
            options.explore_examples, options.explore_out)
        comparison.wall = time.monotonic() - began
    if options.load is not None:
        comparison.load = compare_loads(options.load_profile, summarise(loads[0]),
                                        summarise(loads[1]), options.max_p99_regression,
                                        options.min_p99_delta)
    return comparison
