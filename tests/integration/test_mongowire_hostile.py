"""Live: the MongoDB stand-in against hostile clients (issue 13, finding 9).

A client that sent part of a message and stopped pinned its connection forever, and any
client could write to ``admin.system.users``. Now a started message must be complete within
the server's ``message_timeout`` (idle connections between messages stay open), and writes
to system collections are refused as mongod refuses them: ``13 Unauthorized`` in the
``admin`` database, ``73 InvalidNamespace`` elsewhere.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import OperationFailure

from harness.mongowire import StandInServer, wire

TIMEOUT = 0.5

Doc = dict[str, Any]


@pytest.fixture
async def server() -> AsyncIterator[StandInServer]:
    async with StandInServer(message_timeout=TIMEOUT) as started:
        yield started


@pytest.fixture
async def client() -> AsyncIterator[AsyncMongoClient[Doc]]:
    async with StandInServer() as server:
        mongo: AsyncMongoClient[Doc] = AsyncMongoClient(server.uri,
                                                        serverSelectionTimeoutMS=5000)
        yield mongo
        await mongo.close()


def _hello() -> bytes:
    return wire.encode_op_msg({"hello": 1, "$db": "admin"}, 1, 0)


async def _read_reply(reader: asyncio.StreamReader) -> Doc:
    header = wire.decode_header(await reader.readexactly(wire.HEADER_SIZE))
    payload = await reader.readexactly(header.message_length - wire.HEADER_SIZE)
    return wire.decode_op_msg(payload).body


# -- a partial message ------------------------------------------------------------------------


def test_the_default_message_timeout_is_generous_and_named() -> None:
    from harness.mongowire.server import MESSAGE_READ_TIMEOUT

    assert MESSAGE_READ_TIMEOUT == 30.0
    assert StandInServer().message_timeout == MESSAGE_READ_TIMEOUT
    assert StandInServer().host == "127.0.0.1"  # loopback unless told otherwise


async def test_a_stalled_partial_message_is_closed_after_the_timeout(
        server: StandInServer) -> None:
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        writer.write(_hello()[:10])  # 10 bytes of a header, then nothing
        await writer.drain()
        started = time.monotonic()
        assert await asyncio.wait_for(reader.read(), TIMEOUT * 10) == b""  # closed by server
        assert time.monotonic() - started < TIMEOUT * 6
    finally:
        writer.close()
    await asyncio.sleep(0.05)
    assert server.state.connections_current == 0


async def test_a_stalled_message_body_is_closed_after_the_timeout(
        server: StandInServer) -> None:
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        message = _hello()
        writer.write(message[:-3])  # a whole header, most of the body
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), TIMEOUT * 10) == b""
    finally:
        writer.close()


async def test_an_idle_connection_between_messages_stays_open(server: StandInServer) -> None:
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        writer.write(_hello())
        await writer.drain()
        assert (await _read_reply(reader))["ok"] == 1.0
        await asyncio.sleep(TIMEOUT * 3)  # idle: a pooled driver connection
        message = _hello()
        writer.write(message[:5])  # a message in two parts, well within the timeout
        await writer.drain()
        await asyncio.sleep(TIMEOUT / 5)
        writer.write(message[5:])
        await writer.drain()
        assert (await asyncio.wait_for(_read_reply(reader), 5))["ok"] == 1.0
    finally:
        writer.close()


# -- system collections -----------------------------------------------------------------------


def _refusal(exc: pytest.ExceptionInfo[OperationFailure]) -> tuple[int, str]:
    details = exc.value.details or {}
    assert details.get("ok") == 0 and details.get("errmsg"), details
    assert details.get("code") == exc.value.code
    return exc.value.code or 0, str(details.get("codeName"))


async def test_writes_to_admin_system_users_are_refused_unauthorized(
        client: AsyncMongoClient[Doc]) -> None:
    users = client.admin["system.users"]
    writes = [
        lambda: users.insert_one({"user": "root", "pwd": "x", "roles": ["root"]}),
        lambda: users.update_one({}, {"$set": {"roles": ["root"]}}, upsert=True),
        lambda: users.delete_many({}),
        lambda: users.find_one_and_update({}, {"$set": {"x": 1}}, upsert=True),
        lambda: users.create_index("user"),
        lambda: users.drop(),
        lambda: client.admin.create_collection("system.roles"),
    ]
    for write in writes:
        with pytest.raises(OperationFailure) as refused:
            await write()
        assert _refusal(refused) == (13, "Unauthorized")
    assert await users.find_one({}) is None  # reading is allowed: nothing was written
    with pytest.raises(OperationFailure) as refused:
        await client.drop_database("admin")
    assert _refusal(refused) == (20, "IllegalOperation")


async def test_writes_to_any_system_collection_are_refused_invalid_namespace(
        client: AsyncMongoClient[Doc]) -> None:
    db = client["gadget"]
    with pytest.raises(OperationFailure) as refused:
        await db["system.users"].insert_one({"user": "x"})
    assert _refusal(refused) == (73, "InvalidNamespace")
    assert "Invalid system namespace: gadget.system.users" in str(refused.value)
    with pytest.raises(OperationFailure) as refused:
        await db["system.js"].update_one({}, {"$set": {"x": 1}}, upsert=True)
    assert _refusal(refused) == (73, "InvalidNamespace")
    await db.plain.insert_one({"user": "x"})
    for target, expected in (("system.profile", (73, "InvalidNamespace")),
                             ({"db": "admin", "coll": "system.users"}, (13, "Unauthorized"))):
        for stage in ({"$out": target}, {"$merge": {"into": target}}):
            with pytest.raises(OperationFailure) as refused:
                await (await db.plain.aggregate([stage])).to_list(None)
            assert _refusal(refused) == expected, stage
    # Ordinary collections are untouched by the rule.
    assert await db.plain.count_documents({}) == 1
    assert await db["systemic"].insert_one({"a": 1})
