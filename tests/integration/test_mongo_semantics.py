"""MongoDB semantics the relay and the seed rely on, written to MongoDB's documented behaviour.

Runs against ``mongo_uri``: the wire-protocol stand-in here, a real ``mongod`` (or ``mongo:7``)
when ``GADGET_TEST_MONGO_URI`` points at one. Both must pass the same file.
"""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

import pymongo
import pytest
from bson.objectid import ObjectId
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

Doc = dict[str, Any]
Db = AsyncDatabase[Doc]


async def _ids(cursor: Any) -> list[Any]:
    return [doc["_id"] async for doc in cursor]


# --- ObjectId references -------------------------------------------------------------------


async def test_objectid_reference_does_not_match_its_string_form(mongo_db: Db) -> None:
    user = ObjectId()
    await mongo_db.projects.insert_many(
        [{"_id": "by-oid", "user": user}, {"_id": "by-str", "user": str(user)}]
    )
    assert await _ids(mongo_db.projects.find({"user": user})) == ["by-oid"]
    assert await _ids(mongo_db.projects.find({"user": str(user)})) == ["by-str"]


async def test_objectid_in_matches_only_listed_ids(mongo_db: Db) -> None:
    a, b, c = ObjectId(), ObjectId(), ObjectId()
    await mongo_db.items.insert_many([{"_id": a}, {"_id": b}, {"_id": c}, {"_id": str(a)}])
    found = await _ids(mongo_db.items.find({"_id": {"$in": [a, c]}}).sort("_id", ASCENDING))
    assert found == sorted([a, c])


async def test_find_by_generated_id_round_trips(mongo_db: Db) -> None:
    result = await mongo_db.users.insert_one({"email": "a@example.com"})
    assert isinstance(result.inserted_id, ObjectId)
    found = await mongo_db.users.find_one({"_id": result.inserted_id})
    assert found == {"_id": result.inserted_id, "email": "a@example.com"}
    assert await mongo_db.users.find_one({"_id": str(result.inserted_id)}) is None


# --- updates ---------------------------------------------------------------------------------


async def test_set_and_unset(mongo_db: Db) -> None:
    await mongo_db.drones.insert_one({"_id": 1, "status": "online", "lockedBy": "x"})
    result = await mongo_db.drones.update_one(
        {"_id": 1}, {"$set": {"status": "offline"}, "$unset": {"lockedBy": ""}}
    )
    assert (result.matched_count, result.modified_count) == (1, 1)
    assert await mongo_db.drones.find_one({"_id": 1}) == {"_id": 1, "status": "offline"}


async def test_update_that_changes_nothing_counts_matched_not_modified(mongo_db: Db) -> None:
    await mongo_db.drones.insert_one({"_id": 1, "status": "online"})
    result = await mongo_db.drones.update_one({"_id": 1}, {"$set": {"status": "online"}})
    assert (result.matched_count, result.modified_count) == (1, 0)


async def test_upsert_returns_upserted_id_and_applies_set_on_insert(mongo_db: Db) -> None:
    first = await mongo_db.users.update_one(
        {"email": "a@example.com"},
        {"$set": {"displayName": "A"}, "$setOnInsert": {"createdBy": "seed"}},
        upsert=True,
    )
    assert isinstance(first.upserted_id, ObjectId)
    assert first.matched_count == 0
    second = await mongo_db.users.update_one(
        {"email": "a@example.com"},
        {"$set": {"displayName": "B"}, "$setOnInsert": {"createdBy": "other"}},
        upsert=True,
    )
    assert second.upserted_id is None
    assert (second.matched_count, second.modified_count) == (1, 1)
    doc = await mongo_db.users.find_one({"_id": first.upserted_id})
    assert doc == {
        "_id": first.upserted_id,
        "email": "a@example.com",
        "displayName": "B",
        "createdBy": "seed",
    }


async def test_update_many_reports_modified_count(mongo_db: Db) -> None:
    await mongo_db.orders.insert_many(
        [{"status": "running"}, {"status": "running"}, {"status": "complete"}]
    )
    result = await mongo_db.orders.update_many(
        {"status": "running"}, {"$set": {"status": "aborted"}}
    )
    assert (result.matched_count, result.modified_count) == (2, 2)
    assert await mongo_db.orders.count_documents({"status": "aborted"}) == 2
    assert await mongo_db.orders.count_documents({"status": "complete"}) == 1


