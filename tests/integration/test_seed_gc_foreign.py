"""Issue 13, finding 4: a foreign ``seedRunId`` (``""``, ``"$ne"``) no longer blocks gc.

Before the fix, ``harness seed gc`` stopped with exit 2 on ``check_run_id`` at the first
such value, leaving the genuinely stale runs after it in place, and ``--dry-run`` listed
the foreign values as "would remove". Now gc leaves them alone, names them in one line,
and removes the stale runs of its own; nothing that is not of a seed run is deleted.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from _seed_helpers import CONTRACT_FIELDS, check_default_world, snapshot
from click.testing import CliRunner
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.database import Database

from harness.commands.seed import seed_group
from harness.protocol import ALL_COLLECTIONS, SEED_RUN_FIELD, Collection
from seed import (
    WorldSpec,
    build_world,
    gc,
    list_runs,
    plan_world,
    stale_runs,
    world_from_json,
    write_plan,
)

Db = Database[Any]
FOREIGN = ("", "$ne", "not a run id")


def _plant(db: Db, now: datetime) -> list[dict[str, Any]]:
    """Foreign documents, older than any run, then two stale runs and a fresh one."""
    foreign = [
        {SEED_RUN_FIELD: "", "email": "a@example.com", "createdAt": now - timedelta(days=9)},
        {SEED_RUN_FIELD: "$ne", "email": "b@example.com", "createdAt": now - timedelta(days=8)},
        {SEED_RUN_FIELD: "not a run id", "email": "c@example.com",
         "createdAt": now - timedelta(hours=4)},
    ]
    db[Collection.USERS].insert_many([dict(doc) for doc in foreign])
    db[Collection.WORK_ORDERS].insert_one(
        {SEED_RUN_FIELD: "$ne", "status": "failed", "createdAt": now - timedelta(days=7)})
    for run_id, age in (("stale-a", timedelta(hours=5)), ("stale-b", timedelta(hours=3)),
                        ("fresh", timedelta(minutes=1))):
        plan = plan_world(WorldSpec(), run_id, db.name, now=now - age)
        for name, docs in plan.documents.items():
            if docs:
                db[name].insert_many(docs)
    return foreign


def _foreign_left(db: Db) -> int:
    return sum(db[name].count_documents({SEED_RUN_FIELD: {"$in": list(FOREIGN)}})
               for name in ALL_COLLECTIONS)


def _run_docs(db: Db, run_id: str) -> dict[str, list[dict[str, Any]]]:
    return {name: list(db[name].find({SEED_RUN_FIELD: run_id})) for name in CONTRACT_FIELDS}


def _invoke(*argv: str) -> tuple[str, str]:
    result = CliRunner().invoke(seed_group, list(argv))
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result.stdout, result.stderr


@pytest.fixture
def args(mongo_uri: str, sync_mongo_db: Db) -> list[str]:
    return ["--mongo-uri", mongo_uri, "--database", sync_mongo_db.name]


def test_gc_dry_run_lists_only_runs_of_ours_and_names_the_foreign_values(
        args: list[str], sync_mongo_db: Db) -> None:
    _plant(sync_mongo_db, datetime.now(UTC))
    out, _ = _invoke("gc", "--older-than", "2h", "--dry-run", *args)
    lines = out.splitlines()
    assert lines[0].startswith("would remove 2 runs older than 2h"), out
    assert lines[1:3] == ["  stale-a", "  stale-b"], out
    assert "  ''" not in out and "  $ne" not in out
    left = [line for line in lines if line.startswith("left alone ")]
    assert len(left) == 1, out
    assert "4 documents under 3 seedRunId values that are not run ids" in left[0]
    assert "''" in left[0] and "'$ne'" in left[0] and "'not a run id'" in left[0]
    assert _foreign_left(sync_mongo_db) == 4
    assert len(_run_docs(sync_mongo_db, "stale-a")[Collection.USERS]) == 1


def test_gc_removes_the_stale_runs_and_leaves_foreign_documents(
        args: list[str], sync_mongo_db: Db) -> None:
    _plant(sync_mongo_db, datetime.now(UTC))
    fresh = list(sync_mongo_db[Collection.USERS].find({SEED_RUN_FIELD: "fresh"}))
    out, err = _invoke("gc", "--older-than", "2h", *args)
    assert "removed 2 runs older than 2h" in out, (out, err)
    assert "run stale-a: deleted 7" in out and "run stale-b: deleted 7" in out
    assert "left alone 4 documents under 3 seedRunId values" in out
    for run_id in ("stale-a", "stale-b"):
        assert all(not docs for docs in _run_docs(sync_mongo_db, run_id).values())
    assert _foreign_left(sync_mongo_db) == 4
    assert list(sync_mongo_db[Collection.USERS].find({SEED_RUN_FIELD: "fresh"})) == fresh

    report = json.loads(_invoke("gc", "--older-than", "2h", "--json", *args)[0])
    assert report["runs"] == [] and report["reports"] == []
    assert sorted(r["runId"] for r in report["leftAlone"]) == sorted(FOREIGN)
    assert _foreign_left(sync_mongo_db) == 4


async def test_library_gc_skips_foreign_values_with_a_warning(
        mongo_db: AsyncDatabase[dict[str, Any]], caplog: pytest.LogCaptureFixture) -> None:
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    await mongo_db[Collection.USERS].insert_many([
        {SEED_RUN_FIELD: value, "createdAt": now - timedelta(days=3)} for value in FOREIGN])
    await write_plan(mongo_db, plan_world(WorldSpec(), "old", mongo_db.name,
                                          now=now - timedelta(days=1)))
    young = await build_world(mongo_db)
    before = await snapshot(mongo_db)

    assert [r.run_id for r in await stale_runs(mongo_db, timedelta(hours=2), now=now)] == [
        "old"]
    with caplog.at_level(logging.WARNING, logger="seed.store"):
        reports = await gc(mongo_db, timedelta(hours=2), now=now)
    assert [(r.run_id, r.total) for r in reports] == [("old", 7)]
    assert any("left alone 3 documents" in record.getMessage() for record in caplog.records)

    after = await snapshot(mongo_db)
    for name in ALL_COLLECTIONS:
        kept = {k: v for k, v in before[name].items() if v.get(SEED_RUN_FIELD) != "old"}
        assert after[name] == kept, name
    assert {r.run_id for r in await list_runs(mongo_db)} == {young.run_id, *FOREIGN}


def test_gc_of_a_database_with_only_foreign_values_says_so(
        args: list[str], sync_mongo_db: Db) -> None:
    sync_mongo_db[Collection.USERS].insert_one(
        {SEED_RUN_FIELD: "", "createdAt": datetime.now(UTC) - timedelta(days=1)})
    out, _ = _invoke("gc", "--older-than", "1h", *args)
    assert out.splitlines() == [
        f"no runs older than 1h in database {sync_mongo_db.name}",
        "left alone 1 document under 1 seedRunId value that is not a run id (''): "
        "harness seed did not write them",
    ]
    assert sync_mongo_db[Collection.USERS].count_documents({SEED_RUN_FIELD: ""}) == 1


def test_gc_keeps_a_fresh_world_seeded_by_the_cli(args: list[str], sync_mongo_db: Db) -> None:
    result = CliRunner().invoke(seed_group, args)
    assert result.exit_code == 0, result.stderr
    world = world_from_json(result.stdout)
    _plant(sync_mongo_db, datetime.now(UTC))
    _invoke("gc", "--older-than", "2h", *args)
    check_default_world(_run_docs(sync_mongo_db, world.run_id), world)
