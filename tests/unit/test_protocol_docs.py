"""docs/socket-protocol.md, the user-facing contract, names every fact harness/protocol.py holds,
every known-bug switch and variant of harness/settings.py, and links its own sections."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.protocol import ALL_COLLECTIONS, ErrorCode, Event, Route
from harness.settings import REGRESSIONS, VARIANTS

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


@pytest.mark.parametrize("switch", REGRESSIONS)
def test_every_known_bug_switch_is_documented(switch: str) -> None:
    assert f"| `{switch}` |" in DOC


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_is_documented_in_the_where_relays_may_differ_tables(variant: str) -> None:
    tables = DOC.split("## 11. Where relays may differ")[1].split("\n## ")[0]
    assert f"`{variant}`" in tables


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_contents_link_names_a_heading() -> None:
    anchors = {_slug(line.lstrip("#")) for line in DOC.splitlines() if line.startswith("## ")}
    links = re.findall(r"\]\(#([^)]+)\)", DOC)
    assert links, "the contents line links no section"
    assert [link for link in links if link not in anchors] == []


def test_the_page_states_the_contract_version() -> None:
    assert DOC.startswith("# The Gadget relay protocol, v1.1\n")
