"""The stand-in's ``_id`` shortcut gives mongomock's own answers and errors, without a scan."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import mongomock
import pytest
from bson.objectid import ObjectId
from mongomock.collection import Collection
from pymongo.errors import OperationFailure

from harness.mongowire import StandInServer, idlookup

KNOWN = ObjectId()
OTHER = ObjectId()


@pytest.fixture
def collection() -> Iterator[Any]:
    idlookup.install()
    docs = mongomock.MongoClient().d.c
    docs.insert_many([{"_id": KNOWN, "status": "running", "n": 1},
                      {"_id": "text-id", "status": "running"},
                      *({"status": "pending", "n": n} for n in range(50))])
    yield docs


@pytest.mark.parametrize("query", [
    {"_id": KNOWN},
    {"_id": KNOWN, "status": {"$in": ["pending", "running"]}},
    {"_id": KNOWN, "status": "complete"},
    {"_id": OTHER},
    {"_id": OTHER, "status": "running"},
    {"_id": "text-id"},
    {"status": "running", "_id": KNOWN},
    {"_id": {"$in": [KNOWN, OTHER]}},
    {"_id": KNOWN, "n": {"$gt": 0}},
])
def test_answers_as_the_scan_does(collection: Any, query: dict[str, Any]) -> None:
    scanned = list(idlookup._SCAN(collection, query))
    assert list(collection._iter_documents(query)) == scanned
    assert list(collection.find(query)) == scanned


def test_errors_as_the_scan_does(collection: Any) -> None:
    # A bad operator after the _id: only the document with that _id reaches it.
    bad = {"$bogus": 1}
    for found in (idlookup._SCAN(collection, {"_id": KNOWN, "n": bad}),
                  collection._iter_documents({"_id": KNOWN, "n": bad})):
        with pytest.raises(OperationFailure, match=r"unknown operator: \$bogus"):
            list(found)
    assert list(idlookup._SCAN(collection, {"_id": OTHER, "n": bad})) == []
    assert list(collection._iter_documents({"_id": OTHER, "n": bad})) == []


def test_updates_by_id_touch_only_their_document(collection: Any) -> None:
    result = collection.update_one({"_id": KNOWN, "status": {"$in": ["running"]}},
                                   {"$set": {"status": "complete"}})
    assert (result.matched_count, result.modified_count) == (1, 1)
    assert collection.count_documents({"status": "complete"}) == 1
    assert collection.update_one({"_id": OTHER}, {"$set": {"x": 1}}).matched_count == 0


def test_the_stand_in_installs_it() -> None:
    StandInServer()
    assert Collection._iter_documents is idlookup._iter_documents
