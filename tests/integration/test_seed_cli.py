"""The seed CLI against a real database: seed, list, cleanup, gc; and the real entry points."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from _seed_helpers import CONTRACT_FIELDS, check_default_world, check_world_documents
from click.testing import CliRunner
from pymongo.database import Database

from harness.commands.seed import seed_group
from harness.protocol import SEED_RUN_FIELD, Collection
from seed import World, WorldSpec, load_world_file, plan_world, world_from_json

Db = Database[Any]


@pytest.fixture
def args(mongo_uri: str, sync_mongo_db: Db) -> list[str]:
    """The flags that point a command at the test's database."""
    return ["--mongo-uri", mongo_uri, "--database", sync_mongo_db.name]


def _invoke(*argv: str, ok: bool = True) -> tuple[str, str]:
    result = CliRunner().invoke(seed_group, list(argv))
    if ok:
        assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    else:
        assert result.exit_code == 2, (result.stdout, result.stderr)
    return result.stdout, result.stderr


def _run_docs(db: Db, run_id: str) -> dict[str, list[dict[str, Any]]]:
    return {name: list(db[name].find({SEED_RUN_FIELD: run_id})) for name in CONTRACT_FIELDS}


def _insert_old_run(db: Db, run_id: str, age: timedelta) -> World:
    plan = plan_world(WorldSpec(), run_id, db.name, now=datetime.now(UTC) - age)
    for name, docs in plan.documents.items():
        db[name].insert_many(docs)
    return plan.world


def test_seed_prints_the_default_world_as_json(args: list[str], sync_mongo_db: Db) -> None:
    out, _ = _invoke(*args)
    world = world_from_json(out, source="stdout")
    assert world.database == sync_mongo_db.name
    check_default_world(_run_docs(sync_mongo_db, world.run_id), world)
    assert json.loads(out)["users"][0]["token"] == world.users[0].token


