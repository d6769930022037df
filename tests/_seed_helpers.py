"""Shared checks for the seed tests: a world's documents against the protocol, field by field.

Importable as ``_seed_helpers`` because ``tests/`` holds the root ``conftest.py``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId

from harness.protocol import PROVIDER_KINDS, SEED_RUN_FIELD, Collection, DroneStatus
from seed import World, hash_token, run_tag

Docs = Mapping[str, list[dict[str, Any]]]

# The protocol's data section, besides _id, createdAt and seedRunId.
CONTRACT_FIELDS: dict[str, set[str]] = {
    Collection.USERS: {"email", "displayName", "apiTokenHash"},
    Collection.AI_PROVIDERS: {"user", "name", "kind", "baseUrl", "model"},
    Collection.PROJECTS: {"user", "name", "slug"},
    Collection.CHAT_SESSIONS: {"user", "project", "provider", "title"},
    Collection.DRONE_REGISTRATIONS: {
        "user", "hostname", "tokenHash", "status", "lockedBy", "lastSeenAt"},
}
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


def _as_utc(moment: Any) -> datetime:
    assert isinstance(moment, datetime), f"createdAt is {moment!r}"
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _by_id(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(doc["_id"]): doc for doc in docs}


def check_world_documents(docs: Docs, world: World) -> None:
    """Assert that ``docs`` (per collection) are exactly ``world``, as the contract says."""
    tag = run_tag(world.run_id)
    created = datetime.fromisoformat(world.created_at.replace("Z", "+00:00"))
    for name, fields in CONTRACT_FIELDS.items():
        for doc in docs[name]:
            assert set(doc) == fields | {"_id", "createdAt", SEED_RUN_FIELD}, (name, doc)
            assert isinstance(doc["_id"], ObjectId), (name, doc)
            assert doc[SEED_RUN_FIELD] == world.run_id
            assert _as_utc(doc["createdAt"]) == created

    users = _by_id(docs[Collection.USERS])
    assert sorted(users) == sorted(u.id for u in world.users)
    for u in world.users:
        doc = users[u.id]
        assert doc["email"] == u.email and doc["displayName"] == u.display_name
        assert tag in u.email and re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]+", u.email)
        assert doc["apiTokenHash"] == hash_token(u.token)
        assert SHA256_HEX.fullmatch(doc["apiTokenHash"]) and u.token not in str(doc)

    providers = _by_id(docs[Collection.AI_PROVIDERS])
    assert sorted(providers) == sorted(p.id for p in world.providers)
    for p in world.providers:
        doc = providers[p.id]
        assert doc["user"] == ObjectId(p.user_id) and p.user_id in users
        assert (doc["name"], doc["kind"], doc["baseUrl"], doc["model"]) == (
            p.name, p.kind, p.base_url, p.model)
        assert p.kind in PROVIDER_KINDS and re.match(r"https?://", p.base_url)
        assert p.name and p.model

    projects = _by_id(docs[Collection.PROJECTS])
    assert sorted(projects) == sorted(p.id for p in world.projects)
    for project in world.projects:
        doc = projects[project.id]
        assert doc["user"] == ObjectId(project.user_id) and project.user_id in users
        assert (doc["name"], doc["slug"]) == (project.name, project.slug)
        assert tag in project.slug
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", project.slug)

    chats = _by_id(docs[Collection.CHAT_SESSIONS])
    assert sorted(chats) == sorted(c.id for c in world.chat_sessions)
    for c in world.chat_sessions:
        doc = chats[c.id]
        assert doc["user"] == ObjectId(c.user_id)
        assert doc["project"] == ObjectId(c.project_id)
        assert doc["provider"] == ObjectId(c.provider_id)
        assert doc["title"] == c.title and c.title
        # A chat session links its user's own project and provider.
        assert projects[c.project_id]["user"] == doc["user"]
        assert providers[c.provider_id]["user"] == doc["user"]

    drones = _by_id(docs[Collection.DRONE_REGISTRATIONS])
    assert sorted(drones) == sorted(d.id for d in world.drones)
    for d in world.drones:
        doc = drones[d.id]
        assert doc["user"] == ObjectId(d.user_id) and d.user_id in users
        assert doc["hostname"] == d.hostname and tag in d.hostname
        assert doc["tokenHash"] == hash_token(d.token) and d.token not in str(doc)
        assert doc["status"] == DroneStatus.OFFLINE
        assert doc["lockedBy"] is None and doc["lastSeenAt"] is None

    tokens = [u.token for u in world.users] + [d.token for d in world.drones]
    assert len(set(tokens)) == len(tokens)
    all_ids = [str(doc["_id"]) for name in CONTRACT_FIELDS for doc in docs[name]]
    assert len(set(all_ids)) == len(all_ids)


def check_default_world(docs: Docs, world: World) -> None:
    """The default world: 1 user, 1 provider, 1 project, 1 chat session, 3 drones."""
    counts = {name: len(docs[name]) for name in CONTRACT_FIELDS}
    assert counts == {
        Collection.USERS: 1, Collection.AI_PROVIDERS: 1, Collection.PROJECTS: 1,
        Collection.CHAT_SESSIONS: 1, Collection.DRONE_REGISTRATIONS: 3,
    }
    check_world_documents(docs, world)
    user = world.users[0]
    assert world.drones_of(user.id) == world.drones
    assert world.chat_sessions[0].project_id == world.projects[0].id
    assert world.chat_sessions[0].provider_id == world.providers[0].id


async def fetch_run(db: Any, run_id: str) -> dict[str, list[dict[str, Any]]]:
    """The documents of ``run_id`` per seeded collection, as the database holds them."""
    return {name: [doc async for doc in db[name].find({SEED_RUN_FIELD: run_id})]
            for name in CONTRACT_FIELDS}


async def snapshot(db: Any) -> dict[str, dict[str, dict[str, Any]]]:
    """Every document of every protocol collection, keyed by collection and ``str(_id)``."""
    from harness.protocol import ALL_COLLECTIONS

    return {name: {str(doc["_id"]): doc async for doc in db[name].find({})}
            for name in ALL_COLLECTIONS}
