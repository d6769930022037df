"""Live fixtures: the embedded environment (reference relay + database) and seeded worlds."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from _raw_clients import clients, db, wide_world
from pymongo import AsyncMongoClient

from harness.env import LocalEnvironment
from harness.settings import RelaySettings
from seed import build_world, cleanup
from seed.world import World, WorldSpec

# Short timeouts keep negative tests fast; they are generous for a loaded 2-core machine.
FAST_SETTINGS = RelaySettings(
    drone_ack_timeout=1.0,
    termination_ack_timeout=1.0,
    termination_poll_timeout=3.0,
)

__all__ = ["clients", "db", "wide_world"]  # fixtures of the relay conformance tests

MakeRelayEnv = Callable[..., Awaitable[LocalEnvironment]]


def skip_or_fail(problem: str | None, required_by: str) -> None:
    """Nothing when ``problem`` is None; else skip, or fail when ``required_by`` (an
    environment variable CI sets to 1) asks for the missing tool."""
    if problem is None:
        return
    if os.environ.get(required_by) == "1":
        pytest.fail(f"{required_by}=1 but {problem}")
    pytest.skip(problem)


@pytest.fixture(scope="session")
async def relay_env() -> AsyncIterator[LocalEnvironment]:
    """One reference relay with introspection, shared by the session's live tests."""
    async with LocalEnvironment(FAST_SETTINGS) as env:
        yield env


@pytest.fixture
async def make_relay_env() -> AsyncIterator[MakeRelayEnv]:
    """Factory for a private relay with settings overrides (e.g. ``regressions``)."""
    started: list[LocalEnvironment] = []

    async def make(**overrides: Any) -> LocalEnvironment:
        env = LocalEnvironment(dataclasses.replace(FAST_SETTINGS, **overrides))
        await env.start()
        started.append(env)
        return env

    yield make
    for env in started:
        await env.__aexit__(None, None, None)


@pytest.fixture(scope="session")
async def relay_mongo(relay_env: LocalEnvironment) -> AsyncIterator[AsyncMongoClient[Any]]:
    """An async client of the shared relay's database."""
    client: AsyncMongoClient[Any] = AsyncMongoClient(relay_env.mongo_uri, tz_aware=True)
    yield client
    await client.close()


@pytest.fixture
async def world(relay_env: LocalEnvironment,
                relay_mongo: AsyncMongoClient[Any]) -> AsyncIterator[World]:
    """A default world seeded into the shared relay's database, removed after the test."""
    db = relay_mongo[relay_env.database]
    seeded = await build_world(db)
    yield seeded
    await cleanup(db, seeded.run_id)


@contextlib.asynccontextmanager
async def seeded_world(env: LocalEnvironment, spec: WorldSpec) -> AsyncIterator[World]:
    """A world of ``spec`` seeded into ``env``'s database (a private relay's), removed on
    the way out."""
    client: AsyncMongoClient[Any] = AsyncMongoClient(env.mongo_uri, tz_aware=True)
    db = client[env.database]
    world = await build_world(db, spec)
    try:
        yield world
    finally:
        await cleanup(db, world.run_id)
        await client.close()


@contextlib.asynccontextmanager
async def in_process_relay(env: LocalEnvironment, mongo: AsyncMongoClient[Any], prefix: str,
                           spec: WorldSpec, **settings: Any) -> AsyncIterator[tuple[Any, World]]:
    """A reference relay in this process (so a test can wrap its store or close its gates)
    on a fresh database ``<prefix>_<hex>`` of ``env``'s server, seeded with ``spec``;
    stopped and dropped on the way out."""
    from harness.relay import Relay

    database = f"{prefix}_{uuid.uuid4().hex[:12]}"
    world = await build_world(mongo[database], spec)
    relay = Relay(RelaySettings(port=0, mongo_uri=env.mongo_uri, database=database,
                                **settings))
    await relay.start()
    try:
        yield relay, world
    finally:
        await relay.stop()
        await mongo.drop_database(database)