async def test_replace_one_keeps_id_and_drops_other_fields(mongo_db: Db) -> None:
    await mongo_db.c.insert_one({"_id": 1, "a": 1, "b": 2})
    result = await mongo_db.c.replace_one({"_id": 1}, {"c": 3})
    assert result.modified_count == 1
    assert await mongo_db.c.find_one({"_id": 1}) == {"_id": 1, "c": 3}


async def test_nested_dotted_paths(mongo_db: Db) -> None:
    await mongo_db.c.insert_one({"_id": 1, "meta": {"host": {"name": "a"}, "n": 1}})
    await mongo_db.c.update_one({"meta.host.name": "a"}, {"$set": {"meta.host.port": 22}})
    await mongo_db.c.update_one({"_id": 1}, {"$inc": {"meta.n": 2}})
    doc = await mongo_db.c.find_one({"meta.host.port": 22}, {"_id": 0})
    assert doc == {"meta": {"host": {"name": "a", "port": 22}, "n": 3}}


# --- unique indexes --------------------------------------------------------------------------


async def test_unique_index_rejects_duplicate_insert(mongo_db: Db) -> None:
    await mongo_db.users.create_index("email", unique=True)
    await mongo_db.users.insert_one({"email": "a@example.com"})
    with pytest.raises(DuplicateKeyError) as caught:
        await mongo_db.users.insert_one({"email": "a@example.com"})
    assert caught.value.code == 11000
    assert "E11000 duplicate key error" in str(caught.value)
    assert "email_1" in str(caught.value)
    assert await mongo_db.users.count_documents({}) == 1


async def test_duplicate_id_is_a_duplicate_key_error(mongo_db: Db) -> None:
    await mongo_db.c.insert_one({"_id": 7})
    with pytest.raises(DuplicateKeyError) as caught:
        await mongo_db.c.insert_one({"_id": 7})
    assert caught.value.code == 11000
    assert "_id_" in str(caught.value)


async def test_insert_many_ordered_stops_at_first_duplicate(mongo_db: Db) -> None:
    await mongo_db.users.create_index("email", unique=True)
    docs = [{"email": "a"}, {"email": "b"}, {"email": "a"}, {"email": "c"}]
    with pytest.raises(BulkWriteError) as caught:
        await mongo_db.users.insert_many(docs, ordered=True)
    details = caught.value.details
    assert details["nInserted"] == 2
    assert [(e["index"], e["code"]) for e in details["writeErrors"]] == [(2, 11000)]
    assert sorted(await mongo_db.users.distinct("email")) == ["a", "b"]


async def test_insert_many_unordered_continues_past_duplicates(mongo_db: Db) -> None:
    await mongo_db.users.create_index("email", unique=True)
    docs = [{"email": "a"}, {"email": "a"}, {"email": "b"}, {"email": "b"}, {"email": "c"}]
    with pytest.raises(BulkWriteError) as caught:
        await mongo_db.users.insert_many(docs, ordered=False)
    details = caught.value.details
    assert details["nInserted"] == 3
    assert [(e["index"], e["code"]) for e in details["writeErrors"]] == [(1, 11000), (3, 11000)]
    assert sorted(await mongo_db.users.distinct("email")) == ["a", "b", "c"]


async def test_update_into_a_duplicate_is_rejected_and_leaves_the_document(mongo_db: Db) -> None:
    await mongo_db.users.create_index("email", unique=True)
    await mongo_db.users.insert_many([{"_id": 1, "email": "a"}, {"_id": 2, "email": "b"}])
    with pytest.raises(DuplicateKeyError) as caught:
        await mongo_db.users.update_one({"_id": 2}, {"$set": {"email": "a"}})
    assert caught.value.code == 11000
    with pytest.raises(DuplicateKeyError):
        await mongo_db.users.find_one_and_update({"_id": 2}, {"$set": {"email": "a"}})
    assert await mongo_db.users.find_one({"_id": 2}) == {"_id": 2, "email": "b"}


