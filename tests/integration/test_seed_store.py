"""Seeding and cleanup against a real database over TCP (mongod or the wire stand-in)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from _seed_helpers import check_default_world, check_world_documents, fetch_run, snapshot
from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase

from harness.errors import SeedError, SpecError
from harness.protocol import ALL_COLLECTIONS, SEED_RUN_FIELD, Collection
from seed import (
    WorldSpec,
    build_world,
    cleanup,
    gc,
    list_runs,
    plan_world,
    stale_runs,
    write_plan,
)

Db = AsyncDatabase[Any]


async def _plant_foreign_documents(db: Db) -> None:
    """A document without ``seedRunId`` in every collection, shaped like the real ones."""
    user = ObjectId()
    await db[Collection.USERS].insert_one(
        {"_id": user, "email": "real@example.com", "displayName": "Real", "apiTokenHash": "0"})
    await db[Collection.AI_PROVIDERS].insert_one({"user": user, "name": "p", "kind": "openai"})
    await db[Collection.PROJECTS].insert_one({"user": user, "name": "n", "slug": "real"})
    await db[Collection.CHAT_SESSIONS].insert_one({"user": user, "title": "t"})
    await db[Collection.DRONE_REGISTRATIONS].insert_one(
        {"user": user, "hostname": "real-host", "status": "online"})
    await db[Collection.WORK_ORDERS].insert_one(
        {"chatSession": ObjectId(), "registration": ObjectId(), "status": "complete"})
    # A document whose seedRunId is null is not part of any run either.
    await db[Collection.USERS].insert_one({"email": "null@example.com", SEED_RUN_FIELD: None})


async def test_default_world_has_the_documented_shape_in_the_database(mongo_db: Db) -> None:
    world = await build_world(mongo_db)
    assert world.database == mongo_db.name
    assert world.spec == WorldSpec()
    docs = await fetch_run(mongo_db, world.run_id)
    check_default_world(docs, world)
    # Nothing else was written anywhere.
    everything = await snapshot(mongo_db)
    assert {name: len(docs) for name, docs in everything.items()} == {
        Collection.USERS: 1, Collection.AI_PROVIDERS: 1, Collection.PROJECTS: 1,
        Collection.CHAT_SESSIONS: 1, Collection.DRONE_REGISTRATIONS: 3,
        Collection.WORK_ORDERS: 0}


async def test_larger_world_and_explicit_run_id(mongo_db: Db) -> None:
    spec = WorldSpec(users=3, providers_per_user=2, projects_per_user=2,
                     chat_sessions_per_project=2, drones_per_user=5)
    world = await build_world(mongo_db, spec, "ci-job-42", faker_seed=5)
    assert world.run_id == "ci-job-42" and world.faker_seed == 5
    docs = await fetch_run(mongo_db, "ci-job-42")
    assert [len(docs[name]) for name in docs] == [3, 6, 6, 12, 15]
    check_world_documents(docs, world)


async def test_thousand_drone_world(mongo_db: Db) -> None:
    world = await build_world(mongo_db, WorldSpec(drones_per_user=1000))
    docs = await fetch_run(mongo_db, world.run_id)
    assert len(docs[Collection.DRONE_REGISTRATIONS]) == 1000
    report = await cleanup(mongo_db, world.run_id)
    assert report.deleted[Collection.DRONE_REGISTRATIONS] == 1000


async def test_two_runs_in_one_database_are_disjoint(mongo_db: Db) -> None:
    a = await build_world(mongo_db, faker_seed=1)
    b = await build_world(mongo_db, faker_seed=1)
    assert a.run_id != b.run_id
    docs_a, docs_b = await fetch_run(mongo_db, a.run_id), await fetch_run(mongo_db, b.run_id)
    check_default_world(docs_a, a)
    check_default_world(docs_b, b)
    ids_a = {str(d["_id"]) for docs in docs_a.values() for d in docs}
    ids_b = {str(d["_id"]) for docs in docs_b.values() for d in docs}
    assert not ids_a & ids_b
    # Same Faker seed: same names, yet no unique value shared.
    assert a.users[0].display_name == b.users[0].display_name
    assert a.users[0].email != b.users[0].email
    assert a.projects[0].slug != b.projects[0].slug
    assert not {d.hostname for d in a.drones} & {d.hostname for d in b.drones}


async def test_reusing_a_present_run_id_is_refused_and_loses_nothing(mongo_db: Db) -> None:
    first = await build_world(mongo_db, run_id="fixed-run")
    before = await snapshot(mongo_db)
    with pytest.raises(SeedError, match="run id fixed-run already has documents"):
        await build_world(mongo_db, run_id="fixed-run")
    assert await snapshot(mongo_db) == before
    check_default_world(await fetch_run(mongo_db, "fixed-run"), first)


async def test_bad_run_id_is_refused_before_writing(mongo_db: Db) -> None:
    with pytest.raises(SpecError, match="run id 'has space'"):
        await build_world(mongo_db, run_id="has space")
    assert await list_runs(mongo_db) == ()


async def test_cleanup_deletes_its_run_and_nothing_else(mongo_db: Db) -> None:
    await _plant_foreign_documents(mongo_db)
    other = await build_world(mongo_db)
    world = await build_world(mongo_db, WorldSpec(users=2, chat_sessions_per_project=2))
    orders = mongo_db[Collection.WORK_ORDERS]
    chat, drone = world.chat_sessions[0], world.drones[0]
    # Work orders the relay created for this run (no seedRunId): deleted.
    ours: list[dict[str, Any]] = [
        {"chatSession": ObjectId(chat.id), "registration": ObjectId(drone.id),
         "prompt": "p", "status": "running", "completedAt": None},
        {"chatSession": ObjectId(world.chat_sessions[3].id), "registration": ObjectId(),
         "prompt": "p", "status": "complete", "completedAt": datetime.now(UTC)},
        {"chatSession": ObjectId(), "registration": ObjectId(world.drones[4].id),
         "prompt": "p", "status": "pending", "completedAt": None},
        {"chatSession": chat.id, "registration": drone.id, "prompt": "string ids"},
        {"chatSession": chat.id, SEED_RUN_FIELD: world.run_id},
    ]
    await orders.insert_many(ours)
    # Work orders of another run, or claimed by another run: kept.
    await orders.insert_many([
        {"chatSession": ObjectId(other.chat_sessions[0].id),
         "registration": ObjectId(other.drones[0].id), "status": "running"},
        {"chatSession": ObjectId(chat.id), SEED_RUN_FIELD: other.run_id},
    ])
    before = await snapshot(mongo_db)
    run_docs = await fetch_run(mongo_db, world.run_id)

    report = await cleanup(mongo_db, world.run_id)

    assert report.found and report.run_id == world.run_id
    assert report.database == mongo_db.name
    assert dict(report.deleted) == {
        Collection.USERS: 2, Collection.AI_PROVIDERS: 2, Collection.PROJECTS: 2,
        Collection.CHAT_SESSIONS: 4, Collection.DRONE_REGISTRATIONS: 6,
        Collection.WORK_ORDERS: len(ours)}
    assert list(report.deleted) == list(ALL_COLLECTIONS)
    after = await snapshot(mongo_db)
    gone = {name: {str(d["_id"]) for d in docs} for name, docs in run_docs.items()}
    gone[Collection.WORK_ORDERS] = {str(d["_id"]) for d in ours}
    for name in ALL_COLLECTIONS:
        expected = {k: v for k, v in before[name].items() if k not in gone.get(name, set())}
        assert after[name] == expected, name
    assert all(not docs for docs in (await fetch_run(mongo_db, world.run_id)).values())
    check_default_world(await fetch_run(mongo_db, other.run_id), other)


async def test_cleanup_is_idempotent_and_says_when_nothing_was_there(mongo_db: Db) -> None:
    await _plant_foreign_documents(mongo_db)
    world = await build_world(mongo_db)
    assert (await cleanup(mongo_db, world.run_id)).found
    before = await snapshot(mongo_db)
    again = await cleanup(mongo_db, world.run_id)
    unknown = await cleanup(mongo_db, "never-seeded")
    for report in (again, unknown):
        assert not report.found and report.total == 0
        assert dict(report.deleted) == dict.fromkeys(ALL_COLLECTIONS, 0)
    assert await snapshot(mongo_db) == before


async def test_cleanup_refuses_a_malformed_run_id(mongo_db: Db) -> None:
    with pytest.raises(SpecError, match="run id"):
        await cleanup(mongo_db, "")


async def test_list_runs_shows_age_and_counts(mongo_db: Db) -> None:
    await _plant_foreign_documents(mongo_db)
    old = plan_world(WorldSpec(drones_per_user=2), "old-run", mongo_db.name,
                     now=datetime(2026, 1, 1, tzinfo=UTC))
    await write_plan(mongo_db, old)
    new = await build_world(mongo_db, WorldSpec(users=2))
    await mongo_db[Collection.WORK_ORDERS].insert_one({SEED_RUN_FIELD: new.run_id})
    runs = await list_runs(mongo_db)
    assert [r.run_id for r in runs] == ["old-run", new.run_id]
    assert runs[0].created_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert dict(runs[0].counts) == {
        Collection.USERS: 1, Collection.AI_PROVIDERS: 1, Collection.PROJECTS: 1,
        Collection.CHAT_SESSIONS: 1, Collection.DRONE_REGISTRATIONS: 2,
        Collection.WORK_ORDERS: 0}
    assert runs[1].counts[Collection.USERS] == 2
    assert runs[1].counts[Collection.WORK_ORDERS] == 1
    assert runs[1].total == 2 + 2 + 2 + 2 + 6 + 1
    created = datetime.fromisoformat(new.created_at.replace("Z", "+00:00"))
    assert runs[1].created_at == created
    now = created + timedelta(minutes=5)
    assert runs[1].age(now) == timedelta(minutes=5)
    assert runs[1].to_dict(now)["ageSeconds"] == 300
    assert runs[1].to_dict(now)["createdAt"] == new.created_at


async def test_gc_removes_only_runs_older_than_the_limit(mongo_db: Db) -> None:
    await _plant_foreign_documents(mongo_db)
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    for run_id, age in (("ancient", timedelta(days=3)), ("old", timedelta(hours=2, seconds=1)),
                        ("edge", timedelta(hours=2)), ("young", timedelta(minutes=1))):
        await write_plan(mongo_db, plan_world(WorldSpec(), run_id, mongo_db.name, now=now - age))
    await mongo_db[Collection.WORK_ORDERS].insert_one(
        {"chatSession": ObjectId((await fetch_run(mongo_db, "old"))[
            Collection.CHAT_SESSIONS][0]["_id"]), "status": "failed"})
    before = await snapshot(mongo_db)

    assert [r.run_id for r in await stale_runs(mongo_db, timedelta(hours=2), now=now)] == [
        "ancient", "old"]
    assert await snapshot(mongo_db) == before  # looking deletes nothing
    reports = await gc(mongo_db, timedelta(hours=2), now=now)

    assert [(r.run_id, r.total) for r in reports] == [("ancient", 7), ("old", 8)]
    assert [r.run_id for r in await list_runs(mongo_db)] == ["edge", "young"]
    after = await snapshot(mongo_db)
    for name in ALL_COLLECTIONS:
        kept = {k: v for k, v in before[name].items()
                if v.get(SEED_RUN_FIELD) not in ("ancient", "old")}
        if name == Collection.WORK_ORDERS:
            kept = {k: v for k, v in kept.items() if v.get("status") != "failed"}
        assert after[name] == kept, name


async def test_gc_refuses_a_non_positive_limit(mongo_db: Db) -> None:
    await build_world(mongo_db)
    for limit in (timedelta(0), timedelta(minutes=-5)):
        with pytest.raises(SeedError, match="--older-than: must be a positive duration"):
            await gc(mongo_db, limit)
    assert len(await list_runs(mongo_db)) == 1


async def test_failure_midway_leaves_nothing_of_the_run(mongo_db: Db) -> None:
    await _plant_foreign_documents(mongo_db)
    other = await build_world(mongo_db)
    plan = plan_world(WorldSpec(), "doomed", mongo_db.name)
    # A document outside the run already holds the second drone's _id: the drones'
    # insert fails on the unique _id index after users ... chat sessions and one drone.
    squatter = {"_id": plan.ids(Collection.DRONE_REGISTRATIONS)[1], "hostname": "squatter"}
    await mongo_db[Collection.DRONE_REGISTRATIONS].insert_one(squatter)
    before = await snapshot(mongo_db)

    with pytest.raises(SeedError) as caught:
        await write_plan(mongo_db, plan)

    message = str(caught.value)
    assert "seeding run doomed" in message and "failed at droneRegistrations" in message
    assert "removed the 5 documents it had written" in message
    assert "duplicate key" in message.lower() or "E11000" in message
    assert await snapshot(mongo_db) == before
    assert all(not docs for docs in (await fetch_run(mongo_db, "doomed")).values())
    assert await mongo_db[Collection.DRONE_REGISTRATIONS].find_one(
        {"_id": squatter["_id"]}) == squatter
    check_default_world(await fetch_run(mongo_db, other.run_id), other)


async def test_failure_in_the_first_collection_leaves_nothing(mongo_db: Db) -> None:
    plan = plan_world(WorldSpec(users=3), "doomed-early", mongo_db.name)
    first_user = dataclasses.replace(plan.world.users[0])
    await mongo_db[Collection.USERS].insert_one({"_id": ObjectId(first_user.id)})
    with pytest.raises(SeedError, match=r"failed at users: .*removed the 0 documents"):
        await write_plan(mongo_db, plan)
    assert await list_runs(mongo_db) == ()
