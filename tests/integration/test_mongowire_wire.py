"""The stand-in over raw TCP: hand-built wire messages, reply bytes, and robustness.

These talk to an in-process ``harness.mongowire.serve()`` server (and, at the end, to the
``python -m harness.mongowire`` process), not to ``mongo_uri``: they test the stand-in itself.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import bson
import pymongo
import pytest
from bson.int64 import Int64

from harness.env.database import EmbeddedDatabase
from harness.env.processes import ManagedProcess
from harness.mongowire import StandInServer, serve, wire

Doc = dict[str, Any]


@pytest.fixture
async def standin() -> AsyncIterator[StandInServer]:
    async with serve() as server:
        yield server


class RawConnection:
    """One TCP connection speaking hand-built wire messages."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.next_id = 100

    @classmethod
    async def open(cls, server: StandInServer) -> RawConnection:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        return cls(reader, writer)

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read_message(self) -> tuple[wire.Header, bytes]:
        header = wire.decode_header(await self.reader.readexactly(wire.HEADER_SIZE))
        return header, await self.reader.readexactly(header.message_length - wire.HEADER_SIZE)

    async def command(self, body: Doc, **kwargs: Any) -> tuple[Doc, bytes]:
        """Send an OP_MSG; return the decoded reply body and the raw reply payload."""
        self.next_id += 1
        await self.send(wire.encode_op_msg(body, self.next_id, 0, **kwargs))
        header, payload = await self.read_message()
        assert header.op_code == wire.OP_MSG
        assert header.response_to == self.next_id
        return wire.decode_op_msg(payload).body, payload


@pytest.fixture
async def raw(standin: StandInServer) -> AsyncIterator[RawConnection]:
    connection = await RawConnection.open(standin)
    yield connection
    await connection.close()


INT64_ID = b"\x12id\x00"  # BSON element: type 0x12 (int64), name "id"
INT32_ID = b"\x10id\x00"  # the same element as int32, which the Node driver rejects


async def test_find_reply_cursor_id_is_bson_int64(raw: RawConnection) -> None:
    docs = [{"_id": i, "v": i * 10} for i in range(3)]
    reply, _ = await raw.command({"insert": "c", "$db": "w"}, sequences={"documents": docs})
    assert reply == {"n": 3, "ok": 1.0}
    reply, payload = await raw.command(
        {"find": "c", "filter": {}, "sort": {"_id": 1}, "batchSize": 1, "$db": "w"}
    )
    assert INT64_ID in payload and INT32_ID not in payload
    cursor = reply["cursor"]
    assert cursor["firstBatch"] == [docs[0]]
    assert cursor["ns"] == "w.c"
    assert isinstance(cursor["id"], Int64) and cursor["id"] != 0

    reply, payload = await raw.command(
        {"getMore": cursor["id"], "collection": "c", "batchSize": 5, "$db": "w"}
    )
    assert INT64_ID in payload and INT32_ID not in payload
    assert reply["cursor"]["nextBatch"] == docs[1:]
    assert reply["cursor"]["id"] == 0  # exhausted: closed

    reply, _ = await raw.command({"getMore": cursor["id"], "collection": "c", "$db": "w"})
    assert (reply["ok"], reply["code"], reply["codeName"]) == (0.0, 43, "CursorNotFound")


async def test_kill_cursors_reply(raw: RawConnection) -> None:
    await raw.command({"insert": "c", "documents": [{"_id": i} for i in range(5)], "$db": "w"})
    reply, _ = await raw.command({"find": "c", "batchSize": 2, "$db": "w"})
    cursor_id = reply["cursor"]["id"]
    reply, _ = await raw.command(
        {"killCursors": "c", "cursors": [cursor_id, Int64(12345)], "$db": "w"}
    )
    assert reply == {
        "cursorsKilled": [cursor_id],
        "cursorsNotFound": [12345],
        "cursorsAlive": [],
        "cursorsUnknown": [],
        "ok": 1.0,
    }


