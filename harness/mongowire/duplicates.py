"""Duplicate-key errors worded as mongod words them (mongomock only says "Duplicate Key Error").

``E11000 duplicate key error collection: db.users index: email_1 dup key: { email: "a@b.c" }``
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import mongomock
from bson.objectid import ObjectId

from harness.mongowire.codes import DUPLICATE_KEY

Document = dict[str, Any]
_MISSING = object()


def _get_dotted(document: Any, path: str) -> Any:
    value = document
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return _MISSING
    return value


def render_value(value: Any) -> str:
    """A value in mongod's extended-JSON-ish log notation."""
    if value is None or value is _MISSING:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, ObjectId):
        return f"ObjectId('{value}')"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.UTC)
        return f"new Date({int(value.timestamp() * 1000)})"
    if isinstance(value, dict):
        return render_document(value)
    if isinstance(value, list):
        return "[ " + ", ".join(render_value(v) for v in value) + " ]"
    return str(value)


def render_document(document: Document) -> str:
    if not document:
        return "{}"
    return "{ " + ", ".join(f"{k}: {render_value(v)}" for k, v in document.items()) + " }"


def find_violation(
    collection: mongomock.Collection[Document], candidate: Document, *, is_update: bool
) -> tuple[str, Document, Document] | None:
    """The unique index ``candidate`` collides on, as (name, keyPattern, keyValue), if any.

    For an insert the candidate is not stored yet; for an update the stored version of the
    same ``_id`` is not a collision.
    """
    doc_id = candidate.get("_id", _MISSING)
    for name, info in collection.index_information().items():
        if name == "_id_":
            if is_update or doc_id is _MISSING:
                continue
            if collection.find_one({"_id": doc_id}, {"_id": 1}) is not None:
                return name, {"_id": 1}, {"_id": doc_id}
            continue
        if not info.get("unique"):
            continue
        pattern = dict(info["key"])
        values = {field: _get_dotted(candidate, field) for field in pattern}
        if info.get("sparse") and all(v is _MISSING for v in values.values()):
            continue
        clauses: list[Document] = [
            {field: (None if v is _MISSING else v) for field, v in values.items()}
        ]
        if doc_id is not _MISSING:
            clauses.append({"_id": {"$ne": doc_id}})
        if info.get("partialFilterExpression"):
            clauses.append(info["partialFilterExpression"])
        if collection.find_one({"$and": clauses}, {"_id": 1}) is not None:
            shown = {field: (None if v is _MISSING else v) for field, v in values.items()}
            return name, pattern, shown
    return None


def duplicate_details(
    ns: str,
    collection: mongomock.Collection[Document],
    candidates: list[Document],
    *,
    is_update: bool,
) -> Document:
    """``{code, errmsg, keyPattern, keyValue}`` for the first candidate that collides."""
    for candidate in candidates:
        found = find_violation(collection, candidate, is_update=is_update)
        if found is not None:
            name, pattern, values = found
            return {
                "code": DUPLICATE_KEY,
                "errmsg": f"E11000 duplicate key error collection: {ns} index: {name} "
                f"dup key: {render_document(values)}",
                "keyPattern": pattern,
                "keyValue": values,
            }
    return {"code": DUPLICATE_KEY, "errmsg": f"E11000 duplicate key error collection: {ns}"}


def simulate_update(
    original: Document | None, query: Document, update: Any, *, upsert: bool
) -> Document | None:
    """The document an update would produce, computed on a scratch collection with no indexes."""
    client: mongomock.MongoClient[Document] = mongomock.MongoClient()
    scratch = client["scratch"]["scratch"]
    if original is not None:
        scratch.insert_one(dict(original))  # alone, so the original query still selects it
    is_replacement = isinstance(update, dict) and not any(k.startswith("$") for k in update)
    if is_replacement:
        result = scratch.replace_one(query, update, upsert=upsert)
    else:
        result = scratch.update_one(query, update, upsert=upsert)
    target = original["_id"] if original is not None else result.upserted_id
    found: Document | None = scratch.find_one({"_id": target})
    return found


__all__ = ["duplicate_details", "find_violation", "render_document", "simulate_update"]
