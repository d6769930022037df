"""From a real session to a failing test (issue 17's proof): the real JavaScript
``socket.io-client`` (an IDE and a drone, ``tests/clients/js/work-order.js``) does a whole
work order and a termination through ``harness record`` against the reference relay; the
trace becomes a scenario with ``harness scenario from-trace``; the scenario passes against
the clean relay and fails against ``--regress lookup-by-socket-id`` and ``--regress
no-termination-handler``, each failure naming the problem.

Skips without Node.js and ``tests/clients/js/node_modules`` (``make test`` installs them),
unless ``GADGET_REQUIRE_NODE=1`` (CI), where it fails.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import yaml
from _harness_cli import run_harness
from _js_clients import CLIENTS
from _node import node_missing
from conftest import MakeRelayEnv, seeded_world, skip_or_fail

from harness.record import Recorder
from harness.report.trace import read_trace
from seed.world import WorldSpec

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]

NODE_TIMEOUT = 60.0


async def _real_clients(url: str, config: dict[str, object]) -> list[dict[str, object]]:
    process = await asyncio.create_subprocess_exec(
        "node", str(CLIENTS / "work-order.js"), json.dumps({"url": url, **config}),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), NODE_TIMEOUT)
    lines = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    assert process.returncode == 0, (lines[-3:], err.decode()[-2000:])
    assert lines[-1]["event"] == "done"
    return lines


async def test_a_recorded_real_session_replays_and_catches_both_original_bugs(
        make_relay_env: MakeRelayEnv, tmp_path: Path) -> None:
    skip_or_fail(node_missing(CLIENTS, "socket.io-client"), "GADGET_REQUIRE_NODE")
    env = await make_relay_env()
    trace_file = tmp_path / "session.trace.jsonl"
    async with seeded_world(env, WorldSpec(users=1, drones_per_user=1)) as world:
        user, drone = world.users[0], world.drones[0]
        config = {
            "ide": {"token": user.token, "chatSessionId": world.chat_sessions[0].id,
                    "transports": ["polling", "websocket"]},  # the browser's default: upgrade
            "drone": {"registrationId": drone.id, "token": drone.token,
                      "transports": ["websocket"]},
        }
        async with Recorder(upstream=env.relay_url, listen=("127.0.0.1", 0),
                            out=trace_file) as recorder:
            seen = await _real_clients(recorder.url, config)
    delivered = [line["name"] for line in seen
                 if line.get("client") == "ide" and line["event"] == "message"]
    assert delivered.count("thinking") == 2 and "workOrderComplete" in delivered

    text = trace_file.read_text(encoding="utf-8")
    assert user.token not in text and drone.token not in text  # redacted before written
    trace = read_trace(trace_file)
    by_kind = {(m.kind, m.direction, m.event) for m in trace.messages}
    assert {("ide", "connect", "connect"), ("drone", "connect", "connect"),
            ("ide", "ack", "submitPrompt"), ("drone", "acked", "requestTermination"),
            ("drone", "sent", "workOrderComplete"), ("ide", "received", "workOrderComplete"),
            } <= by_kind
    assert any(m.kind == "http" and m.direction == "received" and m.meta.get("status") == 200
               for m in trace.messages)

    scenario = tmp_path / "session.scenario.yaml"
    converted = run_harness("scenario", "from-trace", str(trace_file), "--out", str(scenario))
    assert converted.returncode == 0, converted.stderr
    assert f"wrote {scenario}: 3 actor(s)" in converted.stdout
    doc = yaml.safe_load(scenario.read_text(encoding="utf-8"))
    assert set(doc["actors"]) == {"ide1", "drone1", "api"}
    assert drone.id not in scenario.read_text(encoding="utf-8")  # the seeded world's, not ours

    clean = run_harness("run", str(scenario), "--report", str(tmp_path / "clean"))
    assert clean.returncode == 0, clean.stdout[-3000:]
    assert "1 passed, 0 failed" in clean.stdout

    lookup = run_harness("run", str(scenario), "--regress", "lookup-by-socket-id",
                         "--report", str(tmp_path / "lookup"))
    assert lookup.returncode == 1, lookup.stdout[-3000:]
    assert "requestSessionLock never reached drone drone1" in lookup.stdout

    termination = run_harness("run", str(scenario), "--regress", "no-termination-handler",
                              "--report", str(tmp_path / "termination"))
    assert termination.returncode == 1, termination.stdout[-3000:]
    assert "requestTermination never reached drone drone1" in termination.stdout
