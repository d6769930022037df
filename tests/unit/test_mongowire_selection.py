"""The stand-in's selection shortcut picks what mongomock's full scan picks, in its order."""

from __future__ import annotations

import datetime
import itertools
import random
from typing import Any

import mongomock
import pytest
from bson.objectid import ObjectId

from harness.mongowire.selection import scan, select

_IDS = [ObjectId() for _ in range(4)]
_VALUES: list[Any] = [None, 0, 1, 1.0, True, False, "a", "1", _IDS[0], _IDS[1], str(_IDS[0]),
                      [1, 2], ["a"], [_IDS[0]], [], {"x": 1}, {}, datetime.datetime(2020, 1, 1)]


def _collection() -> Any:
    rng = random.Random(7)
    collection = mongomock.MongoClient().db.things
    ids: list[Any] = [*_IDS, 5, "6", 7.0, 8]
    documents = []
    for index, id_ in enumerate(ids):
        document: dict[str, Any] = {"_id": id_}
        for field in ("a", "b"):
            if rng.random() < 0.8:
                document[field] = rng.choice(_VALUES)
        document["n"] = index
        documents.append(document)
    collection.insert_many(documents)
    return collection


def _filters() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [{}]
    keys = ("_id", "a", "b", "a.x")
    for key, value in itertools.product(keys, [*_VALUES, 5, "6", 7, 8.0]):
        found += [{key: value}, {key: {"$ne": value}}, {key: {"$in": [value]}}]
    for value in _VALUES:
        found += [{"_id": _IDS[0], "a": value}, {"a": value, "b": "a"},
                  {"$or": [{"a": value}, {"b": value}]}]
    return found


@pytest.mark.parametrize("filter_", _filters(), ids=repr)
def test_select_answers_as_the_full_scan(filter_: dict[str, Any]) -> None:
    collection = _collection()
    try:
        expected: Any = list(scan(collection, filter_))
    except Exception as exc:  # an invalid filter: the same error either way
        with pytest.raises(type(exc)):
            list(select(collection, filter_))
        return
    assert list(select(collection, filter_)) == expected


def test_an_empty_collection_still_validates_the_filter() -> None:
    collection = mongomock.MongoClient().db.empty
    with pytest.raises(mongomock.OperationFailure):
        list(scan(collection, {"a": {"$bogus": 1}}))
    with pytest.raises(mongomock.OperationFailure):
        list(select(collection, {"a": {"$bogus": 1}}))
