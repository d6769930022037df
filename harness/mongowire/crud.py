"""Query and write commands, executed on mongomock and answered in mongod's reply shapes."""

from __future__ import annotations

from typing import Any

from bson.errors import BSONError
from bson.int64 import Int64
from bson.objectid import ObjectId
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError, WriteError
from pymongo.results import UpdateResult

from harness.mongowire.codes import (
    BAD_VALUE,
    COMMAND_NOT_SUPPORTED,
    CURSOR_NOT_FOUND,
    DUPLICATE_KEY,
    FAILED_TO_PARSE,
    TYPE_MISMATCH,
    CommandError,
)
from harness.mongowire.duplicates import duplicate_details, simulate_update
from harness.mongowire.state import Call, collection_name, get_document, get_int

Document = dict[str, Any]


def cursor_reply(cursor_id: Int64, ns: str, batch: list[Document], *, first: bool) -> Document:
    key = "firstBatch" if first else "nextBatch"
    return {"cursor": {key: batch, "id": cursor_id, "ns": ns}, "ok": 1.0}


def _sort_spec(cmd: Document) -> list[tuple[str, Any]] | None:
    sort = get_document(cmd, "sort")
    spec = [(k, v) for k, v in sort.items() if k != "$natural"]
    return spec or None


def _batch_size(cmd: Document, key: str = "batchSize") -> int | None:
    if cmd.get(key) is None:
        return None
    size = get_int(cmd, key)
    if size < 0:
        raise CommandError(BAD_VALUE, f"{key} must be non-negative, but received: {size}")
    return size


def _reject_collation(cmd: Document) -> None:
    if cmd.get("collation"):
        raise CommandError(COMMAND_NOT_SUPPORTED, "collation is not supported by the stand-in")


def find(call: Call, cmd: Document) -> Document:
    name = collection_name(cmd, "find")
    _reject_collation(cmd)
    skip, limit = get_int(cmd, "skip"), get_int(cmd, "limit")
    if skip < 0 or limit < 0:
        raise CommandError(BAD_VALUE, "skip and limit must be non-negative")
    projection = get_document(cmd, "projection") or None
    cursor = call.collection(name).find(get_document(cmd, "filter"), projection)
    sort = _sort_spec(cmd)
    if sort:
        cursor = cursor.sort(sort)
    if skip:
        cursor = cursor.skip(skip)
    if limit:
        cursor = cursor.limit(limit)
    ns = call.ns(name)
    single = bool(cmd.get("singleBatch", False))
    batch_size = _batch_size(cmd)
    if single and limit and batch_size is None:
        batch_size = limit
    cursor_id, batch = call.state.cursors.first_batch(
        ns, list(cursor), batch_size, single_batch=single
    )
    return cursor_reply(cursor_id, ns, batch, first=True)


def get_more(call: Call, cmd: Document) -> Document:
    cursor_id = cmd.get("getMore")
    if isinstance(cursor_id, bool) or not isinstance(cursor_id, int):
        raise CommandError(TYPE_MISMATCH, "getMore must be a cursor id of type long")
    cursor = call.state.cursors.get(cursor_id)
    if cursor is None:
        raise CommandError(CURSOR_NOT_FOUND, f"cursor id {cursor_id} not found")
    new_id, batch = call.state.cursors.next_batch(cursor, _batch_size(cmd))
    return cursor_reply(new_id, cursor.ns, batch, first=False)


def kill_cursors(call: Call, cmd: Document) -> Document:
    collection_name(cmd, "killCursors")
    ids = cmd.get("cursors")
    if not isinstance(ids, list):
        raise CommandError(TYPE_MISMATCH, "killCursors.cursors must be an array of cursor ids")
    killed: list[Int64] = []
    not_found: list[Int64] = []
    for cursor_id in ids:
        (killed if call.state.cursors.kill(cursor_id) else not_found).append(Int64(cursor_id))
    return {
        "cursorsKilled": killed,
        "cursorsNotFound": not_found,
        "cursorsAlive": [],
        "cursorsUnknown": [],
        "ok": 1.0,
    }


def _write_error(index: int, details: Document) -> Document:
    return {"index": index, **details}


def _ops(cmd: Document, key: str) -> list[Document]:
    ops = cmd.get(key)
    if not isinstance(ops, list) or not all(isinstance(op, dict) for op in ops):
        raise CommandError(TYPE_MISMATCH, f"{next(iter(cmd))}.{key} must be an array of objects")
    return ops


def _write_reply(n: int, errors: list[Document], **extra: Any) -> Document:
    reply: Document = {"n": n, **extra}
    if errors:
        reply["writeErrors"] = errors
    reply["ok"] = 1.0
    return reply


