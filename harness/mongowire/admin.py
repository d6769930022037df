"""Collection, index and database commands."""

from __future__ import annotations

from typing import Any

from mongomock.filtering import filter_applies
from pymongo.errors import DuplicateKeyError

from harness.mongowire.codes import (
    BAD_VALUE,
    DUPLICATE_KEY,
    INDEX_KEY_SPECS_CONFLICT,
    INDEX_NOT_FOUND,
    INDEX_OPTIONS_CONFLICT,
    INVALID_OPTIONS,
    NAMESPACE_EXISTS,
    NAMESPACE_NOT_FOUND,
    TYPE_MISMATCH,
    CommandError,
)
from harness.mongowire.crud import cursor_reply
from harness.mongowire.state import Call, collection_name, get_document

Document = dict[str, Any]


def _matches(query: Document, document: Document) -> bool:
    matched: bool = filter_applies(query, document)  # type: ignore[no-untyped-call]
    return matched


_INDEX_OPTIONS = ("unique", "sparse", "expireAfterSeconds", "partialFilterExpression")


def _index_documents(call: Call, name: str) -> list[Document]:
    documents = []
    for index_name, info in call.collection(name).index_information().items():
        document: Document = {"v": 2, "key": dict(info["key"]), "name": index_name}
        document.update({k: info[k] for k in _INDEX_OPTIONS if k in info})
        documents.append(document)
    return documents


def _require_collection(call: Call, name: str) -> None:
    if not call.collection_exists(name):
        raise CommandError(NAMESPACE_NOT_FOUND, f"ns does not exist: {call.ns(name)}")


def _same_options(existing: Document, requested: Document) -> bool:
    return all(
        bool(existing.get(k)) == bool(requested.get(k))
        if k in ("unique", "sparse")
        else existing.get(k) == requested.get(k)
        for k in _INDEX_OPTIONS
    )


def create_indexes(call: Call, cmd: Document) -> Document:
    name = collection_name(cmd, "createIndexes")
    specs = cmd.get("indexes")
    if not isinstance(specs, list) or not specs or not all(isinstance(s, dict) for s in specs):
        raise CommandError(BAD_VALUE, "createIndexes.indexes must be a non-empty array of objects")
    created_automatically = not call.collection_exists(name)
    collection = call.collection(name)
    if created_automatically:
        call.database().create_collection(name)
    existing = {d["name"]: d for d in _index_documents(call, name)}
    before = len(existing)
    for spec in specs:
        key, index_name = spec.get("key"), spec.get("name")
        if not isinstance(key, dict) or not key or not isinstance(index_name, str):
            raise CommandError(BAD_VALUE, "each index needs a non-empty 'key' object and a 'name'")
        same_name = existing.get(index_name)
        if same_name is not None:
            if same_name["key"] != key or not _same_options(same_name, spec):
                raise CommandError(
                    INDEX_KEY_SPECS_CONFLICT if same_name["key"] != key else INDEX_OPTIONS_CONFLICT,
                    f"An existing index has the same name as the requested index. "
                    f"When index names are not specified, they are auto generated and can "
                    f"cause conflicts. Please refer to our documentation. Requested index: "
                    f"{spec}, existing index: {same_name}",
                )
            continue
        same_key = next((d for d in existing.values() if d["key"] == key), None)
        if same_key is not None:
            raise CommandError(
                INDEX_OPTIONS_CONFLICT,
                f"Index already exists with a different name: {same_key['name']}",
            )
        options = {k: spec[k] for k in _INDEX_OPTIONS if k in spec}
        try:
            collection.create_index(list(key.items()), name=index_name, **options)
        except DuplicateKeyError:
            raise CommandError(
                DUPLICATE_KEY,
                f"Index build failed: E11000 duplicate key error collection: "
                f"{call.ns(name)} index: {index_name}",
            ) from None
        existing[index_name] = {"key": key, "name": index_name, **options}
    reply: Document = {
        "numIndexesBefore": before,
        "numIndexesAfter": len(existing),
        "createdCollectionAutomatically": created_automatically,
        "ok": 1.0,
    }
    if len(existing) == before:
        reply["note"] = "all indexes already exist"
    return reply


