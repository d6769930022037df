"""``harness bench --only pack``: the scenario pack's wall time at 1, 2, ... jobs, and on
1, 2, ... cores, side by side.

Each setting runs the whole pack (``harness run PATH -j N``, a fresh embedded environment
each time, as a user runs it) ``repeats`` times, the settings interleaved (1 2 4 8 1 2 4 8
...) so that a noisy neighbour hurts them alike; the medians and the speedups are the
figures. A setting with fewer cores than the machine has pins the run (the harness, the
relay and the database: every process it starts inherits the CPU affinity) to the first
cores, which shows how the pack scales with cores on one machine.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.bench.machine import describe_machine

__all__ = ["PackSetting", "default_settings", "measure_pack", "pack_markdown", "time_pack"]


@dataclass(frozen=True)
class PackSetting:
    """One way to run the pack: ``jobs`` at a time on ``cores`` cores (None: all)."""

    jobs: int
    cores: int | None = None

    @property
    def label(self) -> str:
        return f"-j {self.jobs}" + (f", {self.cores} core(s)" if self.cores else "")


def default_settings(cores: int | None = None) -> list[PackSetting]:
    """-j 1, 2, 4 and 8 on every core; -j 8 on each smaller number of cores."""
    total = cores or len(os.sched_getaffinity(0))
    return [PackSetting(j) for j in (1, 2, 4, 8)] + \
        [PackSetting(8, n) for n in range(1, total)]


async def time_pack(path: Path, jobs: int | None = None,
                    cores: int | None = None) -> tuple[float, int]:
    """``harness run PATH [-j JOBS]`` as a user runs it, on the first ``cores`` cores (all
    when None): (wall seconds, exit status)."""
    started = time.perf_counter()
    more = [] if jobs is None else ["-j", str(jobs)]
    pinned = None if cores is None else sorted(os.sched_getaffinity(0))[:cores]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from harness.cli import main; main()", "run", str(path), *more,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        preexec_fn=None if pinned is None else lambda: os.sched_setaffinity(0, pinned))
    status = await process.wait()
    return time.perf_counter() - started, status


async def measure_pack(path: Path, say: Callable[[str], None], *,
                       settings: Sequence[PackSetting] | None = None,
                       repeats: int = 3) -> dict[str, Any]:
    """Time the pack in each setting ``repeats`` times; JSON-ready results."""
    chosen = list(settings or default_settings())
    times: dict[PackSetting, list[float]] = {s: [] for s in chosen}
    failures: dict[PackSetting, int] = dict.fromkeys(chosen, 0)
    for round_ in range(1, repeats + 1):
        for setting in chosen:
            say(f"pack {path} {setting.label} (round {round_} of {repeats})")
            seconds, status = await time_pack(path, setting.jobs, setting.cores)
            times[setting].append(seconds)
            failures[setting] += status != 0
    medians = {s: statistics.median(t) for s, t in times.items()}
    one = medians[chosen[0]]
    return {
        "kind": "pack",
        "path": str(path),
        "repeats": repeats,
        "jobs": [{"jobs": s.jobs, "cores": s.cores,
                  "wallSeconds": [round(t, 2) for t in times[s]],
                  "medianSeconds": round(medians[s], 2),
                  "speedup": round(one / medians[s], 2) if medians[s] else None,
                  "failedRuns": failures[s]} for s in chosen],
        "machine": describe_machine(),
    }


def pack_markdown(results: dict[str, Any]) -> str:
    """The pack's wall time per setting as a Markdown table."""
    machine = results["machine"]
    lines = ["| jobs | cores | median wall time | runs | speedup over the first | failed runs |",
             "| --- | --- | --- | --- | --- | --- |"]
    for row in results["jobs"]:
        runs = ", ".join(f"{t:.1f}" for t in row["wallSeconds"])
        cores = row.get("cores") or f"all ({machine.get('cores', '?')})"
        lines.append(f"| {row['jobs']} | {cores} | {row['medianSeconds']:.1f} s | {runs} | "
                     f"{row['speedup']:.2f} x | {row['failedRuns']} |")
    lines += ["", f"`harness run {results['path']} -j N`, {results['repeats']} runs each, "
              "interleaved, a fresh embedded environment per run; fewer cores: the run pinned "
              "to the first cores (CPU affinity).",
              f"Machine: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores."]
    return "\n".join(lines) + "\n"
