"""``harness bench --only locust``: the same load through ``harness load`` and through
Locust (``harness locust``), side by side on one relay.

Each side runs as a command of its own (``harness load`` with its worker processes;
``harness locust`` with a master, its workers and their agents) against the local
environment's reference relay, started once for both. A side's CPU is what its whole
process tree used (``RUSAGE_CHILDREN`` around it: every process in it is waited for by its
parent), seeding and start-up included; its delivered events are its own count (the load
JSON; the Locust master's CSV). The relay's CPU is in neither.
"""

from __future__ import annotations

import asyncio
import csv
import json
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.bench.machine import describe_machine
from harness.env.local import LocalEnvironment
from harness.errors import EnvError
from harness.settings import RelaySettings

__all__ = ["drivers_markdown", "measure_drivers"]

SIDES = ("load", "locust")
_SIDE_TIMEOUT = 600.0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def _side(side: str, env: LocalEnvironment, drones: int, rate: float, events: int,
                ramp: float, seconds: float, tmp: Path) -> dict[str, Any]:
    target = ["--env", "external", "--relay-url", env.relay_url, "--mongo-uri", env.mongo_uri,
              "--database", env.database, "--rate", f"{rate:g}",
              "--events-per-prompt", str(events)]
    if side == "load":
        out = tmp / "load.json"
        command = ["load", *target, "--drones", str(drones), "--drones-per-user", "1",
                   "--workers", "2", "--ramp-up", f"{ramp:g}", "--duration", f"{seconds:g}",
                   "--quiet", "--json", str(out)]
    else:
        out = tmp / "locust"
        command = ["locust", *target, "-u", str(drones), "-r", f"{drones / ramp:g}",
                   "-t", f"{int(ramp + seconds)}s", "--workers", "2", "--",
                   "--csv", str(out), "--only-summary"]
    cpu, wall = _children_cpu(), time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "harness", *command,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        _, err = await asyncio.wait_for(process.communicate(), _SIDE_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise EnvError(f"the {side} side did not finish within {_SIDE_TIMEOUT:g} s") from None
    cpu, wall = _children_cpu() - cpu, time.monotonic() - wall
    if process.returncode != 0:
        tail = " | ".join(err.decode(errors="replace").strip().splitlines()[-4:])
        raise EnvError(f"the {side} side failed (exit {process.returncode}): {tail}")
    delivered = _delivered(side, out)
    if not delivered:
        raise EnvError(f"the {side} side delivered no event")
    return {"delivered": delivered, "cpuSeconds": round(cpu, 3), "wallSeconds": round(wall, 2),
            "rate": round(delivered / (ramp + seconds), 1),
            "cpuMsPer1000": round(cpu * 1e6 / delivered, 1)}


def _delivered(side: str, out: Path) -> int:
    if side == "load":
        return sum(int(n) for n in
                   json.loads(out.read_text(encoding="utf-8"))["delivered"].values())
    with Path(f"{out}_stats.csv").open(encoding="utf-8") as file:
        return sum(int(row["Request Count"]) for row in csv.DictReader(file)
                   if row["Type"] == "event")


async def measure_drivers(say: Callable[[str], None], *, drones: int = 50, rate: float = 5.0,
                          events_per_prompt: int = 20, ramp: float = 5.0,
                          seconds: float = 20.0, rounds: int = 1) -> dict[str, Any]:
    """Both drivers over ``rounds`` alternating rounds (load, Locust, load, ...): medians of
    events/s and of CPU ms per 1,000 delivered events, and the ratio Locust / load."""
    env = LocalEnvironment(RelaySettings.for_load())
    found: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    try:
        say("starting the local environment")
        await env.start()
        with tempfile.TemporaryDirectory(prefix="harness-bench-drivers-") as tmp:
            for index in range(rounds):
                for side in SIDES:
                    say(f"drivers round {index + 1}/{rounds}: {side}")
                    found[side].append(await _side(side, env, drones, rate,
                                                   events_per_prompt, ramp, seconds,
                                                   Path(tmp)))
    finally:
        await env.stop()
    summary = {side: {"cpuMsPer1000": statistics.median(r["cpuMsPer1000"] for r in rows),
                      "rate": statistics.median(r["rate"] for r in rows), "rounds": rows}
               for side, rows in found.items()}
    return {"ratio": round(summary["locust"]["cpuMsPer1000"] / summary["load"]["cpuMsPer1000"],
                           2),
            **summary, "drones": drones, "rate": rate, "eventsPerPrompt": events_per_prompt,
            "rampUp": ramp, "seconds": seconds, "machine": describe_machine()}


def drivers_markdown(results: dict[str, Any]) -> str:
    """The two drivers side by side as a Markdown table."""
    load, locust, machine = results["load"], results["locust"], results["machine"]
    lines = [
        "| driver | events/s (median) | CPU ms per 1,000 delivered events (median) | rounds |",
        "| --- | --- | --- | --- |",
        f"| harness load | {load['rate']:.0f} | {load['cpuMsPer1000']:.1f} | "
        f"{', '.join(str(r['cpuMsPer1000']) for r in load['rounds'])} |",
        f"| harness locust | {locust['rate']:.0f} | {locust['cpuMsPer1000']:.1f} | "
        f"{', '.join(str(r['cpuMsPer1000']) for r in locust['rounds'])} |",
        f"| ratio Locust / load | | **{results['ratio']:.2f}** | |",
        "",
        f"{results['drones']} drones with their IDEs, {results['eventsPerPrompt']} events per "
        f"prompt at {results['rate']:g}/s per drone, {results['rampUp']:g} s ramp-up and "
        f"{results['seconds']:g} s after it, two worker processes each; CPU of each side's "
        "whole process tree (start-up and seeding included), the relay's excluded.",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memoryGiB']} GiB, "
        f"{machine['os']}, Python {machine['python']}, load average "
        f"{machine['loadAverage']} at the end.",
    ]
    return "\n".join(lines) + "\n"
