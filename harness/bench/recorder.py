"""The latency ``harness record`` adds: one client's ack round trips, direct vs through it.

The upstream is the minimal forwarder (``harness.bench.forwarder``, its own process), the
recorder is ``harness record -q`` (its own process, writing a trace to a temporary file),
the client a python-socketio ``AsyncClient`` over websocket in this process. Rounds
alternate direct and recorded (A B A B) so a noisy machine weighs on both sides alike;
each round is ``round_trips / rounds`` ``openChatSession`` calls, each timed from emit
to ack.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import socketio

from harness.bench.machine import describe_machine
from harness.env.processes import ManagedProcess
from harness.errors import EnvError
from harness.protocol import Event

__all__ = ["measure_recorder", "recorder_markdown"]

_START_TIMEOUT = 20.0
_CALL_TIMEOUT = 10.0
_WARM_UP = 50


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def _summary(values: list[float]) -> dict[str, Any]:
    return {"n": len(values), "p50Ms": round(statistics.median(values) * 1000, 3),
            "p99Ms": round(_percentile(values, 99) * 1000, 3)}


async def _round(url: str, calls: int) -> list[float]:
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(url, auth={"type": "code", "token": "bench"},
                         transports=["websocket"], wait_timeout=_START_TIMEOUT)
    times: list[float] = []
    try:
        for index in range(_WARM_UP + calls):
            started = time.perf_counter()
            await client.call(Event.OPEN_CHAT_SESSION, {"chatSessionId": "a" * 24},
                              timeout=_CALL_TIMEOUT)
            if index >= _WARM_UP:
                times.append(time.perf_counter() - started)
    finally:
        await client.disconnect()
    return times


async def _start_recorder(upstream: str, out: Path) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "harness.cli", "record", "-q", "--listen", "127.0.0.1:0",
        "--upstream", upstream, "--out", str(out),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), _START_TIMEOUT)).decode()
    if "listening on " not in line:
        process.kill()
        await process.wait()
        raise EnvError(f"harness record did not start: {line.strip() or 'no output'}")
    return process, line.split("listening on ")[1].split(",")[0]


async def measure_recorder(say: Callable[[str], None], *, round_trips: int = 2000,
                           rounds: int = 4) -> dict[str, Any]:
    """Median and p99 of ``round_trips`` ack round trips per side, direct and through
    ``harness record``, and the differences (JSON-ready). Raises ``EnvError`` when the
    forwarder or the recorder fails to start."""
    per_round = max(1, round_trips // rounds)
    with tempfile.TemporaryDirectory(prefix="harness-bench-record-") as tmp:
        forwarder = ManagedProcess(
            "forwarder", [sys.executable, "-m", "harness.bench.forwarder",
                          "--port-file", str(Path(tmp) / "port")], Path(tmp) / "forwarder.log")
        await forwarder.start()
        recorder: asyncio.subprocess.Process | None = None
        try:
            port = await forwarder.wait_for_port_file(Path(tmp) / "port", _START_TIMEOUT)
            direct = f"http://127.0.0.1:{port}"
            recorder, recorded = await _start_recorder(direct, Path(tmp) / "bench.trace.jsonl")
            times: dict[str, list[float]] = {"direct": [], "recorder": []}
            for index in range(rounds):
                for name, url in (("direct", direct), ("recorder", recorded)):
                    say(f"recorder latency round {index + 1}/{rounds}: {name}")
                    times[name] += await _round(url, per_round)
        finally:
            if recorder is not None and recorder.returncode is None:
                recorder.terminate()
                await recorder.communicate()
            await forwarder.stop()
    direct_s, recorder_s = _summary(times["direct"]), _summary(times["recorder"])
    return {
        "roundTrips": per_round * rounds, "rounds": rounds,
        "direct": direct_s, "recorder": recorder_s,
        "addedP50Ms": round(recorder_s["p50Ms"] - direct_s["p50Ms"], 3),
        "addedP99Ms": round(recorder_s["p99Ms"] - direct_s["p99Ms"], 3),
        "machine": describe_machine(),
    }


def recorder_markdown(results: dict[str, Any]) -> str:
    """The recorder's figures as a Markdown table, with the machine described."""
    direct, via, machine = results["direct"], results["recorder"], results["machine"]
    lines = [
        "| ack round trip (ms) | direct | through harness record | added |",
        "| --- | --- | --- | --- |",
        f"| median | {direct['p50Ms']:.3f} | {via['p50Ms']:.3f} | {results['addedP50Ms']:.3f} |",
        f"| p99 | {direct['p99Ms']:.3f} | {via['p99Ms']:.3f} | {results['addedP99Ms']:.3f} |",
        "",
        f"{results['roundTrips']} round trips per side (openChatSession with its ack, one "
        f"python-socketio client over websocket, the minimal forwarder upstream), "
        f"{results['rounds']} rounds alternating direct/recorded.",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memoryGiB']} GiB, "
        f"{machine['os']}, Python {machine['python']}, load average "
        f"{machine['loadAverage']} at the end.",
    ]
    return "\n".join(lines) + "\n"
