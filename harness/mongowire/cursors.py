"""Open cursors: materialised query results served batch by batch through ``getMore``."""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import bson
from bson.int64 import Int64

Document = dict[str, Any]

DEFAULT_FIRST_BATCH = 101
MAX_BATCH_BYTES = 16 * 1024 * 1024


@dataclass
class Cursor:
    """The unsent remainder of one query's results."""

    id: Int64
    ns: str
    remaining: deque[Document] = field(default_factory=deque)


def take_batch(remaining: deque[Document], batch_size: int | None) -> list[Document]:
    """Pop up to ``batch_size`` documents (all if None or 0), stopping near 16 MiB."""
    limit = batch_size if batch_size else len(remaining)
    batch: list[Document] = []
    size = 0
    while remaining and len(batch) < limit:
        size += len(bson.encode(remaining[0]))
        if batch and size > MAX_BATCH_BYTES:
            break
        batch.append(remaining.popleft())
    return batch


class CursorRegistry:
    """Cursor ids (always BSON Int64, never 0) to open cursors."""

    def __init__(self) -> None:
        self._cursors: dict[int, Cursor] = {}

    def __len__(self) -> int:
        return len(self._cursors)

    def first_batch(
        self,
        ns: str,
        documents: Iterable[Document],
        batch_size: int | None,
        *,
        single_batch: bool = False,
    ) -> tuple[Int64, list[Document]]:
        """Split off the first batch; keep the rest under a new cursor id (0 if none left)."""
        remaining = deque(documents)
        size = DEFAULT_FIRST_BATCH if batch_size is None else batch_size
        batch = take_batch(remaining, size) if size else take_batch(remaining, None)
        if single_batch or not remaining:
            return Int64(0), batch
        cursor_id = Int64(secrets.randbits(62) + 1)
        self._cursors[int(cursor_id)] = Cursor(cursor_id, ns, remaining)
        return cursor_id, batch

    def get(self, cursor_id: int) -> Cursor | None:
        return self._cursors.get(int(cursor_id))

    def next_batch(self, cursor: Cursor, batch_size: int | None) -> tuple[Int64, list[Document]]:
        """The next batch of ``cursor``; the id is 0 once the cursor is exhausted and closed."""
        batch = take_batch(cursor.remaining, batch_size)
        if not cursor.remaining:
            self._cursors.pop(int(cursor.id), None)
            return Int64(0), batch
        return cursor.id, batch

    def kill(self, cursor_id: int) -> bool:
        """Close a cursor; False if no such cursor was open."""
        return self._cursors.pop(int(cursor_id), None) is not None


__all__ = ["Cursor", "CursorRegistry", "take_batch"]
