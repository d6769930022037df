"""Shared fixtures: a MongoDB for the whole session, and a fresh database per test.

``mongo_uri`` is ``$GADGET_TEST_MONGO_URI`` if set (a real MongoDB, e.g. ``mongo:7``), else the
embedded environment's database: a ``mongod`` from PATH, else the wire-protocol stand-in.
"""

from __future__ import annotations

import gc
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pymongo
import pytest
from hypothesis import HealthCheck, settings
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.database import Database

from harness.env.database import EmbeddedDatabase

# tests/plugin/ drives the harness's own pytest plugin with pytester; pytest only accepts
# pytest_plugins in a top-level conftest.
pytest_plugins = ["pytester"]

_SELECTION_TIMEOUT_MS = 5000
Doc = dict[str, Any]


@pytest.fixture(autouse=True)
def _collect_garbage_after_each_test() -> Iterator[None]:
    """With ``GADGET_GC_EACH_TEST=1``: what a test leaves unclosed (an aiohttp connection,
    a socket) is reported, by its ResourceWarning, in the teardown of the test that left it,
    not in whichever later test the garbage collector happens to run during. Off by default:
    a collection per test costs about 0.2 s (the unit tests took 4 min with it, 1 without)."""
    yield
    if os.environ.get("GADGET_GC_EACH_TEST") == "1":
        gc.collect()


@pytest.fixture(scope="session")
async def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """URI of the session's MongoDB (real or stand-in); the server stops after the session."""
    given = os.environ.get("GADGET_TEST_MONGO_URI")
    if given:
        yield given
        return
    database = EmbeddedDatabase()
    await database.start(tmp_path_factory.mktemp("mongo"))
    try:
        yield database.uri
    finally:
        await database.stop()


def _db_name() -> str:
    return f"t_{secrets.token_hex(4)}"


@pytest.fixture
async def mongo_db(mongo_uri: str) -> AsyncIterator[AsyncDatabase[Doc]]:
    """A uniquely named database on an ``AsyncMongoClient``, dropped after the test."""
    client: pymongo.AsyncMongoClient[Doc] = pymongo.AsyncMongoClient(
        mongo_uri, serverSelectionTimeoutMS=_SELECTION_TIMEOUT_MS
    )
    name = _db_name()
    try:
        yield client[name]
    finally:
        await client.drop_database(name)
        await client.close()


@pytest.fixture
def sync_mongo_db(mongo_uri: str) -> Iterator[Database[Doc]]:
    """A uniquely named database on a sync ``MongoClient``, dropped after the test."""
    client: pymongo.MongoClient[Doc] = pymongo.MongoClient(
        mongo_uri, serverSelectionTimeoutMS=_SELECTION_TIMEOUT_MS
    )
    name = _db_name()
    try:
        yield client[name]
    finally:
        client.drop_database(name)
        client.close()


# --- the fuzz suite (tests/fuzz/) -----------------------------------------------------------
# Hypothesis profiles: a fixed, reproducible budget in ``make test``.
#
#     ci    (default) derandomized: the same examples every run, so the suite cannot flake;
#           ``max_examples`` per test is the budget (docs/security.md gives the totals)
#     deep  random and ten times longer, for an engineer hunting locally:
#           HYPOTHESIS_PROFILE=deep .venv/bin/pytest tests/fuzz
#
# Kept here, not in tests/fuzz/conftest.py: test files import helpers with
# ``from conftest import ...``, and a second rootless conftest module would shadow it.
_HYPOTHESIS_COMMON: dict[str, Any] = {
    "deadline": None,  # live sockets and subprocesses: time is bounded by max_examples
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    "print_blob": True,
}
settings.register_profile("ci", max_examples=60, derandomize=True, database=None,
                          **_HYPOTHESIS_COMMON)
settings.register_profile("deep", max_examples=600, **_HYPOTHESIS_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/fuzz/ carries the ``fuzz`` marker (``-m "not fuzz"``)."""
    for item in items:
        if "tests/fuzz/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.fuzz)
