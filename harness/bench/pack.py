"""``harness bench --only pack``: the scenario pack's wall time at 1, 2, ... jobs, side by side.

Each job count runs the whole pack (``harness run PATH -j N``, a fresh embedded environment
each time, as a user runs it) ``repeats`` times, the job counts interleaved (1 2 4 1 2 4 ...)
so that a noisy neighbour hurts them alike; the medians and the speedup over one job are
the figures.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.bench.machine import describe_machine

__all__ = ["measure_pack", "pack_markdown", "time_pack"]


async def time_pack(path: Path, jobs: int | None = None) -> tuple[float, int]:
    """``harness run PATH [-j JOBS]`` as a user runs it: (wall seconds, exit status)."""
    started = time.perf_counter()
    more = [] if jobs is None else ["-j", str(jobs)]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from harness.cli import main; main()", "run", str(path), *more,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    status = await process.wait()
    return time.perf_counter() - started, status


async def measure_pack(path: Path, say: Callable[[str], None], *,
                       jobs: Sequence[int] = (1, 2, 4), repeats: int = 3) -> dict[str, Any]:
    """Time the pack at each job count ``repeats`` times; JSON-ready results."""
    times: dict[int, list[float]] = {j: [] for j in jobs}
    failures: dict[int, int] = dict.fromkeys(jobs, 0)
    for round_ in range(1, repeats + 1):
        for count in jobs:
            say(f"pack {path} -j {count} (round {round_} of {repeats})")
            seconds, status = await time_pack(path, count)
            times[count].append(seconds)
            failures[count] += status != 0
    medians = {j: statistics.median(t) for j, t in times.items()}
    one = medians[jobs[0]]
    return {
        "kind": "pack",
        "path": str(path),
        "repeats": repeats,
        "jobs": [{"jobs": j, "wallSeconds": [round(t, 2) for t in times[j]],
                  "medianSeconds": round(medians[j], 2),
                  "speedup": round(one / medians[j], 2) if medians[j] else None,
                  "failedRuns": failures[j]} for j in jobs],
        "machine": describe_machine(),
    }


def pack_markdown(results: dict[str, Any]) -> str:
    """The pack's wall time per job count as a Markdown table."""
    lines = ["| jobs | median wall time | runs | speedup over -j 1 | failed runs |",
             "| --- | --- | --- | --- | --- |"]
    for row in results["jobs"]:
        runs = ", ".join(f"{t:.1f}" for t in row["wallSeconds"])
        lines.append(f"| {row['jobs']} | {row['medianSeconds']:.1f} s | {runs} | "
                     f"{row['speedup']:.2f} x | {row['failedRuns']} |")
    machine = results["machine"]
    lines += ["", f"`harness run {results['path']} -j N`, {results['repeats']} runs each, "
              "interleaved, a fresh embedded environment per run.",
              f"Machine: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores."]
    return "\n".join(lines) + "\n"