async def test_create_index_is_idempotent_and_listed_as_unique(mongo_db: Db) -> None:
    first = await mongo_db.users.create_index([("email", ASCENDING)], unique=True)
    second = await mongo_db.users.create_index([("email", ASCENDING)], unique=True)
    assert first == second == "email_1"
    await mongo_db.users.create_index([("user", ASCENDING), ("createdAt", DESCENDING)])
    indexes = {ix["name"]: ix async for ix in await mongo_db.users.list_indexes()}
    assert set(indexes) == {"_id_", "email_1", "user_1_createdAt_-1"}
    assert indexes["email_1"]["unique"] is True
    assert dict(indexes["email_1"]["key"]) == {"email": 1}
    assert not indexes["user_1_createdAt_-1"].get("unique", False)
    info = await mongo_db.users.index_information()
    assert info["email_1"]["unique"] is True


async def test_drop_index(mongo_db: Db) -> None:
    await mongo_db.users.create_index("email", unique=True)
    await mongo_db.users.drop_index("email_1")
    assert set(await mongo_db.users.index_information()) == {"_id_"}
    await mongo_db.users.insert_many([{"email": "a"}, {"email": "a"}])


# --- atomic find-and-modify ------------------------------------------------------------------


async def test_find_one_and_update_as_a_lock(mongo_db: Db) -> None:
    drone = ObjectId()
    await mongo_db.drones.insert_one({"_id": drone, "lockedBy": None, "status": "online"})
    lock = {"_id": drone, "lockedBy": None}
    won = await mongo_db.drones.find_one_and_update(
        lock, {"$set": {"lockedBy": "chat-1", "status": "busy"}}
    )
    assert won is not None and won["lockedBy"] is None  # the document before the update
    lost = await mongo_db.drones.find_one_and_update(lock, {"$set": {"lockedBy": "chat-2"}})
    assert lost is None
    assert (await mongo_db.drones.find_one({"_id": drone}) or {})["lockedBy"] == "chat-1"


async def test_concurrent_lock_attempts_have_exactly_one_winner(mongo_db: Db) -> None:
    drone = ObjectId()
    await mongo_db.drones.insert_one({"_id": drone, "lockedBy": None})

    async def attempt(n: int) -> Doc | None:
        return await mongo_db.drones.find_one_and_update(
            {"_id": drone, "lockedBy": None},
            {"$set": {"lockedBy": f"chat-{n}"}},
            return_document=ReturnDocument.AFTER,
        )

    results = await asyncio.gather(*(attempt(n) for n in range(20)))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    stored = await mongo_db.drones.find_one({"_id": drone})
    assert stored is not None and stored["lockedBy"] == winners[0]["lockedBy"]


async def test_find_one_and_update_return_document(mongo_db: Db) -> None:
    await mongo_db.c.insert_one({"_id": 1, "n": 1})
    before = await mongo_db.c.find_one_and_update({"_id": 1}, {"$inc": {"n": 1}})
    after = await mongo_db.c.find_one_and_update(
        {"_id": 1}, {"$inc": {"n": 1}}, return_document=ReturnDocument.AFTER
    )
    assert (before, after) == ({"_id": 1, "n": 1}, {"_id": 1, "n": 3})


async def test_find_one_and_update_upsert_sort_and_projection(mongo_db: Db) -> None:
    created = await mongo_db.c.find_one_and_update(
        {"k": "x"}, {"$set": {"v": 1}}, upsert=True, return_document=ReturnDocument.AFTER
    )
    assert created is not None and created["k"] == "x" and created["v"] == 1
    await mongo_db.c.insert_many([{"k": "y", "v": 5}, {"k": "y", "v": 9}])
    top = await mongo_db.c.find_one_and_update(
        {"k": "y"},
        {"$set": {"picked": True}},
        sort=[("v", DESCENDING)],
        projection={"_id": 0, "v": 1},
        return_document=ReturnDocument.AFTER,
    )
    assert top == {"v": 9}


