"""``harness bench``: figures measured side by side in one run, so they hold on a noisy box.

    relay vs forwarder   the reference relay's delivered events/s and p99 against a minimal
                         python-socketio forwarder (``harness.bench.forwarder``) driven by the
                         same clients and the same world, rounds alternating A B A B
    overhead             LocalEnvironment cold start; seeding and cleanup of the default and
                         of a 1,000-drone world; the scenario pack's wall time (``harness run``)
"""

from __future__ import annotations

import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.bench._world import seeded
from harness.bench.machine import describe_machine
from harness.bench.pack import time_pack
from harness.env.local import LocalEnvironment
from harness.env.processes import ManagedProcess
from harness.load.config import LoadConfig
from harness.load.runner import LoadResult, run_load
from harness.settings import RelaySettings
from seed import WorldSpec, build_world, cleanup
from seed.connect import open_database

__all__ = ["BenchOptions", "markdown_table", "run_bench"]

log = logging.getLogger(__name__)

BIG_WORLD = WorldSpec(users=100, providers_per_user=1, projects_per_user=1,
                      chat_sessions_per_project=1, drones_per_user=10)
_START_TIMEOUT = 20.0


@dataclass(frozen=True)
class BenchOptions:
    """What to measure: ``load`` drives both servers for ``rounds`` rounds each."""

    load: LoadConfig
    rounds: int = 2
    scenarios: Path | None = None


def _round(result: LoadResult) -> dict[str, Any]:
    agg = result.aggregate
    latency = agg.latency_all()
    return {
        "rate": round(agg.steady_rate()[0], 1),
        "p50Ms": round(latency.percentile(50) * 1000, 3),
        "p99Ms": round(latency.percentile(99) * 1000, 3),
        "delivered": agg.total_delivered,
        "violations": agg.total_violations,
        "errors": sum(agg.errors.values()),
        "peakDrones": agg.peak_drones,
    }


async def _timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    await action()
    return round(time.perf_counter() - started, 3)


async def _seeding(db: Any, spec: WorldSpec) -> dict[str, float]:
    started = time.perf_counter()
    world = await build_world(db, spec)
    seeded = time.perf_counter()
    await cleanup(db, world.run_id)
    return {"seedSeconds": round(seeded - started, 3),
            "cleanupSeconds": round(time.perf_counter() - seeded, 3),
            "drones": spec.drones}


async def _scenario_pack(path: Path) -> dict[str, Any]:
    seconds, status = await time_pack(path)
    return {"path": str(path), "wallSeconds": round(seconds, 3), "exitStatus": status}


async def run_bench(options: BenchOptions, say: Callable[[str], None]) -> dict[str, Any]:
    """Run every measurement and return the results (JSON-ready; ``ratio`` is the relay's
    throughput as a fraction of the forwarder's). Raises ``EnvError`` when a server fails
    to start."""
    overhead: dict[str, Any] = {}
    env = LocalEnvironment(RelaySettings.for_load())
    with tempfile.TemporaryDirectory(prefix="harness-bench-") as tmp:
        forwarder = ManagedProcess(
            "forwarder", [sys.executable, "-m", "harness.bench.forwarder",
                          "--port-file", str(Path(tmp) / "port")], Path(tmp) / "forwarder.log")
        try:
            say("starting the local environment (cold start)")
            overhead["coldStartSeconds"] = await _timed(env.start)
            await forwarder.start()
            port = await forwarder.wait_for_port_file(Path(tmp) / "port", _START_TIMEOUT)
            forwarder_url = f"http://127.0.0.1:{port}"
            rounds: dict[str, list[dict[str, Any]]] = {"relay": [], "forwarder": []}
            async with open_database(env.mongo_uri, env.database) as db:
                say("seeding and cleaning up the default and a 1,000-drone world")
                overhead["defaultWorld"] = await _seeding(db, WorldSpec())
                overhead["bigWorld"] = await _seeding(db, BIG_WORLD)
                async with seeded(db, options.load) as world:
                    for index in range(options.rounds):
                        for name, url in (("relay", env.relay_url),
                                          ("forwarder", forwarder_url)):
                            say(f"round {index + 1}/{options.rounds}: {name}")
                            result = await run_load(options.load, url, world)
                            rounds[name].append(_round(result))
        finally:
            await forwarder.stop()
            await env.stop()
    if options.scenarios is not None:
        say(f"timing the scenario pack {options.scenarios}")
        overhead["scenarioPack"] = await _scenario_pack(options.scenarios)
    relay_rate = statistics.mean(r["rate"] for r in rounds["relay"])
    forwarder_rate = statistics.mean(r["rate"] for r in rounds["forwarder"])
    relay_p99 = statistics.mean(r["p99Ms"] for r in rounds["relay"])
    forwarder_p99 = statistics.mean(r["p99Ms"] for r in rounds["forwarder"])
    return {
        "ratio": round(relay_rate / forwarder_rate, 3) if forwarder_rate else None,
        "p99Ratio": round(relay_p99 / forwarder_p99, 3) if forwarder_p99 else None,
        "relay": {"rate": round(relay_rate, 1), "p99Ms": round(relay_p99, 3),
                  "rounds": rounds["relay"]},
        "forwarder": {"rate": round(forwarder_rate, 1), "p99Ms": round(forwarder_p99, 3),
                      "rounds": rounds["forwarder"]},
        "overhead": overhead,
        "load": asdict(options.load),
        "machine": describe_machine(),
    }


def markdown_table(results: dict[str, Any]) -> str:
    """The results as a Markdown table for the README, with the machine described."""
    relay, forwarder, overhead = results["relay"], results["forwarder"], results["overhead"]
    machine, load = results["machine"], results["load"]
    rows = [
        ("relay throughput (events/s)", f"{relay['rate']:.0f}",
         f"{forwarder['rate']:.0f} (forwarder)", f"ratio **{results['ratio']}**"),
        ("relay delivery p99 (ms)", f"{relay['p99Ms']:.2f}",
         f"{forwarder['p99Ms']:.2f} (forwarder)", f"ratio {results['p99Ratio']}"),
        ("LocalEnvironment cold start (s)", f"{overhead['coldStartSeconds']:.2f}", "", ""),
    ]
    for key, label in (("defaultWorld", "default world"), ("bigWorld", "1,000-drone world")):
        data = overhead[key]
        rows.append((f"seed / cleanup, {label} (s)", f"{data['seedSeconds']:.2f}",
                     f"{data['cleanupSeconds']:.2f}", ""))
    pack = overhead.get("scenarioPack")
    if pack is not None:
        rows.append(("scenario pack wall time (s)", f"{pack['wallSeconds']:.1f}",
                     f"exit {pack['exitStatus']}", ""))
    lines = ["| measure | value | against | note |", "| --- | --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    lines.append("")
    lines.append(
        f"Load: {load['drones']} drones, {load['workers']} worker process(es), "
        f"{load['events_per_prompt']} events per prompt of {load['text_size']} bytes, "
        f"{load['duration']}s steady per round, rounds alternating relay/forwarder.")
    lines.append(
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memoryGiB']} GiB, "
        f"{machine['os']}, Python {machine['python']}, load average "
        f"{machine['loadAverage']} at the end.")
    return "\n".join(lines) + "\n"
