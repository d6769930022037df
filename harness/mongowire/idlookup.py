"""Find a document by ``_id`` through mongomock's key instead of a scan of its collection.

mongomock tests every query against every document of the collection
(``Collection._iter_documents``), where MongoDB finds ``{_id: X, ...}`` through its ``_id``
index. The relay writes each work order by ``_id`` (pending, running, complete), so with
the thousands of work orders of a load test or ``harness bench`` every write scanned them
all, and the stand-in became the busiest process of the run, slower by the minute.

``install()`` gives mongomock that shortcut for a filter whose *first* field is ``_id`` equal
to an ObjectId. The answers and errors stay mongomock's own: it stores each document under
its ``_id``, so no other document can match; and it tests a filter field by field, in order,
stopping at the first miss, so no other document would have got past that first field.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bson import ObjectId
from mongomock.collection import Collection
from mongomock.filtering import filter_applies

__all__ = ["install"]

_SCAN = Collection._iter_documents


def _iter_documents(self: Collection, query: Any) -> Iterator[dict[str, Any]]:
    if isinstance(query, dict) and query:
        field, value = next(iter(query.items()))
        if field == "_id" and type(value) is ObjectId:
            store = self._store
            found = [store[value]] if value in store else []
            return (document for document in found
                    if filter_applies(query, document))  # type: ignore[no-untyped-call]
    result: Iterator[dict[str, Any]] = _SCAN(self, query)  # type: ignore[no-untyped-call]
    return result


def install() -> None:
    """Make every mongomock collection of this process find by ``_id`` by key (idempotent)."""
    Collection._iter_documents = _iter_documents  # type: ignore[method-assign]
