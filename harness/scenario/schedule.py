"""Running many scenarios on one environment: side by side where they can share the relay,
alone where they cannot, and split across machines by a stable shard.

Every scenario seeds a world of its own and checks only what belongs to it (its actors'
messages, its documents, its keys in the relay's maps), so scenarios run concurrently on
one relay. A scenario that acts on the whole relay runs alone:

    restarts the relay           a ``restart_relay`` step
    reads the relay's whole maps a ``check_sessions`` (or ``wait_until: {sessions}``) whose
                                 ``size`` is a count: other scenarios' sessions would count
    says so                      ``exclusive: <why>`` at the top of the scenario

Alone means one at a time on a relay no other scenario uses: where the environment can
start a second relay (``SplitEnvironment``: the local one), they run there, one after
another from the start (a lane of their own, beside the ``jobs`` that share the first);
elsewhere (containers, an external relay) they run on the one relay after the rest.

The scenarios that share the relay start longest first (the durations ``expected`` gives,
from earlier runs; a scenario tagged ``slow`` otherwise), so a long one does not start
last and hold up the end. Results come back in the order the scenarios were given,
whatever order they ran and finished in.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Final

from harness.env.base import Environment, SplitEnvironment
from harness.errors import ConfigError, EnvError
from harness.outcome.results import ScenarioResult
from harness.scenario.kinds.base import UNSET
from harness.scenario.model import Scenario
from harness.scenario.runner import run_scenario

__all__ = ["default_jobs", "exclusive_reason", "expected_seconds", "parse_shard",
           "run_scenarios", "shard_of"]

log = logging.getLogger(__name__)

MAX_JOBS: Final = 64
_GUESS: Final = 1.0
_SLOW_GUESS: Final = 10.0
_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")

OnResult = Callable[[ScenarioResult], None]


def default_jobs() -> int:
    """How many scenarios run at once by default: two per core this process may use (a
    scenario mostly waits on the relay; a CPU set or affinity counts, not the machine's
    cores), at most 8."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - platforms without affinity (macOS)
        cores = os.cpu_count() or 1
    return max(1, min(8, 2 * cores))


def exclusive_reason(scenario: Scenario) -> str | None:
    """Why ``scenario`` cannot share the relay with others, or None when it can."""
    if scenario.exclusive:
        return scenario.exclusive
    for step in scenario.all_steps():
        if step.kind == "restart_relay":
            return f"it restarts the relay (line {step.source.line})"
        spec = step.args.sessions if step.kind == "wait_until" else (
            step.args if step.kind == "check_sessions" else None)
        if spec is not None and spec.size is not UNSET and _counts(spec.size):
            return f"it reads the size of the relay's whole maps (line {step.source.line})"
    return None


def _counts(size: object) -> bool:
    """A ``size`` matcher that depends on how many sessions the relay holds (a number, a
    range), not only on the answer's shape (``{$type: integer}``)."""
    return not (isinstance(size, dict) and set(size) <= {"$type", "$any"})


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/5"`` -> ``(2, 5)``; raises ``ConfigError`` naming the flag."""
    found = _SHARD.match(text)
    if found is None:
        raise ConfigError(f"--shard {text!r}: expected I/N, e.g. 1/4")
    index, total = int(found.group(1)), int(found.group(2))
    if not 1 <= index <= total:
        raise ConfigError(f"--shard {text!r}: I must be between 1 and N ({total})")
    return index, total


def shard_of(scenario_id: str, total: int) -> int:
    """The shard (1..total) a scenario belongs to: a hash of its id, so a scenario stays on
    its shard whatever is added or removed around it, on every machine."""
    digest = hashlib.sha256(scenario_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % total + 1


def expected_seconds(scenario: Scenario, expected: Mapping[str, float]) -> float:
    """How long ``scenario`` is expected to take: its duration in ``expected`` (an earlier
    run's), else a guess from its ``slow`` tag."""
    known = expected.get(scenario.id)
    if known is not None:
        return known
    return _SLOW_GUESS if "slow" in scenario.tags else _GUESS


def names_seed(scenario_id: str) -> int:
    """The Faker seed of a scenario's world names when they must repeat."""
    return int.from_bytes(hashlib.sha256(scenario_id.encode()).digest()[:8], "big")


async def run_scenarios(scenarios: Sequence[Scenario], env: Environment, *, jobs: int = 1,
                        on_start: Callable[[Scenario], None] | None = None,
                        on_result: OnResult | None = None,
                        exitfirst: bool = False,
                        expected: Mapping[str, float] | None = None,
                        repeatable_names: bool = False) -> list[ScenarioResult]:
    """Run ``scenarios`` on the started ``env``: up to ``jobs`` at a time, longest expected
    first, those with an ``exclusive_reason`` alone (on a relay apart when ``env`` can start
    one and ``jobs`` > 1, else after the rest). Returns the results in the order given
    (with ``exitfirst``, only of the scenarios that ran before the first failure).
    ``repeatable_names``: each scenario's world gets the same names in every run (a Faker
    seed from the scenario's id; ids, tokens and the run tag stay per run)."""
    if not 1 <= jobs <= MAX_JOBS:
        raise ConfigError(f"-j {jobs}: expected 1 to {MAX_JOBS}")
    results: dict[int, ScenarioResult] = {}
    failed = asyncio.Event()
    limit = asyncio.Semaphore(jobs)

    async def one(index: int, scenario: Scenario, where: Environment,
                  slot: asyncio.Semaphore) -> None:
        async with slot:
            if exitfirst and failed.is_set():
                return
            if on_start is not None:
                on_start(scenario)
            seed = names_seed(scenario.id) if repeatable_names else None
            result = await run_scenario(scenario, where, faker_seed=seed)
            results[index] = result
            if on_result is not None:
                on_result(result)
            if not result.passed:
                failed.set()

    async def in_turn(todo: list[tuple[int, Scenario]], where: Environment,
                      slot: asyncio.Semaphore) -> None:
        for index, scenario in todo:
            if exitfirst and failed.is_set():
                break
            await one(index, scenario, where, slot)

    shared = [(i, s) for i, s in enumerate(scenarios) if exclusive_reason(s) is None]
    alone = [(i, s) for i, s in enumerate(scenarios) if exclusive_reason(s) is not None]
    guess = expected or {}
    shared.sort(key=lambda item: -expected_seconds(item[1], guess))  # stable: ties as given
    after: list[tuple[int, Scenario]] = alone  # what runs on the one relay, after the rest

    async def apart_lane(split: SplitEnvironment) -> None:
        """The second relay's lane, from the start (not behind the queue): it starts the
        relay, runs the scenarios that cannot share one in turn, and stops it."""
        nonlocal after
        apart = await _start_apart(split)
        if apart is None:
            return  # they run after the rest
        after = []
        try:
            await in_turn(alone, apart, asyncio.Semaphore(1))
        finally:
            await apart.stop()

    async with asyncio.TaskGroup() as group:
        if alone and shared and jobs > 1 and isinstance(env, SplitEnvironment):
            group.create_task(apart_lane(env))
        for index, scenario in shared:
            group.create_task(one(index, scenario, env, limit))
    await in_turn(after, env, limit)
    return [results[i] for i in sorted(results)]


async def _start_apart(env: SplitEnvironment) -> Environment | None:
    """A second relay for the scenarios that cannot share one, started; None when it
    failed to start (they then run after the rest, as they would anyway: said in the log,
    not an error)."""
    apart = env.apart()
    try:
        await apart.start()
    except EnvError as exc:
        log.warning("a second relay for the scenarios that run alone did not start (%s); "
                    "they run after the others", exc)
        return None
    return apart