async def test_find_one_and_delete(mongo_db: Db) -> None:
    await mongo_db.c.insert_many([{"_id": 1, "q": 1}, {"_id": 2, "q": 1}])
    gone = await mongo_db.c.find_one_and_delete({"q": 1}, sort=[("_id", DESCENDING)])
    assert gone == {"_id": 2, "q": 1}
    assert await _ids(mongo_db.c.find()) == [1]
    assert await mongo_db.c.find_one_and_delete({"q": 99}) is None


# --- queries ---------------------------------------------------------------------------------


async def test_count_documents_and_estimated_count(mongo_db: Db) -> None:
    await mongo_db.c.insert_many([{"kind": "a" if i % 3 else "b", "i": i} for i in range(30)])
    assert await mongo_db.c.count_documents({}) == 30
    assert await mongo_db.c.count_documents({"kind": "b"}) == 10
    assert await mongo_db.c.count_documents({"kind": "a"}, skip=5, limit=10) == 10
    assert await mongo_db.c.count_documents({"kind": "zzz"}) == 0
    assert await mongo_db.c.estimated_document_count() == 30
    assert await mongo_db.missing.estimated_document_count() == 0


async def test_sorts_limit_and_skip(mongo_db: Db) -> None:
    rows = [{"_id": i, "group": i % 2, "score": (i * 7) % 5} for i in range(10)]
    await mongo_db.c.insert_many(rows)
    asc = await _ids(mongo_db.c.find().sort("_id", ASCENDING))
    desc = await _ids(mongo_db.c.find().sort("_id", DESCENDING))
    assert asc == list(range(10)) and desc == list(range(9, -1, -1))
    multi = await _ids(mongo_db.c.find().sort([("group", ASCENDING), ("score", DESCENDING)]))
    expected = [r["_id"] for r in sorted(rows, key=lambda r: (r["group"], -r["score"]))]
    assert multi == expected
    page = await _ids(mongo_db.c.find().sort("_id", ASCENDING).skip(3).limit(4))
    assert page == [3, 4, 5, 6]


async def test_batches_across_get_more_yield_every_document_once(mongo_db: Db) -> None:
    await mongo_db.c.insert_many([{"_id": i} for i in range(1000)])
    seen = await _ids(mongo_db.c.find().sort("_id", ASCENDING).batch_size(7))
    assert seen == list(range(1000))


async def test_closing_a_cursor_early_is_clean(mongo_db: Db) -> None:
    await mongo_db.c.insert_many([{"_id": i} for i in range(50)])
    cursor = mongo_db.c.find().sort("_id", ASCENDING).batch_size(5)
    assert [await cursor.next() for _ in range(6)] == [{"_id": i} for i in range(6)]
    await cursor.close()
    assert await mongo_db.c.count_documents({}) == 50


async def test_projection(mongo_db: Db) -> None:
    await mongo_db.c.insert_one({"_id": 1, "a": 1, "b": {"c": 2, "d": 3}, "e": 4})
    assert await mongo_db.c.find_one({}, {"a": 1, "b.c": 1}) == {"_id": 1, "a": 1, "b": {"c": 2}}
    assert await mongo_db.c.find_one({}, {"_id": 0, "b": 0}) == {"a": 1, "e": 4}


async def test_delete_many_and_delete_one(mongo_db: Db) -> None:
    await mongo_db.c.insert_many([{"run": "r1"} for _ in range(4)])
    await mongo_db.c.insert_many([{"run": "r2"} for _ in range(3)])
    assert (await mongo_db.c.delete_one({"run": "r2"})).deleted_count == 1
    assert (await mongo_db.c.delete_many({"run": "r1"})).deleted_count == 4
    assert (await mongo_db.c.delete_many({"run": "r1"})).deleted_count == 0
    assert await mongo_db.c.distinct("run") == ["r2"]
    assert await mongo_db.c.count_documents({}) == 2


async def test_distinct_with_filter(mongo_db: Db) -> None:
    await mongo_db.c.insert_many(
        [{"k": "a", "v": 1}, {"k": "b", "v": 1}, {"k": "a", "v": 2}, {"k": "c", "v": 2}]
    )
    assert sorted(await mongo_db.c.distinct("k")) == ["a", "b", "c"]
    assert sorted(await mongo_db.c.distinct("k", {"v": 2})) == ["a", "c"]


