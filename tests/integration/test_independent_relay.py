"""The whole pack against a relay that is not ours: ``tests/relays/node``, a minimal relay
in Node.js written from the contract alone (its own configuration names, its own answers
where section 11 leaves a choice). Every scenario passes, or is skipped as reference-only or
as one that restarts the relay, and no invariant is violated.

Skips without Node.js and the relay's ``node_modules`` (``make test`` installs them with
``npm ci`` when npm is there), unless ``GADGET_REQUIRE_NODE=1`` (CI), where it fails.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from _node import node_missing
from conftest import skip_or_fail

from harness.env import ExternalEnvironment
from harness.env.database import EmbeddedDatabase
from harness.outcome import render_story
from harness.scenario import load_paths, run_scenario
from harness.settings import RelayTimeouts

ROOT = Path(__file__).resolve().parents[2]
NODE_RELAY = ROOT / "tests" / "relays" / "node"
TOKEN = "independent-relay-admin"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def node_ready() -> None:
    """Skip (or, with GADGET_REQUIRE_NODE=1, fail) without Node.js and the relay's modules."""
    skip_or_fail(node_missing(NODE_RELAY, "socket.io"), "GADGET_REQUIRE_NODE")


@pytest.fixture
async def node_relay(node_ready: None, tmp_path: Path) -> AsyncIterator[ExternalEnvironment]:
    database = EmbeddedDatabase("standin")
    await database.start(tmp_path)
    env = {**os.environ, "RELAY_PORT": "0", "DB_URL": database.uri, "DB_NAME": "gadget",
           "DEBUG_TOKEN": TOKEN, "PING_INTERVAL_MS": "3000", "PING_TIMEOUT_MS": "3000"}
    log = (tmp_path / "node-relay.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        "node", str(NODE_RELAY / "relay.js"), env=env, stdout=asyncio.subprocess.PIPE,
        stderr=log)
    try:
        assert process.stdout is not None
        first = (await asyncio.wait_for(process.stdout.readline(), 20)).decode().split()
        assert first[:2] == ["listening", "on"], f"the relay said {first!r}; see its log"
        # Its heartbeat, stated as a user states it for a relay not ours.
        relay = ExternalEnvironment(f"http://127.0.0.1:{first[2]}", database.uri, "gadget",
                                    admin_token=TOKEN,
                                    timeouts=RelayTimeouts(ping_interval=3, ping_timeout=3))
        await relay.start()
        yield relay
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
        log.close()
        await database.stop()


async def test_the_pack_passes_a_relay_written_from_the_contract_alone(
        node_relay: ExternalEnvironment) -> None:
    scenarios = load_paths([ROOT / "scenarios"])
    results = [await run_scenario(scenario, node_relay) for scenario in scenarios]

    failed = [render_story(r) for r in results if not r.passed]
    assert failed == [], "\n\n".join(failed)
    assert [r.scenario.id for r in results if r.violations] == []
    skipped = {r.scenario.name for r in results if r.status == "skipped"}
    expected = {s.name for s in scenarios if s.reference_only or any(
        step.kind == "restart_relay" for step in s.steps)}
    assert skipped == expected  # only what another relay cannot be asked to do
    assert len(results) - len(skipped) >= 35
