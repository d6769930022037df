"""Pure encode/decode of MongoDB wire messages (no sockets)."""

from __future__ import annotations

import struct
from datetime import datetime
from typing import Any

import bson
import pytest
from bson.int64 import Int64
from bson.objectid import ObjectId

from harness.mongowire import wire


def _split(message: bytes) -> tuple[wire.Header, bytes]:
    return wire.decode_header(message[: wire.HEADER_SIZE]), message[wire.HEADER_SIZE :]


def test_op_msg_round_trip_with_document_sequences() -> None:
    oid = ObjectId()
    body = {"insert": "users", "ordered": False, "$db": "gadget"}
    docs = [{"_id": oid, "n": Int64(1)}, {"_id": 2, "at": datetime(2024, 1, 2, 3, 4, 5, 6000)}]
    header, payload = _split(wire.encode_op_msg(body, 11, 3, sequences={"documents": docs}))
    assert (header.request_id, header.response_to, header.op_code) == (11, 3, wire.OP_MSG)
    assert header.message_length == wire.HEADER_SIZE + len(payload)
    message = wire.decode_op_msg(payload)
    assert message.body == body and message.sequences == {"documents": docs}
    assert type(message.sequences["documents"][0]["n"]) is Int64
    assert message.command() == {**body, "documents": docs}
    assert not message.more_to_come


def test_two_sequences_and_more_to_come() -> None:
    _, payload = _split(
        wire.encode_op_msg(
            {"update": "c", "$db": "d"},
            1,
            0,
            flag_bits=wire.MORE_TO_COME,
            sequences={"updates": [{"q": {}, "u": {"$set": {"a": 1}}}], "extra": []},
        )
    )
    message = wire.decode_op_msg(payload)
    assert message.more_to_come
    assert message.sequences == {"updates": [{"q": {}, "u": {"$set": {"a": 1}}}], "extra": []}


def test_checksum_is_skipped() -> None:
    _, payload = _split(wire.encode_op_msg({"ping": 1}, 1, 0, flag_bits=wire.CHECKSUM_PRESENT))
    assert wire.decode_op_msg(payload + b"\x01\x02\x03\x04").body == {"ping": 1}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"\x00\x00", "too short"),
        (struct.pack("<I", 1 << 3) + b"\x00" + bson.encode({"a": 1}), "unknown required flag"),
        (struct.pack("<I", 0) + b"\x02" + bson.encode({"a": 1}), "unknown section kind 2"),
        (struct.pack("<I", 0) + (b"\x00" + bson.encode({"a": 1})) * 2, "more than one kind-0"),
        (struct.pack("<I", 0) + b"\x01" + struct.pack("<i", 9) + b"docs\x00", "no kind-0 body"),
        (struct.pack("<I", 0) + b"\x00" + b"\x09\x00\x00\x00\x10a\x00", "overruns"),
        (struct.pack("<I", 0) + b"\x00" + b"\x05\x00\x00\x00\x07", "invalid BSON"),
        (struct.pack("<I", 0) + b"\x01" + struct.pack("<i", 99) + b"x\x00", "overruns"),
    ],
)
def test_malformed_op_msg_names_the_problem(payload: bytes, message: str) -> None:
    with pytest.raises(wire.WireError, match=message):
        wire.decode_op_msg(payload)


def test_optional_high_flag_bits_are_ignored() -> None:
    payload = struct.pack("<I", 1 << 20) + b"\x00" + bson.encode({"ping": 1})
    assert wire.decode_op_msg(payload).body == {"ping": 1}


@pytest.mark.parametrize("length", [0, 16, -5, wire.MAX_MESSAGE_SIZE + 1])
def test_header_length_out_of_range(length: int) -> None:
    with pytest.raises(wire.WireError, match="out of range"):
        wire.decode_header(struct.pack("<iiii", length, 1, 0, wire.OP_MSG))


def test_header_must_be_16_bytes() -> None:
    with pytest.raises(wire.WireError, match="16 bytes"):
        wire.decode_header(b"\x00" * 15)


def test_op_query_round_trip() -> None:
    header, payload = _split(wire.encode_op_query("admin.$cmd", {"isMaster": 1}, 42))
    assert (header.op_code, header.request_id) == (wire.OP_QUERY, 42)
    query = wire.decode_op_query(payload)
    assert query.full_collection_name == "admin.$cmd"
    assert query.query == {"isMaster": 1}
    assert query.number_to_return == -1


def test_op_query_with_field_selector_and_truncation() -> None:
    _, payload = _split(wire.encode_op_query("a.$cmd", {"x": 1}, 1))
    assert wire.decode_op_query(payload + bson.encode({"y": 1})).query == {"x": 1}
    with pytest.raises(wire.WireError, match="OP_QUERY"):
        wire.decode_op_query(payload[:12])
    with pytest.raises(wire.WireError, match="unterminated"):
        wire.decode_op_query(b"\x00\x00\x00\x00admin")


def test_op_reply_round_trip() -> None:
    docs: list[dict[str, Any]] = [{"ok": 1.0, "ismaster": True}, {"b": 2}]
    header, payload = _split(wire.encode_op_reply(docs, 5, 4, cursor_id=0))
    assert (header.op_code, header.request_id, header.response_to) == (wire.OP_REPLY, 5, 4)
    assert struct.unpack_from("<q", payload, 4) == (0,)
    assert wire.decode_op_reply(payload) == docs
