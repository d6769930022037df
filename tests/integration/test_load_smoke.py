"""``harness load`` live, briefly: a small world against the shared relay, with 1 and 2
worker processes, with chaos, and through the CLI (thresholds set the exit status).

No timed assertions: speed targets live in benchmarks/.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from harness.env import LocalEnvironment
from harness.load import LoadConfig, run_load, seed_world
from harness.load.html import render_html
from harness.load.thresholds import parse_threshold
from harness.relay import Relay
from harness.settings import RelaySettings
from seed import cleanup
from seed.world import World


@pytest.fixture
async def load_world(relay_env: LocalEnvironment,
                     relay_mongo: AsyncMongoClient[Any]) -> AsyncIterator[World]:
    db = relay_mongo[relay_env.database]
    world = await seed_world(db, LoadConfig(drones=6, drones_per_user=3))
    yield world
    await cleanup(db, world.run_id)


@pytest.mark.parametrize("workers", [1, 2])
async def test_load_run_has_no_violation(relay_env: LocalEnvironment, load_world: World,
                                         workers: int) -> None:
    config = LoadConfig(drones=6, drones_per_user=3, workers=workers, ramp_up=0.2,
                        duration=1.5, events_per_prompt=8, interval=0.5)
    seen: list[Any] = []
    result = await run_load(config, relay_env.relay_url, load_world,
                            [parse_threshold("errors==0"), parse_threshold("violations==0")],
                            on_progress=seen.append)
    agg = result.aggregate
    assert result.worker_failures == []
    assert agg.violations == {}, agg.samples
    assert agg.errors == {}
    assert agg.total_delivered > 0 and agg.work_orders > 0
    assert agg.delivered["workOrderComplete"] == agg.work_orders
    assert set(agg.gauges) == set(range(workers))
    assert agg.peak_drones == 6
    assert agg.latency_all().count == agg.total_delivered
    assert all(t.passed for t in result.thresholds) and result.passed
    assert seen, "no live progress was reported"
    page = render_html(result)
    assert page.count("<svg") == 3  # offline: nothing fetched, nothing run
    assert "<script" not in page and "src=" not in page and "href=" not in page


async def test_load_run_with_chaos_stays_consistent(relay_env: LocalEnvironment,
                                                    load_world: World) -> None:
    config = LoadConfig(drones=3, drones_per_user=3, workers=1, ramp_up=0.1, duration=2.0,
                        events_per_prompt=10, rate=200.0, crash_rate=0.5, ide_churn=0.5,
                        random_seed=1, interval=0.5)
    result = await run_load(config, relay_env.relay_url, load_world)
    agg = result.aggregate
    assert agg.violations == {}, agg.samples
    assert agg.crashes > 0
    assert agg.total_delivered > 0
    assert result.worker_failures == []


async def test_an_open_acked_too_late_is_no_isolation_violation(
        relay_env: LocalEnvironment, relay_mongo: AsyncMongoClient[Any]) -> None:
    """An overloaded relay acks an IDE's openChatSession after the client's ack timeout,
    having indexed it all the same. The IDE then gets its chat session's stream: not
    foreign (the driver opens again, and the checker knows an unacked open may have
    counted), and still owed once the open is acked."""
    database = f"load_open_{uuid.uuid4().hex[:12]}"
    db = relay_mongo[database]
    config = LoadConfig(drones=1, drones_per_user=1, workers=1, ramp_up=0.0, duration=3.0,
                        events_per_prompt=4, interval=0.5, ack_timeout=1.0)
    world = await seed_world(db, config)
    relay = Relay(RelaySettings(port=0, mongo_uri=relay_env.mongo_uri, database=database,
                                log_level="WARNING"))
    chat_session = relay.store.chat_session
    delayed = False

    async def slow_first_read(chat_session_id: str) -> Any:
        nonlocal delayed
        if not delayed:  # the first open: answered after the client gave up (1.0 s),
            delayed = True  # and before its retry (after a 0.5 s back-off)
            await asyncio.sleep(config.ack_timeout + 0.25)
        return await chat_session(chat_session_id)

    relay.store.chat_session = slow_first_read  # type: ignore[method-assign]
    await relay.start()
    try:
        result = await run_load(config, relay.url, world)
    finally:
        await relay.stop()
        await relay_mongo.drop_database(database)
    agg = result.aggregate
    assert result.worker_failures == []
    assert agg.errors.get("ack-timeout:openChatSession") == 1, agg.errors
    assert agg.violations == {}, agg.samples
    assert agg.work_orders > 0 and agg.delivered["workOrderComplete"] == agg.work_orders


async def test_a_stream_longer_than_the_completion_timeout_is_not_overdue(
        relay_env: LocalEnvironment, load_world: World) -> None:
    """The completion timeout counts from the end of the stream's own duration: a paced
    stream of 2.5 s (6 events at 2/s) with a 2 s timeout completes, every time (every
    work order of such a run was overdue, and its last events were counted missing)."""
    config = LoadConfig(drones=2, drones_per_user=3, workers=1, ramp_up=0.0, duration=1.0,
                        events_per_prompt=6, rate=2.0, completion_timeout=2.0, interval=0.5)
    result = await run_load(config, relay_env.relay_url, load_world)
    agg = result.aggregate
    assert result.worker_failures == []
    assert agg.errors == {} and agg.violations == {}, (agg.errors, agg.samples)
    assert agg.work_orders >= 2 and agg.delivered["workOrderComplete"] == agg.work_orders


async def _cli(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "harness.cli", "load", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_cli_threshold_sets_the_exit_status(relay_env: LocalEnvironment,
                                                  tmp_path: Path) -> None:
    common = ("--env", "external", "--relay-url", relay_env.relay_url,
              "--mongo-uri", relay_env.mongo_uri, "--database", relay_env.database,
              "--drones", "2", "--workers", "1", "--ramp-up", "0.1", "--duration", "1",
              "--events-per-prompt", "5", "--quiet", "--log-level", "WARNING")
    status, out, err = await _cli(*common, "--threshold", "errors==0",
                                  "--threshold", "rate>1000000000/s",
                                  "--json", str(tmp_path / "r.json"))
    assert status == 1, err
    assert "threshold rate>1000000000/s:" in out and "(FAIL)" in out
    assert "threshold errors==0: 0 (pass)" in out
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["passed"] is False and data["violations"] == {}
    assert sum(data["delivered"].values()) > 0

    status, out, err = await _cli(*common, "--threshold", "violations==0")
    assert status == 0, err + out
    assert out.rstrip().endswith("PASS")


async def test_cli_rejects_a_bad_threshold_without_a_traceback() -> None:
    status, _, err = await _cli("--threshold", "p99<50")
    assert status == 2
    assert 'error: --threshold "p99<50": p99 is a duration and needs a unit' in err
    assert "Traceback" not in err