def insert(call: Call, cmd: Document) -> Document:
    name = collection_name(cmd, "insert")
    ordered = bool(cmd.get("ordered", True))
    collection, ns = call.collection(name), call.ns(name)
    n, errors = 0, []
    for index, document in enumerate(_ops(cmd, "documents")):
        if "_id" not in document:  # mongod puts a generated _id first
            document = {"_id": ObjectId(), **document}
        try:
            collection.insert_one(document)
            n += 1
            continue
        except DuplicateKeyError:
            errors.append(
                _write_error(index, duplicate_details(ns, collection, [document], is_update=False))
            )
        except (WriteError, ValueError, BSONError) as exc:
            errors.append(
                {
                    "index": index,
                    "code": getattr(exc, "code", None) or BAD_VALUE,
                    "errmsg": str(exc),
                }
            )
        if ordered:
            break
    return _write_reply(n, errors)


def _is_replacement(update: Any) -> bool:
    return isinstance(update, dict) and not any(k.startswith("$") for k in update)


def _apply_update(
    collection: Collection[Document],
    query: Document,
    update: Document | list[Document],
    *,
    upsert: bool,
    multi: bool,
) -> UpdateResult:
    if isinstance(update, dict) and _is_replacement(update):
        if multi:
            raise CommandError(
                FAILED_TO_PARSE, "multi update is not supported for replacement-style update"
            )
        return collection.replace_one(query, update, upsert=upsert)
    if multi:
        return collection.update_many(query, update, upsert=upsert)
    return collection.update_one(query, update, upsert=upsert)


def _update_one_spec(call: Call, name: str, spec: Document) -> tuple[int, int, Any]:
    """Run one update statement: (matched, modified, upserted id or None)."""
    query = get_document(spec, "q")
    update = spec.get("u")
    if not isinstance(update, dict | list):
        raise CommandError(FAILED_TO_PARSE, "update.u must be an object or a pipeline array")
    if spec.get("arrayFilters"):
        raise CommandError(COMMAND_NOT_SUPPORTED, "arrayFilters are not supported by the stand-in")
    _reject_collation(spec)
    multi, upsert = bool(spec.get("multi", False)), bool(spec.get("upsert", False))
    result = _apply_update(call.collection(name), query, update, upsert=upsert, multi=multi)
    return result.matched_count, result.modified_count, result.upserted_id


def _update_duplicate(call: Call, name: str, spec: Document) -> Document:
    collection, query, update = call.collection(name), spec.get("q") or {}, spec.get("u")
    upsert = bool(spec.get("upsert", False))
    originals = list(collection.find(query))
    candidates = [simulate_update(doc, query, update, upsert=False) for doc in originals]
    if not originals and upsert:
        candidates = [simulate_update(None, query, update, upsert=True)]
    found = [c for c in candidates if c is not None]
    return duplicate_details(call.ns(name), collection, found, is_update=True)


def update(call: Call, cmd: Document) -> Document:
    name = collection_name(cmd, "update")
    ordered = bool(cmd.get("ordered", True))
    n = modified = 0
    errors: list[Document] = []
    upserted: list[Document] = []
    for index, spec in enumerate(_ops(cmd, "updates")):
        try:
            matched, changed, upserted_id = _update_one_spec(call, name, spec)
        except DuplicateKeyError:
            errors.append(_write_error(index, _update_duplicate(call, name, spec)))
        except CommandError as exc:
            errors.append({"index": index, "code": exc.code, "errmsg": exc.errmsg})
        except (WriteError, ValueError, BSONError) as exc:
            errors.append(
                {
                    "index": index,
                    "code": getattr(exc, "code", None) or BAD_VALUE,
                    "errmsg": str(exc),
                }
            )
        else:
            n += matched
            modified += changed
            if upserted_id is not None:
                n += 1
                upserted.append({"index": index, "_id": upserted_id})
            continue
        if ordered:
            break
    extra: Document = {"nModified": modified}
    if upserted:
        extra["upserted"] = upserted
    return _write_reply(n, errors, **extra)


def delete(call: Call, cmd: Document) -> Document:
    name = collection_name(cmd, "delete")
    collection = call.collection(name)
    n = 0
    for spec in _ops(cmd, "deletes"):
        _reject_collation(spec)
        query, limit = get_document(spec, "q"), get_int(spec, "limit")
        if limit not in (0, 1):
            raise CommandError(FAILED_TO_PARSE, "The limit field in delete objects must be 0 or 1")
        result = collection.delete_one(query) if limit else collection.delete_many(query)
        n += result.deleted_count
    return _write_reply(n, [])