async def test_unknown_command_error_shape(raw: RawConnection) -> None:
    reply, _ = await raw.command({"frobnicate": 1, "$db": "admin"})
    assert reply == {
        "ok": 0.0,
        "errmsg": "no such command: 'frobnicate'",
        "code": 59,
        "codeName": "CommandNotFound",
    }


async def test_bad_argument_is_a_command_error_not_a_crash(raw: RawConnection) -> None:
    reply, _ = await raw.command({"find": "c", "filter": "not-a-document", "$db": "w"})
    assert reply["ok"] == 0.0 and reply["code"] == 14 and reply["codeName"] == "TypeMismatch"
    reply, _ = await raw.command({"ping": 1, "$db": "admin"})
    assert reply == {"ok": 1.0}


async def test_missing_db_is_an_error(raw: RawConnection) -> None:
    reply, _ = await raw.command({"ping": 1})
    assert reply["ok"] == 0.0 and "$db" in reply["errmsg"]


async def test_find_and_modify_duplicate_key_is_ok_0(raw: RawConnection) -> None:
    await raw.command(
        {
            "createIndexes": "u",
            "$db": "w",
            "indexes": [{"key": {"email": 1}, "name": "email_1", "unique": True}],
        }
    )
    await raw.command(
        {
            "insert": "u",
            "$db": "w",
            "documents": [{"_id": 1, "email": "a"}, {"_id": 2, "email": "b"}],
        }
    )
    reply, _ = await raw.command(
        {"findAndModify": "u", "query": {"_id": 2}, "update": {"$set": {"email": "a"}}, "$db": "w"}
    )
    assert reply["ok"] == 0.0 and reply["code"] == 11000
    assert reply["errmsg"] == (
        'E11000 duplicate key error collection: w.u index: email_1 dup key: { email: "a" }'
    )
    assert reply["keyValue"] == {"email": "a"}


async def test_legacy_op_query_handshake(raw: RawConnection) -> None:
    await raw.send(wire.encode_op_query("admin.$cmd", {"isMaster": 1, "helloOk": True}, 7))
    header, payload = await raw.read_message()
    assert (header.op_code, header.response_to) == (wire.OP_REPLY, 7)
    (reply,) = wire.decode_op_reply(payload)
    assert reply["ismaster"] is True and reply["helloOk"] is True
    assert (reply["minWireVersion"], reply["maxWireVersion"]) == (0, 21)
    assert reply["maxBsonObjectSize"] == 16 * 1024 * 1024
    assert reply["maxMessageSizeBytes"] == 48_000_000
    assert reply["maxWriteBatchSize"] == 100_000
    assert reply["logicalSessionTimeoutMinutes"] == 30
    assert isinstance(reply["connectionId"], int) and reply["ok"] == 1.0
    assert "compression" not in reply and "setName" not in reply


async def test_hello_over_op_msg(raw: RawConnection) -> None:
    reply, _ = await raw.command({"hello": 1, "$db": "admin"})
    assert reply["isWritablePrimary"] is True and "ismaster" not in reply


async def test_op_query_for_a_non_handshake_command_is_refused(raw: RawConnection) -> None:
    await raw.send(wire.encode_op_query("w.$cmd", {"find": "c"}, 8))
    _, payload = await raw.read_message()
    (reply,) = wire.decode_op_reply(payload)
    assert reply["ok"] == 0.0


async def test_more_to_come_gets_no_reply_but_is_applied(raw: RawConnection) -> None:
    await raw.send(
        wire.encode_op_msg(
            {"insert": "c", "documents": [{"_id": "quiet"}], "$db": "w"},
            50,
            0,
            flag_bits=wire.MORE_TO_COME,
        )
    )
    reply, _ = await raw.command({"find": "c", "$db": "w"})  # asserts responseTo is ours
    assert reply["cursor"]["firstBatch"] == [{"_id": "quiet"}]