def list_indexes(call: Call, cmd: Document) -> Document:
    name = collection_name(cmd, "listIndexes")
    _require_collection(call, name)
    ns = call.ns(name)
    cursor_id, batch = call.state.cursors.first_batch(
        ns, _index_documents(call, name), get_document(cmd, "cursor").get("batchSize")
    )
    return cursor_reply(cursor_id, ns, batch, first=True)


def drop_indexes(call: Call, cmd: Document) -> Document:
    name = collection_name(cmd, "dropIndexes")
    _require_collection(call, name)
    indexes = _index_documents(call, name)
    target = cmd.get("index")
    if target == "*":
        call.collection(name).drop_indexes()
        return {"nIndexesWas": len(indexes), "ok": 1.0}
    if isinstance(target, dict):
        match = next((d for d in indexes if d["key"] == target), None)
        if match is None:
            raise CommandError(INDEX_NOT_FOUND, f"can't find index with key: {target}")
        names = [match["name"]]
    elif isinstance(target, str):
        names = [target]
    elif isinstance(target, list) and all(isinstance(t, str) for t in target):
        names = list(target)
    else:
        raise CommandError(TYPE_MISMATCH, "dropIndexes.index must be a string, object or array")
    known = {d["name"] for d in indexes}
    for index_name in names:
        if index_name == "_id_":
            raise CommandError(INVALID_OPTIONS, "cannot drop _id index")
        if index_name not in known:
            raise CommandError(INDEX_NOT_FOUND, f"index not found with name [{index_name}]")
    for index_name in names:
        call.collection(name).drop_index(index_name)
    return {"nIndexesWas": len(indexes), "ok": 1.0}


def create(call: Call, cmd: Document) -> Document:
    name = collection_name(cmd, "create")
    if call.collection_exists(name):
        raise CommandError(NAMESPACE_EXISTS, f"Collection {call.ns(name)} already exists.")
    call.database().create_collection(name)
    return {"ok": 1.0}


def drop(call: Call, cmd: Document) -> Document:
    name = collection_name(cmd, "drop")
    if not call.collection_exists(name):
        return {"ok": 1.0}  # MongoDB 7.0: dropping a missing collection succeeds
    indexes = len(call.collection(name).index_information())
    call.database().drop_collection(name)
    return {"nIndexesWas": indexes, "ns": call.ns(name), "ok": 1.0}


def list_collections(call: Call, cmd: Document) -> Document:
    name_filter = get_document(cmd, "filter")
    name_only = bool(cmd.get("nameOnly", False))
    documents = []
    for name in sorted(call.database().list_collection_names()):
        document: Document = {"name": name, "type": "collection"}
        if not name_only:
            document.update(
                options={},
                info={"readOnly": False},
                idIndex={"v": 2, "key": {"_id": 1}, "name": "_id_"},
            )
        if _matches(name_filter, document):
            documents.append(document)
    ns = call.ns("$cmd.listCollections")
    cursor_id, batch = call.state.cursors.first_batch(
        ns, documents, get_document(cmd, "cursor").get("batchSize")
    )
    return cursor_reply(cursor_id, ns, batch, first=True)


def list_databases(call: Call, cmd: Document) -> Document:
    db_filter = get_document(cmd, "filter")
    documents: list[Document] = []
    for name in sorted(call.state.client.list_database_names()):
        document: Document = {"name": name}
        if not cmd.get("nameOnly"):
            document.update(sizeOnDisk=8192, empty=False)
        if _matches(db_filter, document):
            documents.append(document)
    reply: Document = {"databases": documents}
    if not cmd.get("nameOnly"):
        reply["totalSize"] = 8192 * len(documents)
        reply["totalSizeMb"] = 0
    reply["ok"] = 1.0
    return reply


def drop_database(call: Call, cmd: Document) -> Document:
    call.state.client.drop_database(call.db)
    return {"ok": 1.0}


__all__ = [
    "create",
    "create_indexes",
    "drop",
    "drop_database",
    "drop_indexes",
    "list_collections",
    "list_databases",
    "list_indexes",
]
