"""The proof of Gadget users for Locust: a master and two workers, each its own process, on
loopback, against the shared reference relay and its database.

A clean run spreads its users over both workers, counts the delivered events in the master's
statistics, finds no violation and removes the world it seeded. A run in which one worker
is killed mid-run still removes everything, names the lost worker and exits 1. And a relay
with the original bug (locks looked up by socket id) fails a Locust run, naming the
refusal.

Locust is never imported here: it patches the importing process for gevent.
"""

from __future__ import annotations

import asyncio
import csv
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from conftest import MakeRelayEnv
from pymongo import AsyncMongoClient

from harness.env import LocalEnvironment
from harness.host import free_port
from harness.protocol import ALL_COLLECTIONS, SEED_RUN_FIELD

pytestmark = [pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = ROOT / "harness" / "locust" / "locustfile.py"


def locust(env: LocalEnvironment, *args: str, log: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), *args,
               "--gadget-mongo-uri", env.mongo_uri, "--gadget-database", env.database,
               "--gadget-events-per-prompt", "10", "--gadget-rate", "20", "DroneWithIde"]
    with log.open("w") as out:  # the child keeps its own descriptor
        return subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                text=True)


def start_run(env: LocalEnvironment, tmp_path: Path, seconds: int, users: int
              ) -> tuple[subprocess.Popen[str], list[subprocess.Popen[str]]]:
    port = free_port()
    master = locust(env, "--master", "--master-bind-host", "127.0.0.1",
                    "--master-bind-port", str(port), "--headless", "-u", str(users),
                    "-r", str(users), "-t", f"{seconds}s", "--expect-workers", "2",
                    "--host", env.relay_url, "--csv", str(tmp_path / "stats"),
                    log=tmp_path / "master.log")
    workers = [locust(env, "--worker", "--master-host", "127.0.0.1", "--master-port",
                      str(port), log=tmp_path / f"worker{i}.log") for i in (1, 2)]
    return master, workers


def finish(master: subprocess.Popen[str], workers: list[subprocess.Popen[str]],
           tmp_path: Path) -> tuple[int, str]:
    try:
        code = master.wait(timeout=180)
    finally:
        for process in (master, *workers):
            if process.poll() is None:
                process.kill()
                process.wait()
    for worker in workers:
        worker.wait(timeout=30)
    return code, (tmp_path / "master.log").read_text()


def run_ids(log: str) -> list[str]:
    return re.findall(r"seeded \d+ pairs \(run (run-[\w-]+)\)", log)


async def documents_of(mongo: AsyncMongoClient[Any], env: LocalEnvironment,
                       ids: list[str]) -> int:
    db = mongo[env.database]
    return sum([await db[name].count_documents({SEED_RUN_FIELD: {"$in": ids}})
                for name in ALL_COLLECTIONS])


def stats_rows(tmp_path: Path) -> dict[tuple[str, str], dict[str, str]]:
    with (tmp_path / "stats_stats.csv").open() as file:
        return {(row["Type"], row["Name"]): row for row in csv.DictReader(file)}


async def no_agent_left() -> bool:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        agents = [p for p in psutil.process_iter(["cmdline"])
                  if "harness.locust.agent" in " ".join(p.info["cmdline"] or [])]
        if not agents:
            return True
        await asyncio.sleep(0.2)
    return False


async def test_a_master_and_two_workers_run_clean_and_clean_up(
        relay_env: LocalEnvironment, relay_mongo: AsyncMongoClient[Any],
        tmp_path: Path) -> None:
    master, workers = start_run(relay_env, tmp_path, seconds=8, users=6)
    code, log = await asyncio.to_thread(finish, master, workers, tmp_path)
    assert code == 0, log

    spread = re.search(r"gadget: pairs per process: (.+)", log)
    assert spread is not None, log
    held = [int(n) for n in re.findall(r" (\d+)(?:,|$)", spread.group(1))]
    assert len(held) == 2 and all(n > 0 for n in held) and sum(held) == 6, spread.group(0)

    delivered = re.search(r"gadget: (\d+) events delivered to IDEs", log)
    assert delivered is not None and int(delivered.group(1)) > 0, log
    assert "invariants (exactly-once, order, isolation): no violation" in log
    rows = stats_rows(tmp_path)
    counted = sum(int(row["Request Count"]) for (kind, _), row in rows.items()
                  if kind == "event")
    assert counted == int(delivered.group(1)), (counted, delivered.group(0))
    assert int(rows[("workOrder", "workOrderComplete")]["Request Count"]) > 0
    assert all(int(row["Failure Count"]) == 0 for row in rows.values()), rows

    ids = run_ids(log)
    assert ids, log
    assert await documents_of(relay_mongo, relay_env, ids) == 0
    assert await no_agent_left()


async def test_a_killed_worker_is_reported_and_the_world_still_cleaned_up(
        relay_env: LocalEnvironment, relay_mongo: AsyncMongoClient[Any],
        tmp_path: Path) -> None:
    master, workers = start_run(relay_env, tmp_path, seconds=20, users=6)
    log_file = tmp_path / "master.log"
    deadline = time.monotonic() + 60
    while "All users spawned" not in log_file.read_text():
        assert time.monotonic() < deadline, log_file.read_text()
        assert master.poll() is None, log_file.read_text()
        await asyncio.sleep(0.2)
    await asyncio.sleep(3)  # work orders under way
    workers[0].send_signal(signal.SIGKILL)
    code, log = await asyncio.to_thread(finish, master, workers, tmp_path)

    assert code == 1, log
    lost = re.search(r"gadget: worker (\S+) went missing with (\d+) pair\(s\)", log)
    assert lost is not None and int(lost.group(2)) > 0, log
    ids = run_ids(log)
    assert ids, log
    assert await documents_of(relay_mongo, relay_env, ids) == 0
    assert re.search(r"gadget: removed \d+ document\(s\) of run\(s\) ", log), log
    assert await no_agent_left()  # the killed worker's agent saw its pipe close and left


async def test_a_relay_whose_locks_never_reach_a_drone_fails_the_locust_run(
        make_relay_env: MakeRelayEnv, tmp_path: Path) -> None:
    env = await make_relay_env(regressions=frozenset({"lookup-by-socket-id"}))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "harness", "locust", "--env", "external",
        "--relay-url", env.relay_url, "--mongo-uri", env.mongo_uri, "--database",
        env.database, "-u", "2", "-t", "6s", "--workers", "0", "--",
        "--csv", str(tmp_path / "stats"), "--only-summary", cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    assert await asyncio.wait_for(process.wait(), 120) == 1
    locks = stats_rows(tmp_path)[("ack", "requestSessionLock")]
    assert int(locks["Failure Count"]) == int(locks["Request Count"]) > 0, locks
    with (tmp_path / "stats_failures.csv").open() as file:
        errors = {row["Error"] for row in csv.DictReader(file)}
    assert any("requestSessionLock:drone-offline" in error for error in errors), errors
