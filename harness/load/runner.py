"""The parent side of a load run: seed, deal pairs to worker processes, merge, decide.

    world = await seed_world(db, config)
    result = await run_load(config, relay_url, world, thresholds, on_progress=print_line)
"""

from __future__ import annotations

import asyncio
import logging
import math
import multiprocessing
import queue as queue_module
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.errors import EnvError
from harness.host import raise_open_files_limit
from harness.load.config import LoadConfig, pairs_of, split_pairs
from harness.load.metrics import RunAggregate, Snapshot
from harness.load.thresholds import Threshold, ThresholdResult, evaluate
from harness.load.worker import WorkerArgs, worker_main
from seed import WorldSpec, build_world
from seed.world import World

__all__ = ["LoadResult", "Progress", "run_load", "seed_world", "world_spec"]

log = logging.getLogger(__name__)

_READY_TIMEOUT = 60.0
_POLL = 0.25
_JOIN_TIMEOUT = 10.0
_SPARE_FILES = 256  # a worker's own files and the sockets it is closing


@dataclass(frozen=True)
class Progress:
    """A live view of the run, once per interval."""

    elapsed: float
    phase: str
    rate: float  # delivered events/s over the last interval
    p99: float  # seconds, over the last interval
    delivered: int
    ides: int
    drones: int
    errors: int
    violations: int