async def test_exists_and_ne_none(mongo_db: Db) -> None:
    await mongo_db.c.insert_many(
        [{"_id": 1, "lockedBy": "x"}, {"_id": 2, "lockedBy": None}, {"_id": 3}]
    )
    assert await _ids(mongo_db.c.find({"lockedBy": {"$exists": True}}).sort("_id")) == [1, 2]
    assert await _ids(mongo_db.c.find({"lockedBy": {"$exists": False}})) == [3]
    assert await _ids(mongo_db.c.find({"lockedBy": {"$ne": None}})) == [1]
    assert await _ids(mongo_db.c.find({"lockedBy": None}).sort("_id")) == [2, 3]


async def test_datetime_round_trip_and_range(mongo_db: Db, mongo_uri: str) -> None:
    when = datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=datetime.UTC)
    await mongo_db.c.insert_many(
        [
            {"_id": "old", "at": when - datetime.timedelta(hours=1)},
            {"_id": "now", "at": when},
        ]
    )
    naive = await mongo_db.c.find_one({"_id": "now"})
    assert naive is not None
    assert naive["at"] == datetime.datetime(2024, 5, 6, 7, 8, 9, 123000)  # ms, naive UTC
    aware_client: pymongo.AsyncMongoClient[Doc] = pymongo.AsyncMongoClient(
        mongo_uri, tz_aware=True, serverSelectionTimeoutMS=5000
    )
    try:
        aware = await aware_client[mongo_db.name].c.find_one({"_id": "now"})
    finally:
        await aware_client.close()
    assert aware is not None
    assert aware["at"] == when.replace(microsecond=123000)
    assert aware["at"].utcoffset() == datetime.timedelta(0)
    assert await _ids(mongo_db.c.find({"at": {"$lt": when}})) == ["old"]
    assert await _ids(mongo_db.c.find({"at": {"$gte": when}})) == ["now"]


async def test_aggregate_match_group_sum(mongo_db: Db) -> None:
    await mongo_db.c.insert_many([{"k": "a", "n": 1}, {"k": "a", "n": 2}, {"k": "b", "n": 5}])
    cursor = await mongo_db.c.aggregate(
        [
            {"$match": {"n": {"$gte": 1}}},
            {"$group": {"_id": "$k", "total": {"$sum": "$n"}}},
            {"$sort": {"_id": 1}},
        ]
    )
    assert [doc async for doc in cursor] == [{"_id": "a", "total": 3}, {"_id": "b", "total": 5}]


# --- collections and databases ---------------------------------------------------------------


async def test_list_collection_names_and_drop(mongo_db: Db) -> None:
    await mongo_db.users.insert_one({})
    await mongo_db.create_collection("projects")
    assert sorted(await mongo_db.list_collection_names()) == ["projects", "users"]
    assert await mongo_db.list_collection_names(filter={"name": "users"}) == ["users"]
    await mongo_db.drop_collection("users")
    await mongo_db.drop_collection("never-existed")
    assert await mongo_db.list_collection_names() == ["projects"]


async def test_drop_database(mongo_db: Db) -> None:
    client = mongo_db.client
    other = client[f"{mongo_db.name}_x"]
    await other.c.insert_one({"a": 1})
    assert other.name in await client.list_database_names()
    await client.drop_database(other.name)
    assert other.name not in await client.list_database_names()
    assert await other.c.count_documents({}) == 0


def test_sync_client_round_trip(sync_mongo_db: Database[Doc]) -> None:
    oid = ObjectId()
    sync_mongo_db.c.create_index("k", unique=True)
    sync_mongo_db.c.insert_many([{"k": 1, "ref": oid}, {"k": 2, "ref": str(oid)}])
    assert [d["k"] for d in sync_mongo_db.c.find({"ref": oid})] == [1]
    with pytest.raises(DuplicateKeyError):
        sync_mongo_db.c.insert_one({"k": 1})
    updated = sync_mongo_db.c.find_one_and_update(
        {"k": 2}, {"$set": {"seen": True}}, return_document=ReturnDocument.AFTER
    )
    assert updated is not None and updated["seen"] is True
    assert sync_mongo_db.c.count_documents({"seen": True}) == 1
