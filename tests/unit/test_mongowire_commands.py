"""Command handlers on an in-memory state: reply shapes and error codes as mongod gives them."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from bson.int64 import Int64
from bson.objectid import ObjectId

import harness.mongowire
from harness.mongowire import commands
from harness.mongowire.commands import run_command
from harness.mongowire.duplicates import render_document
from harness.mongowire.state import Call, ServerState

Doc = dict[str, Any]


@pytest.fixture
def run() -> Any:
    state = ServerState()

    def _run(cmd: Doc, db: str = "d") -> Doc:
        return run_command(Call(state, db, 1), cmd)

    return _run


def _error(reply: Doc) -> tuple[float, int, str]:
    return reply["ok"], reply["code"], reply["codeName"]


def test_update_reply_counts_and_upserted(run: Any) -> None:
    run({"insert": "c", "documents": [{"_id": 1, "a": 1}, {"_id": 2, "a": 1}]})
    reply = run(
        {
            "update": "c",
            "updates": [
                {"q": {"a": 1}, "u": {"$set": {"b": 1}}, "multi": True},
                {"q": {"_id": 1}, "u": {"$set": {"b": 1}}},
                {"q": {"_id": 9}, "u": {"$set": {"b": 2}}, "upsert": True},
            ],
        }
    )
    assert reply == {"n": 4, "nModified": 2, "upserted": [{"index": 2, "_id": 9}], "ok": 1.0}


def test_ordered_update_stops_at_first_error_unordered_continues(run: Any) -> None:
    run({"createIndexes": "c", "indexes": [{"key": {"k": 1}, "name": "k_1", "unique": True}]})
    run({"insert": "c", "documents": [{"_id": 1, "k": 1}, {"_id": 2, "k": 2}]})
    bad = {"q": {"_id": 2}, "u": {"$set": {"k": 1}}}
    good = {"q": {"_id": 2}, "u": {"$set": {"x": 1}}}
    ordered = run({"update": "c", "updates": [bad, good]})
    assert ordered["n"] == 0 and [e["index"] for e in ordered["writeErrors"]] == [0]
    assert ordered["writeErrors"][0]["errmsg"] == (
        "E11000 duplicate key error collection: d.c index: k_1 dup key: { k: 1 }"
    )
    unordered = run({"update": "c", "updates": [bad, good], "ordered": False})
    assert unordered["n"] == 1 and unordered["nModified"] == 1


def test_replacement_with_multi_is_rejected(run: Any) -> None:
    reply = run({"update": "c", "updates": [{"q": {}, "u": {"a": 1}, "multi": True}]})
    assert reply["writeErrors"][0]["code"] == 9


def test_delete_limits(run: Any) -> None:
    run({"insert": "c", "documents": [{"k": 1}, {"k": 1}, {"k": 1}]})
    assert run({"delete": "c", "deletes": [{"q": {"k": 1}, "limit": 1}]}) == {"n": 1, "ok": 1.0}
    assert run({"delete": "c", "deletes": [{"q": {"k": 1}, "limit": 0}]}) == {"n": 2, "ok": 1.0}
    assert _error(run({"delete": "c", "deletes": [{"q": {}, "limit": 5}]}))[1] == 9


def test_find_and_modify_last_error_object(run: Any) -> None:
    upserted = run(
        {
            "findAndModify": "c",
            "query": {"k": 1},
            "update": {"$set": {"v": 1}},
            "upsert": True,
            "new": True,
        }
    )
    new_id = upserted["value"]["_id"]
    assert isinstance(new_id, ObjectId)
    assert upserted["lastErrorObject"] == {"n": 1, "updatedExisting": False, "upserted": new_id}
    updated = run({"findAndModify": "c", "query": {"k": 1}, "update": {"$inc": {"v": 1}}})
    assert updated["lastErrorObject"] == {"n": 1, "updatedExisting": True}
    assert updated["value"]["v"] == 1  # the document before
    missing = run({"findAndModify": "c", "query": {"k": 2}, "update": {"$inc": {"v": 1}}})
    assert missing == {
        "lastErrorObject": {"n": 0, "updatedExisting": False},
        "value": None,
        "ok": 1.0,
    }
    removed = run({"findAndModify": "c", "query": {"k": 1}, "remove": True, "fields": {"v": 1}})
    assert removed == {"lastErrorObject": {"n": 1}, "value": {"_id": new_id, "v": 2}, "ok": 1.0}
    assert _error(run({"findAndModify": "c", "query": {}}))[1] == 9
    assert _error(run({"findAndModify": "c", "remove": True, "new": True}))[1] == 9


def test_count_and_distinct(run: Any) -> None:
    run({"insert": "c", "documents": [{"k": i % 2} for i in range(10)]})
    assert run({"count": "c", "query": {"k": 1}}) == {"n": 5, "ok": 1.0}
    assert run({"count": "c", "query": {}, "skip": 8, "limit": 5})["n"] == 2
    assert run({"count": "nothing"})["n"] == 0
    assert sorted(run({"distinct": "c", "key": "k"})["values"]) == [0, 1]


def test_aggregate_needs_cursor_and_returns_one(run: Any) -> None:
    run({"insert": "c", "documents": [{"k": 1}, {"k": 2}]})
    pipeline = [{"$match": {}}, {"$group": {"_id": 1, "n": {"$sum": 1}}}]
    reply = run({"aggregate": "c", "pipeline": pipeline, "cursor": {}})
    assert reply["cursor"]["firstBatch"] == [{"_id": 1, "n": 2}]
    assert type(reply["cursor"]["id"]) is Int64
    assert _error(run({"aggregate": "c", "pipeline": pipeline}))[1] == 9


def test_index_commands(run: Any) -> None:
    spec = {"key": {"e": 1}, "name": "e_1", "unique": True}
    first = run({"createIndexes": "c", "indexes": [spec]})
    assert first == {
        "numIndexesBefore": 1,
        "numIndexesAfter": 2,
        "createdCollectionAutomatically": True,
        "ok": 1.0,
    }
    again = run({"createIndexes": "c", "indexes": [spec]})
    assert again["note"] == "all indexes already exist" and again["numIndexesAfter"] == 2
    conflict = run({"createIndexes": "c", "indexes": [{"key": {"e": 1}, "name": "e_1"}]})
    assert _error(conflict)[1] == 85
    renamed = run({"createIndexes": "c", "indexes": [{"key": {"e": 1}, "name": "other"}]})
    assert _error(renamed)[1] == 85
    listed = run({"listIndexes": "c"})["cursor"]["firstBatch"]
    assert listed == [
        {"v": 2, "key": {"_id": 1}, "name": "_id_"},
        {"v": 2, "key": {"e": 1}, "name": "e_1", "unique": True},
    ]
    assert _error(run({"listIndexes": "nope"})) == (0.0, 26, "NamespaceNotFound")
    assert _error(run({"dropIndexes": "c", "index": "_id_"}))[1] == 72
    assert _error(run({"dropIndexes": "c", "index": "zzz"}))[1] == 27
    assert run({"dropIndexes": "c", "index": {"e": 1}}) == {"nIndexesWas": 2, "ok": 1.0}


def test_unique_index_on_duplicates_fails(run: Any) -> None:
    run({"insert": "c", "documents": [{"e": 1}, {"e": 1}]})
    reply = run(
        {"createIndexes": "c", "indexes": [{"key": {"e": 1}, "name": "e_1", "unique": True}]}
    )
    assert _error(reply)[1] == 11000


def test_collections_and_databases(run: Any) -> None:
    assert run({"create": "a"}) == {"ok": 1.0}
    assert _error(run({"create": "a"})) == (0.0, 48, "NamespaceExists")
    run({"insert": "b", "documents": [{}]})
    names = run({"listCollections": 1, "nameOnly": True})["cursor"]["firstBatch"]
    assert names == [{"name": "a", "type": "collection"}, {"name": "b", "type": "collection"}]
    filtered = run({"listCollections": 1, "filter": {"name": "b"}})["cursor"]["firstBatch"]
    assert [c["name"] for c in filtered] == ["b"] and filtered[0]["options"] == {}
    run({"insert": "x", "documents": [{}]}, db="other")
    dbs = run({"listDatabases": 1, "nameOnly": True}, db="admin")
    assert dbs == {"databases": [{"name": "d"}, {"name": "other"}], "ok": 1.0}
    assert run({"drop": "a"})["ns"] == "d.a"
    assert run({"drop": "a"}) == {"ok": 1.0}
    assert run({"dropDatabase": 1}, db="other") == {"ok": 1.0}
    names_after = run({"listDatabases": 1, "nameOnly": True}, db="admin")["databases"]
    assert names_after == [{"name": "d"}]


def test_diagnostics(run: Any) -> None:
    assert run({"buildInfo": 1}, db="admin")["version"] == "7.0.0-standin"
    fcv = run({"getParameter": 1, "featureCompatibilityVersion": 1}, db="admin")
    assert fcv["featureCompatibilityVersion"] == {"version": "7.0"}
    assert _error(run({"getParameter": 1, "nonsense": 1}, db="admin"))[1] == 72
    status = run({"serverStatus": 1}, db="admin")
    assert status["process"] == "mongod" and isinstance(status["localTime"], datetime.datetime)
    assert run({"connectionStatus": 1})["authInfo"]["authenticatedUsers"] == []
    assert run({"endSessions": [{"id": 1}]}) == {"ok": 1.0}
    assert run({"ping": 1, "lsid": {"id": 1}, "$clusterTime": {}}) == {"ok": 1.0}


def test_errors_never_escape(run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(call: Call, cmd: Doc) -> Doc:
        raise RuntimeError("boom")

    monkeypatch.setitem(commands.HANDLERS, "ping", explode)
    assert run({"ping": 1}) == {
        "ok": 0.0,
        "errmsg": "RuntimeError: boom",
        "code": 1,
        "codeName": "InternalError",
    }
    assert _error(run({}))[1] == 2
    assert _error(run({"find": 5}))[1] == 73
    assert _error(run({"find": "c", "filter": {"$bogus": 1}}))[0] == 0.0


def test_duplicate_key_rendering() -> None:
    oid = ObjectId("0123456789abcdef01234567")
    when = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    rendered = render_document(
        {"u": oid, "s": 'a"b', "n": None, "t": True, "d": when, "x": {"y": [1, 2.5]}}
    )
    assert rendered == (
        '{ u: ObjectId(\'0123456789abcdef01234567\'), s: "a\\"b", n: null, t: true, '
        "d: new Date(1704067200000), x: { y: [ 1, 2.5 ] } }"
    )


def test_public_api() -> None:
    assert sorted(harness.mongowire.__all__) == ["StandInServer", "serve"]
    for name in harness.mongowire.__all__:
        assert getattr(harness.mongowire, name) is not None


def test_invalid_document_is_a_write_error(run: Any) -> None:
    reply = run({"insert": "c", "documents": [{"$bad": 1}, {"_id": 2}], "ordered": False})
    assert reply["n"] == 1 and reply["writeErrors"][0]["index"] == 0
    assert "$" in reply["writeErrors"][0]["errmsg"]