@dataclass
class LoadResult:
    """A finished run: its configuration, the merged measurements, the verdicts."""

    config: LoadConfig
    relay_url: str
    wall_seconds: float
    aggregate: RunAggregate
    thresholds: tuple[ThresholdResult, ...] = ()
    worker_failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Events delivered, no violation, no failed worker, and every threshold met: a run
        that delivered nothing checked nothing, so "no violation" says nothing of it."""
        return (self.aggregate.total_delivered > 0 and not self.aggregate.total_violations
                and not self.worker_failures and all(t.passed for t in self.thresholds))


def world_spec(config: LoadConfig) -> WorldSpec:
    """The world a run of ``config`` needs: one chat session per drone, grouped by user."""
    per_user = config.drones_per_user
    return WorldSpec(users=config.users, providers_per_user=1, projects_per_user=1,
                     chat_sessions_per_project=per_user, drones_per_user=per_user)


async def seed_world(db: Any, config: LoadConfig) -> World:
    """Seed the world ``config`` needs into ``db`` (an async pymongo database)."""
    return await build_world(db, world_spec(config))


def _progress(aggregate: RunAggregate, elapsed: float, phase: str,
              last: tuple[int, float]) -> Progress:
    window = aggregate.windows.get(max(int(elapsed / aggregate.interval) - 1, 0))
    p99 = window.latency.percentile(99) if window is not None else 0.0
    delivered = aggregate.total_delivered
    seconds = max(elapsed - last[1], 1e-9)
    return Progress(
        elapsed=elapsed, phase=phase, rate=(delivered - last[0]) / seconds, p99=p99,
        delivered=delivered, ides=sum(g.ides for g in aggregate.gauges.values()),
        drones=aggregate.connected_drones, errors=sum(aggregate.errors.values()),
        violations=aggregate.total_violations,
    )


async def run_load(
    config: LoadConfig,
    relay_url: str,
    world: World,
    thresholds: Sequence[Threshold] = (),
    *,
    on_progress: Callable[[Progress], None] | None = None,
    log_level: str = "WARNING",
) -> LoadResult:
    """Drive ``relay_url`` with the pairs of ``world`` across ``config.workers`` processes.

    Returns when every worker has drained and sent its final snapshot (or died: named in
    ``worker_failures``). Raises ``EnvError`` when a worker does not start within 60 s and
    ``ConfigError`` when the world is too small. Cancelling stops the workers cleanly.
    """
    pairs = pairs_of(world, config.drones, config.drones_per_user)
    slices = split_pairs(pairs, config.workers)
    _check_open_files(max(len(s) for s in slices))
    budgets: list[int | None] = [
        None if config.events is None else math.ceil(config.events * len(s) / len(pairs))
        for s in slices
    ]
    ctx = multiprocessing.get_context("spawn")
    results: Any = ctx.Queue()
    go, stop, start_at = ctx.Event(), ctx.Event(), ctx.Value("d", 0.0)
    processes = [
        ctx.Process(
            target=worker_main, name=f"harness-load-{index}", daemon=True,
            args=(WorkerArgs(index, relay_url, config, tuple(s), len(pairs), budgets[index],
                             log_level), results, go, stop, start_at),
        )
        for index, s in enumerate(slices)
    ]
    failures: list[str] = []
    started = time.monotonic()
    for process in processes:
        process.start()
    try:
        await _wait_ready(results, processes)
        start_wall = time.time() + 0.1
        start_at.value = start_wall
        go.set()
        aggregate = RunAggregate(start_wall, config.interval)
        await _collect(results, processes, aggregate, failures, config, on_progress)
    except BaseException:
        stop.set()
        go.set()
        raise
    finally:
        await _reap(processes)
    wall = time.monotonic() - started
    result = LoadResult(config, relay_url, wall, aggregate, worker_failures=failures)
    result.thresholds = evaluate(thresholds, aggregate.metrics())
    return result


def _check_open_files(pairs_per_worker: int) -> None:
    """Raise the open-files limit the workers inherit; warn when it is still too low for
    two sockets per pair (and the process's own files)."""
    limit = raise_open_files_limit()
    needed = 2 * pairs_per_worker + _SPARE_FILES
    if limit < needed:
        log.warning("the open-files limit is %d, below the %d a worker of %d pairs needs: "
                    "raise it (ulimit -n) or use more --workers", limit, needed,
                    pairs_per_worker)


def _get(results: Any) -> Any:
    try:
        return results.get(True, _POLL)
    except queue_module.Empty:
        return None


async def _wait_ready(results: Any, processes: list[Any]) -> None:
    ready: set[int] = set()
    deadline = time.monotonic() + _READY_TIMEOUT
    while len(ready) < len(processes):
        if time.monotonic() > deadline:
            raise EnvError(f"load workers not ready within {_READY_TIMEOUT:g}s "
                           f"({len(ready)} of {len(processes)})")
        dead = [p.name for p in processes if not p.is_alive() and p.exitcode is not None]
        if dead:
            raise EnvError(f"load worker(s) {', '.join(dead)} exited during start-up")
        message = await asyncio.to_thread(_get, results)
        if isinstance(message, tuple) and message[0] == "ready":
            ready.add(message[1])


async def _collect(results: Any, processes: list[Any], aggregate: RunAggregate,
                   failures: list[str], config: LoadConfig,
                   on_progress: Callable[[Progress], None] | None) -> None:
    done: set[int] = set()
    last_report = (0, 0.0)
    next_report = config.interval
    while len(done) < len(processes):
        message = await asyncio.to_thread(_get, results)
        if isinstance(message, Snapshot):
            aggregate.add(message)
            if message.final:
                done.add(message.worker)
        elif isinstance(message, tuple) and message[0] == "failed":
            failures.append(f"worker {message[1]}: {message[2]}")
            done.add(message[1])
        elif message is None:
            for index, process in enumerate(processes):
                if index not in done and not process.is_alive():
                    failures.append(f"worker {index} exited with status {process.exitcode} "
                                    "before its final report")
                    done.add(index)
        elapsed = time.time() - aggregate.started_at
        if on_progress is not None and elapsed >= next_report:
            phase = "ramp" if elapsed < config.ramp_up else "steady"
            if config.duration is not None and elapsed > config.ramp_up + config.duration:
                phase = "drain"
            on_progress(_progress(aggregate, elapsed, phase, last_report))
            last_report = (aggregate.total_delivered, elapsed)
            next_report = elapsed + config.interval


async def _reap(processes: list[Any]) -> None:
    for process in processes:
        await asyncio.to_thread(process.join, _JOIN_TIMEOUT)
        if process.is_alive():
            log.warning("load worker %s did not exit; terminating it", process.name)
            process.terminate()
            await asyncio.to_thread(process.join, _JOIN_TIMEOUT)