def find_and_modify(call: Call, cmd: Document) -> Document:
    name = collection_name(cmd, "findAndModify")
    _reject_collation(cmd)
    collection = call.collection(name)
    query, fields = get_document(cmd, "query"), get_document(cmd, "fields") or None
    remove, upsert, new = (bool(cmd.get(k, False)) for k in ("remove", "upsert", "new"))
    update_doc = cmd.get("update")
    if remove == (update_doc is not None):
        raise CommandError(FAILED_TO_PARSE, "Either an update or remove=true must be specified")
    if remove and (upsert or new):
        raise CommandError(
            FAILED_TO_PARSE,
            "Cannot specify both upsert=true and remove=true"
            if upsert
            else "Cannot specify both new=true and remove=true",
        )
    if not remove and not isinstance(update_doc, dict | list):
        raise CommandError(FAILED_TO_PARSE, "findAndModify.update must be an object or array")
    assert remove or isinstance(update_doc, dict | list)
    sort = _sort_spec(cmd)
    found = collection.find(query, {"_id": 1})
    existing = next(iter(found.sort(sort) if sort else found), None)
    if remove:
        if existing is None:
            return {"lastErrorObject": {"n": 0}, "value": None, "ok": 1.0}
        value = collection.find_one({"_id": existing["_id"]}, fields)
        collection.delete_one({"_id": existing["_id"]})
        return {"lastErrorObject": {"n": 1}, "value": value, "ok": 1.0}
    assert isinstance(update_doc, dict | list)
    last_error: Document = {"n": 0, "updatedExisting": False}
    value = None
    try:
        if existing is not None:
            target = {**query, "_id": existing["_id"]}  # keeps the query for positional $
            if not new:
                value = collection.find_one({"_id": existing["_id"]}, fields)
            _apply_update(collection, target, update_doc, upsert=False, multi=False)
            if new:
                value = collection.find_one({"_id": existing["_id"]}, fields)
            last_error = {"n": 1, "updatedExisting": True}
        elif upsert:
            result = _apply_update(collection, query, update_doc, upsert=True, multi=False)
            if new:
                value = collection.find_one({"_id": result.upserted_id}, fields)
            last_error = {"n": 1, "updatedExisting": False, "upserted": result.upserted_id}
    except DuplicateKeyError:
        details = _update_duplicate(call, name, {"q": query, "u": update_doc, "upsert": upsert})
        raise CommandError(
            DUPLICATE_KEY,
            details["errmsg"],
            **{k: v for k, v in details.items() if k not in ("code", "errmsg")},
        ) from None
    return {"lastErrorObject": last_error, "value": value, "ok": 1.0}


def count(call: Call, cmd: Document) -> Document:
    name = collection_name(cmd, "count")
    _reject_collation(cmd)
    skip, limit = get_int(cmd, "skip"), abs(get_int(cmd, "limit"))
    kwargs: dict[str, Any] = {"skip": skip}
    if limit:
        kwargs["limit"] = limit
    n = call.collection(name).count_documents(get_document(cmd, "query"), **kwargs)
    return {"n": n, "ok": 1.0}


def distinct(call: Call, cmd: Document) -> Document:
    name = collection_name(cmd, "distinct")
    _reject_collation(cmd)
    key = cmd.get("key")
    if not isinstance(key, str):
        raise CommandError(TYPE_MISMATCH, "distinct.key must be a string")
    values = call.collection(name).distinct(key, get_document(cmd, "query"))
    return {"values": values, "ok": 1.0}


def aggregate(call: Call, cmd: Document) -> Document:
    name = collection_name(cmd, "aggregate")
    _reject_collation(cmd)
    pipeline = cmd.get("pipeline")
    if not isinstance(pipeline, list) or not all(isinstance(s, dict) for s in pipeline):
        raise CommandError(TYPE_MISMATCH, "aggregate.pipeline must be an array of objects")
    if "cursor" not in cmd and not cmd.get("explain"):
        raise CommandError(FAILED_TO_PARSE, "The 'cursor' option is required")
    results = list(call.collection(name).aggregate(pipeline))
    ns = call.ns(name)
    cursor_options = get_document(cmd, "cursor")
    cursor_id, batch = call.state.cursors.first_batch(ns, results, _batch_size(cursor_options))
    return cursor_reply(cursor_id, ns, batch, first=True)


__all__ = [
    "aggregate",
    "count",
    "cursor_reply",
    "delete",
    "distinct",
    "find",
    "find_and_modify",
    "get_more",
    "insert",
    "kill_cursors",
    "update",
]