def test_seed_with_flags_spec_file_and_faker_seed(
    args: list[str], sync_mongo_db: Db, tmp_path: Path
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("users: 2\ndronesPerUser: 7\nprojectsPerUser: 2\n")
    out, _ = _invoke(*args, "--spec", str(spec), "--drones", "2", "--chat-sessions", "3",
                     "--faker-seed", "99", "--run-id", "cli-run-1")
    world = world_from_json(out)
    assert world.run_id == "cli-run-1" and world.faker_seed == 99
    assert world.spec == WorldSpec(users=2, projects_per_user=2, chat_sessions_per_project=3,
                                   drones_per_user=2)
    check_world_documents(_run_docs(sync_mongo_db, "cli-run-1"), world)
    again = world_from_json(_invoke(*args, "--faker-seed", "99")[0])
    assert again.users[0].display_name == world.users[0].display_name
    assert again.users[0].email != world.users[0].email


def test_seed_out_file_then_cleanup_by_file(
    args: list[str], sync_mongo_db: Db, tmp_path: Path
) -> None:
    path = tmp_path / "world.json"
    out, err = _invoke(*args, "--out", str(path))
    assert out == ""
    world = load_world_file(path)
    assert f"seeded run {world.run_id} into database {sync_mongo_db.name}" in err
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    check_default_world(_run_docs(sync_mongo_db, world.run_id), world)

    # The file names its database: cleanup needs only the URI.
    out, _ = _invoke("cleanup", str(path), "--mongo-uri", args[1])
    assert f"run {world.run_id}: deleted 7 documents from database {sync_mongo_db.name}" in out
    assert "droneRegistrations" in out
    assert all(not docs for docs in _run_docs(sync_mongo_db, world.run_id).values())
    out, _ = _invoke("cleanup", str(path), "--mongo-uri", args[1])
    assert "nothing to delete" in out and "unknown run, or already cleaned up" in out


def test_cleanup_by_run_id_with_group_flags_and_json(args: list[str], sync_mongo_db: Db) -> None:
    keep = world_from_json(_invoke(*args)[0])
    world = world_from_json(_invoke(*args)[0])
    sync_mongo_db[Collection.WORK_ORDERS].insert_one({"chatSession": world.chat_sessions[0].id})
    out, _ = _invoke(*args, "cleanup", world.run_id, "--json")
    report = json.loads(out)
    assert report["found"] is True and report["runId"] == world.run_id
    assert report["deleted"] == {"users": 1, "aiProviders": 1, "projects": 1,
                                 "chatSessions": 1, "droneRegistrations": 3, "workOrders": 1}
    check_default_world(_run_docs(sync_mongo_db, keep.run_id), keep)
    out, _ = _invoke("cleanup", "unknown-run", *args, "--json")
    assert json.loads(out)["found"] is False


def test_cleanup_reads_the_world_from_stdin(args: list[str], sync_mongo_db: Db) -> None:
    out, _ = _invoke(*args)
    world = world_from_json(out)
    result = CliRunner().invoke(seed_group, ["cleanup", "-", *args], input=out)
    assert result.exit_code == 0, result.stderr
    assert f"run {world.run_id}: deleted 7 documents" in result.stdout


def test_list_shows_runs_with_age_and_counts(args: list[str], sync_mongo_db: Db) -> None:
    out, _ = _invoke("list", *args)
    assert out.strip() == f"no seeded runs in database {sync_mongo_db.name}"
    old = _insert_old_run(sync_mongo_db, "old-run", timedelta(hours=5))
    new = world_from_json(_invoke(*args, "--drones", "4")[0])
    out, _ = _invoke("list", *args)
    lines = out.strip().splitlines()
    assert lines[0].startswith(f"{old.run_id}  ") and " age 5h" in lines[0]
    assert lines[1].startswith(f"{new.run_id}  ")
    assert "droneRegistrations=4" in lines[1] and "users=1" in lines[1]
    rows = json.loads(_invoke("list", *args, "--json")[0])
    assert [r["runId"] for r in rows] == ["old-run", new.run_id]
    assert rows[0]["counts"]["droneRegistrations"] == 3
    assert 5 * 3600 <= rows[0]["ageSeconds"] < 6 * 3600


def test_gc_removes_only_old_runs(args: list[str], sync_mongo_db: Db) -> None:
    _insert_old_run(sync_mongo_db, "stale-run", timedelta(hours=3))
    fresh = world_from_json(_invoke(*args)[0])
    sync_mongo_db[Collection.USERS].insert_one({"email": "real@example.com"})

    out, _ = _invoke("gc", "--older-than", "2h", "--dry-run", *args)
    assert "would remove 1 runs older than 2h" in out and "stale-run" in out
    assert len(_run_docs(sync_mongo_db, "stale-run")[Collection.USERS]) == 1

    out, _ = _invoke("gc", "--older-than", "2h", *args)
    assert "removed 1 runs older than 2h" in out and "run stale-run: deleted 7" in out
    assert all(not docs for docs in _run_docs(sync_mongo_db, "stale-run").values())
    check_default_world(_run_docs(sync_mongo_db, fresh.run_id), fresh)
    assert sync_mongo_db[Collection.USERS].count_documents({"email": "real@example.com"}) == 1

    out, _ = _invoke("gc", "--older-than", "2h", *args)
    assert out.strip() == f"no runs older than 2h in database {sync_mongo_db.name}"


def _refused_port() -> Iterator[int]:
    # Bound but not listening: connections are refused, and nobody else can take the port.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def refused_port() -> Iterator[int]:
    yield from _refused_port()


def _subprocess(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv), capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )


def test_unreachable_database_fails_fast_with_the_masked_uri(refused_port: int) -> None:
    uri = f"mongodb://alice:s3cr3t-pw@127.0.0.1:{refused_port}/"
    started = time.monotonic()
    done = _subprocess(sys.executable, "-m", "seed", "--mongo-uri", uri)
    elapsed = time.monotonic() - started
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.startswith(
        f"error: cannot reach MongoDB at mongodb://alice:***@127.0.0.1:{refused_port}/"
        " within 3s: ")
    assert "refused" in done.stderr.lower() or "failed" in done.stderr.lower()
    assert "s3cr3t" not in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert elapsed < 30  # 3 s of server selection, plus interpreter start on a busy machine


def test_harness_seed_entry_point_round_trip(mongo_uri: str, sync_mongo_db: Db,
                                             tmp_path: Path) -> None:
    harness = Path(sys.executable).with_name("harness")
    path = tmp_path / "w.json"
    env = {"GADGET_MONGO_URI": mongo_uri, "GADGET_DATABASE": sync_mongo_db.name}
    done = _subprocess(str(harness), "seed", "--users", "2", "--out", str(path), env=env)
    assert done.returncode == 0, done.stderr
    world = load_world_file(path)
    check_world_documents(_run_docs(sync_mongo_db, world.run_id), world)
    done = _subprocess(str(harness), "seed", "cleanup", str(path), env=env)
    assert done.returncode == 0, done.stderr
    assert f"run {world.run_id}: deleted 14 documents" in done.stdout
    assert sum(sync_mongo_db[name].count_documents({}) for name in CONTRACT_FIELDS) == 0
