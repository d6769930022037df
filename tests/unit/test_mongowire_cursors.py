"""Cursor registry: batching, Int64 ids, exhaustion and kill."""

from __future__ import annotations

from collections import deque

from bson.int64 import Int64

from harness.mongowire.cursors import (
    DEFAULT_FIRST_BATCH,
    MAX_BATCH_BYTES,
    CursorRegistry,
    take_batch,
)


def _docs(n: int) -> list[dict[str, int]]:
    return [{"_id": i} for i in range(n)]


def test_batches_until_exhausted_then_id_0() -> None:
    registry = CursorRegistry()
    cursor_id, batch = registry.first_batch("d.c", _docs(10), 4)
    assert batch == _docs(4) and type(cursor_id) is Int64 and cursor_id > 0
    cursor = registry.get(cursor_id)
    assert cursor is not None and cursor.ns == "d.c"
    next_id, batch = registry.next_batch(cursor, 4)
    assert (next_id, batch) == (cursor_id, _docs(8)[4:])
    next_id, batch = registry.next_batch(cursor, 4)
    assert (next_id, batch) == (0, _docs(10)[8:]) and type(next_id) is Int64
    assert registry.get(cursor_id) is None and len(registry) == 0


def test_default_first_batch_and_whole_rest_on_get_more() -> None:
    registry = CursorRegistry()
    cursor_id, batch = registry.first_batch("d.c", _docs(250), None)
    assert len(batch) == DEFAULT_FIRST_BATCH
    cursor = registry.get(cursor_id)
    assert cursor is not None
    assert registry.next_batch(cursor, None) == (0, _docs(250)[DEFAULT_FIRST_BATCH:])


def test_everything_fits_or_single_batch_opens_no_cursor() -> None:
    registry = CursorRegistry()
    assert registry.first_batch("d.c", _docs(3), 5) == (0, _docs(3))
    assert registry.first_batch("d.c", _docs(9), 2, single_batch=True) == (0, _docs(2))
    assert registry.first_batch("d.c", _docs(3), 0) == (0, _docs(3))  # 0 means no limit
    assert len(registry) == 0


def test_kill() -> None:
    registry = CursorRegistry()
    cursor_id, _ = registry.first_batch("d.c", _docs(5), 1)
    assert registry.kill(cursor_id) is True
    assert registry.kill(cursor_id) is False
    assert registry.get(cursor_id) is None


def test_batch_stops_near_16_mib_but_always_returns_one() -> None:
    big = "x" * (MAX_BATCH_BYTES // 3)
    remaining = deque({"_id": i, "s": big} for i in range(5))
    first = take_batch(remaining, None)
    assert len(first) == 2 and len(remaining) == 3
    huge = deque([{"s": "y" * (MAX_BATCH_BYTES + 10)}])
    assert len(take_batch(huge, None)) == 1