async def test_checksum_bytes_are_skipped(raw: RawConnection) -> None:
    message = wire.encode_op_msg(
        {"ping": 1, "$db": "admin"}, 60, 0, flag_bits=wire.CHECKSUM_PRESENT
    )
    message = struct.pack("<i", len(message) + 4) + message[4:] + b"\xde\xad\xbe\xef"
    await raw.send(message)
    header, payload = await raw.read_message()
    assert header.response_to == 60
    assert wire.decode_op_msg(payload).body == {"ok": 1.0}


@pytest.mark.parametrize(
    "garbage",
    [
        b"\xff" * 64,  # negative length
        struct.pack("<iiii", 40, 1, 0, 9999) + b"\x00" * 24,  # unknown opCode
        struct.pack("<iiii", 26, 1, 0, wire.OP_MSG) + b"\x00\x00\x00\x00\x00\x05\x00\x00\x00\x07",
    ],
    ids=["bad-length", "bad-opcode", "bad-bson"],
)
async def test_garbage_closes_only_that_connection(standin: StandInServer, garbage: bytes) -> None:
    victim = await RawConnection.open(standin)
    await victim.send(garbage)
    assert await victim.reader.read() == b""  # the server closed it
    await victim.close()
    fresh = await RawConnection.open(standin)
    try:
        reply, _ = await fresh.command({"ping": 1, "$db": "admin"})
    finally:
        await fresh.close()
    assert reply == {"ok": 1.0}


async def test_close_disconnects_clients(standin: StandInServer) -> None:
    connection = await RawConnection.open(standin)
    await connection.command({"ping": 1, "$db": "admin"})
    await standin.close()
    assert await connection.reader.read() == b""
    await connection.close()


async def test_pymongo_against_in_process_server(standin: StandInServer) -> None:
    client: pymongo.AsyncMongoClient[Doc] = pymongo.AsyncMongoClient(
        standin.uri, serverSelectionTimeoutMS=5000
    )
    try:
        await client.w.c.insert_one({"_id": 1})
        info = await client.server_info()
        assert info["version"] == "7.0.0-standin"
        assert await client.w.c.find_one() == {"_id": 1}
    finally:
        await client.close()


async def test_process_writes_port_file_and_exits_0_on_sigterm(tmp_path: Path) -> None:
    process = ManagedProcess("stand-in", [sys.executable, "-m", "harness.mongowire", "--port",
                                          "0", "--port-file", str(tmp_path / "mongo.port")],
                             tmp_path / "mongo.log")
    await process.start()
    try:
        port = await process.wait_for_port_file(tmp_path / "mongo.port", 20)
        client: pymongo.AsyncMongoClient[Doc]
        async with pymongo.AsyncMongoClient(f"mongodb://127.0.0.1:{port}/",
                                            serverSelectionTimeoutMS=5000) as client:
            assert await client.admin.command("ping") == {"ok": 1.0}
    finally:
        await process.stop()
    assert process.returncode == 0
    assert "listening on 127.0.0.1" in (tmp_path / "mongo.log").read_text()


async def test_the_embedded_stand_in_is_reachable_before_it_has_started(tmp_path: Path) -> None:
    # The harness binds the socket and hands it down: the URI is known at launch, and a
    # client that connects at once waits in the backlog for the process to come up.
    standin = EmbeddedDatabase("standin")
    await standin.launch(tmp_path)
    try:
        client: pymongo.AsyncMongoClient[Doc]
        async with pymongo.AsyncMongoClient(standin.uri, serverSelectionTimeoutMS=20_000) \
                as client:
            assert await client.admin.command("ping") == {"ok": 1.0}
        assert not (tmp_path / "mongo.port").exists()  # no port file needed
    finally:
        await standin.stop()
    assert standin.process is not None and standin.process.returncode == 0


def test_byte_patterns_tell_int32_from_int64() -> None:
    # Guards the raw checks above: a plain int encodes as int32, Int64 as int64.
    assert INT32_ID in bson.encode({"id": 5}) and INT64_ID not in bson.encode({"id": 5})
    assert INT64_ID in bson.encode({"id": Int64(5)})


def test_process_reports_a_taken_port_without_traceback() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "harness.mongowire", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
