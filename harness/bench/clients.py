"""``harness bench --only clients``: the harness's client CPU per 1,000 delivered events
against a bare python-socketio client, side by side.

Same relay (the local environment's reference relay), same world, same event count: each
round runs the harness side (the load worker's simulated IDEs and drones with their
history sink, checker and stats) and then the bare side (``socketio.AsyncClient`` IDEs and
drones doing the same emits and receives, nothing recorded), each in a fresh process
(``harness.bench.client_side``) whose CPU time over the measured window is the figure.
Rounds alternate A B A B so a noisy neighbour weighs on both sides alike; the medians and
their ratio are the result.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.bench._world import seeded
from harness.bench.client_side import SIDES, ClientSpec
from harness.bench.machine import describe_machine
from harness.env.local import LocalEnvironment
from harness.errors import EnvError
from harness.load.config import LoadConfig, pairs_of
from harness.settings import RelaySettings
from seed.connect import open_database

__all__ = ["clients_markdown", "measure_clients"]

_SIDE_TIMEOUT = 300.0


async def _run_side(side: str, spec_path: Path) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "harness.bench.client_side", "--side", side,
        "--spec", str(spec_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(process.communicate(), _SIDE_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise EnvError(f"the {side} client side did not finish within {_SIDE_TIMEOUT:g}s") \
            from None
    lines = out.decode().strip().splitlines()
    if process.returncode != 0 or not lines:
        tail = err.decode().strip().splitlines()[-5:]
        raise EnvError(f"the {side} client side failed (exit {process.returncode}): "
                       + (" | ".join(tail) or "no output"))
    found: dict[str, Any] = json.loads(lines[-1])
    if not found["delivered"]:
        raise EnvError(f"the {side} client side never got through its measured window "
                       f"({found['total']} events received)")
    found["cpuMsPer1000"] = round(found["cpuSeconds"] * 1e6 / found["delivered"], 2)
    found["rate"] = round(found["delivered"] / found["wallSeconds"], 1)
    found["cpuSeconds"] = round(found["cpuSeconds"], 4)
    found["wallSeconds"] = round(found["wallSeconds"], 3)
    return found


def _side_summary(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    return {"cpuMsPer1000": round(statistics.median(r["cpuMsPer1000"] for r in rounds), 2),
            "rate": round(statistics.median(r["rate"] for r in rounds), 1),
            "rounds": rounds}


async def measure_clients(say: Callable[[str], None], *, pairs: int = 20,
                          events: int = 10_000, rounds: int = 3, events_per_prompt: int = 20,
                          text_size: int = 64, rate: float = 0.0) -> dict[str, Any]:
    """CPU ms per 1,000 delivered events of each side over ``rounds`` alternating rounds of
    ``events`` events each (after a warm-up of a fifth as many), with ``pairs`` IDE/drone
    pairs; medians and the ratio harness/bare (JSON-ready). Raises ``EnvError`` when the
    environment or a side fails, or a side takes over 300 s."""
    env = LocalEnvironment(RelaySettings.for_load())
    load = LoadConfig(drones=pairs, drones_per_user=5, workers=1,
                      events_per_prompt=events_per_prompt, text_size=text_size, rate=rate)
    found: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    try:
        say("starting the local environment")
        await env.start()
        async with open_database(env.mongo_uri, env.database) as db, seeded(db, load) as world:
            spec = ClientSpec(env.relay_url, tuple(pairs_of(world, pairs, 5)),
                              max(events // 5, 1), events, events_per_prompt, text_size, rate)
            with tempfile.TemporaryDirectory(prefix="harness-bench-clients-") as tmp:
                spec_path = Path(tmp) / "spec.json"
                spec_path.touch(mode=0o600)
                spec_path.write_text(json.dumps(spec.to_json()), encoding="utf-8")
                for index in range(rounds):
                    for side in SIDES:
                        say(f"clients round {index + 1}/{rounds}: {side}")
                        found[side].append(await _run_side(side, spec_path))
    finally:
        await env.stop()
    harness, bare = _side_summary(found["harness"]), _side_summary(found["bare"])
    return {
        "ratio": round(harness["cpuMsPer1000"] / bare["cpuMsPer1000"], 2)
        if bare["cpuMsPer1000"] else None,
        "harness": harness, "bare": bare,
        "pairs": pairs, "events": events, "rounds": rounds,
        "eventsPerPrompt": events_per_prompt, "textSize": text_size, "rate": rate,
        "machine": describe_machine(),
    }


def clients_markdown(results: dict[str, Any]) -> str:
    """The clients' figures as a Markdown table, with the machine described."""
    harness, bare, machine = results["harness"], results["bare"], results["machine"]

    def runs(side: dict[str, Any]) -> str:
        return ", ".join(f"{r['cpuMsPer1000']:.1f}" for r in side["rounds"])

    lines = [
        "| client | CPU ms per 1,000 delivered events (median) | rounds | events/s (median) |",
        "| --- | --- | --- | --- |",
        f"| harness (load worker) | {harness['cpuMsPer1000']:.1f} | {runs(harness)} | "
        f"{harness['rate']:.0f} |",
        f"| bare python-socketio | {bare['cpuMsPer1000']:.1f} | {runs(bare)} | "
        f"{bare['rate']:.0f} |",
        f"| ratio harness / bare | **{results['ratio']:.2f}** | | |",
        "",
        f"{results['pairs']} IDE/drone pairs on the local reference relay, {results['events']} "
        f"events measured per round after a warm-up, {results['eventsPerPrompt']} events per "
        f"prompt of {results['textSize']} bytes, rate {results['rate']:g}/s per drone "
        f"(0: as fast as possible); {results['rounds']} rounds alternating harness/bare, "
        "each side in a fresh process (its CPU time is the figure).",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memoryGiB']} GiB, "
        f"{machine['os']}, Python {machine['python']}, load average "
        f"{machine['loadAverage']} at the end.",
    ]
    return "\n".join(lines) + "\n"
