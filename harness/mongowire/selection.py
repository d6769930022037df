"""Document selection without a full scan where the filter allows it (mongod's ``_id`` index).

mongomock answers every find, update, delete and count by copying the whole collection and
running its generic matcher on each document (``Collection._iter_documents``). A relay under
load asks mostly by ``_id`` (a registration, a chat session, a work order), so the stand-in
spent its time matching hundreds of registrations and thousands of work orders per command
(500 drones connecting on 2 cores: lock and open acks past 10 s). ``install`` replaces that
one method, process-wide (the stand-in runs alone in its process), keeping its results and
their order:

- a filter whose ``_id`` is a plain value (an ObjectId, a string, a number) is answered from
  the store's map by ``_id``: that document if the whole filter applies to it, else nothing;
- otherwise a document whose top-level field holds a plain value of the same kind as the
  filter's plain value for that field (ObjectId, string, number, boolean), and a different
  one, is passed over before the generic matcher runs; anything else (arrays, documents,
  operators, dotted paths, ``null``, other types) goes to the matcher as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Final, cast

from bson.objectid import ObjectId
from mongomock import collection as mongomock_collection
from mongomock import filtering

__all__ = ["install", "scan", "select"]

Document = dict[str, Any]
_MISSING: Final = object()

_filter_applies = cast(Callable[[Any, Document], bool], filtering.filter_applies)
scan: Final = mongomock_collection.Collection._iter_documents
"""mongomock's own selection (a full scan), as it was before ``install``."""


def _kind(value: Any) -> type | None:
    """The comparison kind of a plain value (None: not plain, leave it to the matcher)."""
    if isinstance(value, bool):
        return bool
    if isinstance(value, int | float):
        return float
    if isinstance(value, str):
        return str
    if isinstance(value, ObjectId):
        return ObjectId
    return None


def _equalities(filter_: Any) -> list[tuple[str, Any, type]]:
    if not isinstance(filter_, dict):
        return []
    found = []
    for key, value in filter_.items():
        if isinstance(key, str) and not key.startswith("$") and "." not in key:
            kind = _kind(value)
            if kind is not None:
                found.append((key, value, kind))
    return found


def _passed_over(document: Document, equalities: list[tuple[str, Any, type]]) -> bool:
    for key, value, kind in equalities:
        held = document.get(key, _MISSING)
        if held is _MISSING:
            return True  # a plain non-null value never matches a missing field
        if _kind(held) is kind and held != value:
            return True
    return False


def select(collection: Any, filter_: Any) -> Iterator[Document]:
    """The stored documents of ``collection`` that ``filter_`` selects, in store order."""
    store = collection._store
    if store.is_empty:
        _filter_applies(filter_, {})  # mongomock validates the filter even then
        return iter(())
    equalities = _equalities(filter_)
    by_id = next((value for key, value, kind in equalities
                  if key == "_id" and kind is not bool), _MISSING)
    if by_id is not _MISSING:
        try:
            document = store[by_id]  # the store has no get()
        except KeyError:
            return iter(())
        return iter((document,) if _filter_applies(filter_, document) else ())
    documents = list(store.documents)
    if equalities:
        return (d for d in documents
                if not _passed_over(d, equalities) and _filter_applies(filter_, d))
    return (d for d in documents if _filter_applies(filter_, d))


def install() -> None:
    """Make every mongomock collection of this process select through ``select``."""
    mongomock_collection.Collection._iter_documents = select  # type: ignore[method-assign]
