"""docs/socket-protocol.md, the user-facing contract, names every fact harness/protocol.py holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.protocol import ALL_COLLECTIONS, ErrorCode, Event, Route

DOC = (Path(__file__).parents[2] / "docs" / "socket-protocol.md").read_text()


def _constants(cls: type) -> list[str]:
    return [value for name, value in vars(cls).items()
            if not name.startswith("_") and isinstance(value, str)]


@pytest.mark.parametrize("name", _constants(Event))
def test_every_event_is_documented(name: str) -> None:
    assert f"`{name}" in DOC


@pytest.mark.parametrize("code", _constants(ErrorCode))
def test_every_error_code_is_documented(code: str) -> None:
    assert f"`{code}`" in DOC


@pytest.mark.parametrize("collection", ALL_COLLECTIONS)
def test_every_collection_is_documented(collection: str) -> None:
    assert f"`{collection}`" in DOC


@pytest.mark.parametrize("route", _constants(Route))
def test_every_route_is_documented(route: str) -> None:
    assert route.replace("{id}", ":id") in DOC
