"""Every database operation of the relay (async pymongo), with ids converted at this boundary.

In the database ids are ``ObjectId``; everywhere else in the relay (and on the wire) they are
24-hex strings. Callers validate id shapes first; this module converts them. Only plain
operations are used (find, insert, update with ``$set``), so the relay also
runs against the embedded stand-in database. pymongo errors are left to the caller, except at
start-up, where they become ``DatabaseError`` with the URI (password masked) and the cause.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from harness.errors import DatabaseError
from harness.protocol import Collection, DroneStatus, WorkOrderStatus
from harness.uri import mask_uri, safe_detail

__all__ = ["ChatSessionDoc", "RegistrationDoc", "Store", "UserDoc", "WorkOrderDoc"]

logger = logging.getLogger(__name__)

UNFINISHED = (WorkOrderStatus.PENDING, WorkOrderStatus.RUNNING)


@dataclass(frozen=True)
class UserDoc:
    id: str
    api_token_hash: str


@dataclass(frozen=True)
class RegistrationDoc:
    id: str
    user_id: str
    token_hash: str
    status: str
    locked_by: str | None


@dataclass(frozen=True)
class ChatSessionDoc:
    id: str
    user_id: str
    project_id: str | None


@dataclass(frozen=True)
class WorkOrderDoc:
    id: str
    chat_session_id: str
    prompt: str
    status: str


def _now() -> datetime:
    return datetime.now(UTC)


def _oid(value: str) -> ObjectId:
    return ObjectId(value)


def _hex(value: Any) -> str | None:
    return str(value) if value is not None else None


class Store:
    """The relay's view of the database. ``open`` pings and creates indexes.

    ``now`` gives the value written for ``lastSeenAt``, ``completedAt`` and a new work
    order's ``createdAt``: a datetime (stored as a BSON date) by default, or an RFC 3339
    string (the ``string-dates`` variant). The relay never reads those fields back but to
    show them (``registration_document``).
    """

    def __init__(self, uri: str, database: str, *, timeout: float = 3.0,
                 now: Callable[[], datetime | str] | None = None) -> None:
        self._uri = uri
        self._now: Callable[[], datetime | str] = now or _now
        self._timeout_ms = int(timeout * 1000)
        self._client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            uri, tz_aware=True, connect=False,
            serverSelectionTimeoutMS=self._timeout_ms, connectTimeoutMS=self._timeout_ms,
        )
        self._db: AsyncDatabase[dict[str, Any]] = self._client[database]

    async def open(self) -> None:
        """Ping the database and create indexes; raises ``DatabaseError`` naming the URI."""
        try:
            await self._client.admin.command("ping")
            await self._ensure_indexes()
        except PyMongoError as exc:
            cause = str(exc).split(" (configured timeouts")[0].split(", Timeout:")[0]
            cause = cause.splitlines()[0] if cause else type(exc).__name__
            raise DatabaseError(f"cannot reach the database at {mask_uri(self._uri)}: "
                                f"{safe_detail(cause, self._uri)}") from None

    async def _ensure_indexes(self) -> None:
        db = self._db
        await db[Collection.USERS].create_index("email", unique=True)
        await db[Collection.USERS].create_index("apiTokenHash")
        await db[Collection.DRONE_REGISTRATIONS].create_index("user")
        await db[Collection.CHAT_SESSIONS].create_index("user")
        await db[Collection.WORK_ORDERS].create_index("chatSession")
        await db[Collection.WORK_ORDERS].create_index(
            [("registration", ASCENDING), ("status", ASCENDING)])

    async def close(self) -> None:
        """Close the client."""
        await self._client.close()

    async def ping(self, timeout: float) -> bool:
        """True when the database answers a ping within ``timeout`` seconds."""
        try:
            async with asyncio.timeout(timeout):
                await self._client.admin.command("ping")
        except (PyMongoError, TimeoutError):
            return False
        return True

    # -- users, chat sessions --------------------------------------------------------------

    async def user_by_token_hash(self, token_hash: str) -> UserDoc | None:
        """The user whose ``apiTokenHash`` is ``token_hash``."""
        doc = await self._db[Collection.USERS].find_one({"apiTokenHash": token_hash})
        if doc is None:
            return None
        return UserDoc(str(doc["_id"]), str(doc.get("apiTokenHash", "")))

    async def chat_session(self, chat_session_id: str) -> ChatSessionDoc | None:
        """The chat session ``chat_session_id``."""
        doc = await self._db[Collection.CHAT_SESSIONS].find_one({"_id": _oid(chat_session_id)})
        if doc is None:
            return None
        return ChatSessionDoc(str(doc["_id"]), str(doc.get("user")), _hex(doc.get("project")))

    # -- drone registrations -----------------------------------------------------------------

    async def registration(self, registration_id: str) -> RegistrationDoc | None:
        """The registration ``registration_id``."""
        doc = await self._registration_doc(registration_id)
        return None if doc is None else _registration(doc)

    async def registration_document(self, registration_id: str) -> dict[str, Any] | None:
        """The registration document as stored (hashes included: the caller drops them)."""
        return await self._registration_doc(registration_id)

    async def _registration_doc(self, registration_id: str) -> dict[str, Any] | None:
        return await self._db[Collection.DRONE_REGISTRATIONS].find_one(
            {"_id": _oid(registration_id)})

    async def mark_drone_online(self, registration_id: str) -> RegistrationDoc | None:
        """On connect: ``online`` (``busy`` if it holds a lock) and ``lastSeenAt`` now."""
        registrations = self._db[Collection.DRONE_REGISTRATIONS]
        now = self._now()
        await registrations.update_one(
            {"_id": _oid(registration_id), "lockedBy": None},
            {"$set": {"status": DroneStatus.ONLINE, "lastSeenAt": now}})
        await registrations.update_one(
            {"_id": _oid(registration_id), "lockedBy": {"$ne": None}},
            {"$set": {"status": DroneStatus.BUSY, "lastSeenAt": now}})
        return await self.registration(registration_id)

    async def mark_drone_offline(self, registration_id: str) -> int:
        """On a real disconnect: ``offline``, lock cleared, unfinished work orders ``aborted``.

        Returns how many work orders were aborted.
        """
        now = self._now()
        await self._db[Collection.DRONE_REGISTRATIONS].update_one(
            {"_id": _oid(registration_id)},
            {"$set": {"status": DroneStatus.OFFLINE, "lockedBy": None, "lastSeenAt": now}})
        result = await self._db[Collection.WORK_ORDERS].update_many(
            {"registration": _oid(registration_id), "status": {"$in": list(UNFINISHED)}},
            {"$set": {"status": WorkOrderStatus.ABORTED, "completedAt": now}})
        return result.modified_count

    async def reset_stale_sessions(self) -> tuple[int, int]:
        """At start-up: every registration left ``online``/``busy`` by a previous process
        goes ``offline`` with its lock cleared, and its unfinished work orders ``aborted``.

        Right only for a single-instance relay (docs/socket-protocol.md, section 9).
        Returns (registrations, work orders) changed.
        """
        registrations = self._db[Collection.DRONE_REGISTRATIONS]
        stale = {"status": {"$in": [DroneStatus.ONLINE, DroneStatus.BUSY]}}
        ids = [doc["_id"] async for doc in registrations.find(stale, {"_id": 1})]
        if not ids:
            return 0, 0
        now = self._now()
        changed = await registrations.update_many(
            {"_id": {"$in": ids}, **stale},
            {"$set": {"status": DroneStatus.OFFLINE, "lockedBy": None}})
        aborted = await self._db[Collection.WORK_ORDERS].update_many(
            {"registration": {"$in": ids}, "status": {"$in": list(UNFINISHED)}},
            {"$set": {"status": WorkOrderStatus.ABORTED, "completedAt": now}})
        return changed.modified_count, aborted.modified_count

    async def take_lock(self, registration_id: str, chat_session_id: str) -> bool:
        """``lockedBy`` and ``status: busy``, atomically, if the registration is unlocked and
        not offline (the drone did not disconnect meanwhile); False otherwise."""
        result = await self._db[Collection.DRONE_REGISTRATIONS].update_one(
            {"_id": _oid(registration_id), "lockedBy": None,
             "status": {"$ne": DroneStatus.OFFLINE}},
            {"$set": {"lockedBy": _oid(chat_session_id), "status": DroneStatus.BUSY}})
        return result.matched_count == 1

    async def release_lock(self, registration_id: str, chat_session_id: str,
                           status: str | None) -> bool:
        """Clear the lock of ``chat_session_id`` (and set ``status`` unless None).

        False when that chat session held no lock.
        """
        update: dict[str, Any] = {"lockedBy": None}
        if status is not None:
            update["status"] = status
        result = await self._db[Collection.DRONE_REGISTRATIONS].update_one(
            {"_id": _oid(registration_id), "lockedBy": _oid(chat_session_id)},
            {"$set": update})
        return result.matched_count == 1

    async def registration_status(self, registration_id: str) -> str | None:
        """The registration's ``status`` (None when it is gone)."""
        doc = await self._db[Collection.DRONE_REGISTRATIONS].find_one(
            {"_id": _oid(registration_id)}, {"status": 1})
        return None if doc is None else str(doc.get("status"))

    # -- work orders ---------------------------------------------------------------------------

    async def insert_work_order(self, registration_id: str, chat_session_id: str,
                                prompt: str) -> str:
        """Insert a ``pending`` work order; returns its id."""
        result = await self._db[Collection.WORK_ORDERS].insert_one({
            "chatSession": _oid(chat_session_id),
            "registration": _oid(registration_id),
            "prompt": prompt,
            "status": WorkOrderStatus.PENDING,
            "completedAt": None,
            "createdAt": self._now(),
        })
        return str(result.inserted_id)

    async def advance_work_order(self, work_order_id: str, status: str,
                                 *, only_from: tuple[str, ...]) -> bool:
        """Set ``status`` if the work order is in one of ``only_from``; False otherwise."""
        update: dict[str, Any] = {"status": status}
        if status != WorkOrderStatus.RUNNING:
            update["completedAt"] = self._now()
        result = await self._db[Collection.WORK_ORDERS].update_one(
            {"_id": _oid(work_order_id), "status": {"$in": list(only_from)}}, {"$set": update})
        return result.matched_count == 1

    async def complete_work_order(self, work_order_id: str, registration_id: str,
                                  chat_session_id: str, status: str) -> bool:
        """Record the drone's final ``status`` and ``completedAt``; False if no such order."""
        result = await self._db[Collection.WORK_ORDERS].update_one(
            {"_id": _oid(work_order_id), "registration": _oid(registration_id),
             "chatSession": _oid(chat_session_id)},
            {"$set": {"status": status, "completedAt": self._now()}})
        return result.matched_count == 1

    async def work_order_exists(self, work_order_id: str) -> bool:
        """True when a work order ``work_order_id`` exists (whoever's it is)."""
        doc = await self._db[Collection.WORK_ORDERS].find_one({"_id": _oid(work_order_id)},
                                                              {"_id": 1})
        return doc is not None

    async def unfinished_work_order(self, registration_id: str,
                                    chat_session_id: str) -> WorkOrderDoc | None:
        """The newest ``pending``/``running`` work order of this drone and chat session."""
        cursor = self._db[Collection.WORK_ORDERS].find(
            {"registration": _oid(registration_id), "chatSession": _oid(chat_session_id),
             "status": {"$in": list(UNFINISHED)}})
        docs = await cursor.to_list(None)
        if not docs:
            return None
        newest = max(docs, key=lambda d: d["_id"])
        return WorkOrderDoc(str(newest["_id"]), str(newest["chatSession"]),
                            str(newest.get("prompt", "")), str(newest["status"]))


def _registration(doc: dict[str, Any]) -> RegistrationDoc:
    return RegistrationDoc(
        id=str(doc["_id"]),
        user_id=str(doc.get("user")),
        token_hash=str(doc.get("tokenHash", "")),
        status=str(doc.get("status", DroneStatus.OFFLINE)),
        locked_by=_hex(doc.get("lockedBy")),
    )
