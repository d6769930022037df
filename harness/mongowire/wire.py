"""MongoDB wire-protocol framing: message header, OP_MSG, OP_QUERY and OP_REPLY.

Pure encode/decode, no I/O. Decoding raises ``WireError`` naming what was malformed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

import bson
from bson.codec_options import CodecOptions

OP_REPLY = 1
OP_QUERY = 2004
OP_COMPRESSED = 2012
OP_MSG = 2013

HEADER_SIZE = 16
MAX_MESSAGE_SIZE = 48_000_000

# OP_MSG flagBits
CHECKSUM_PRESENT = 1 << 0
MORE_TO_COME = 1 << 1
EXHAUST_ALLOWED = 1 << 16
_KNOWN_MSG_FLAGS = CHECKSUM_PRESENT | MORE_TO_COME | EXHAUST_ALLOWED

_HEADER = struct.Struct("<iiii")
_INT32 = struct.Struct("<i")
_UINT32 = struct.Struct("<I")
_REPLY_PREFIX = struct.Struct("<iqii")

Document = dict[str, Any]

# Plain dicts, naive UTC datetimes, UUIDs kept as Binary: round-trips every BSON type unchanged.
CODEC_OPTIONS: CodecOptions[Document] = CodecOptions(document_class=dict)


class WireError(Exception):
    """A message is malformed; the connection that sent it should be closed."""


@dataclass(frozen=True)
class Header:
    """The 16-byte header every wire message starts with."""

    message_length: int
    request_id: int
    response_to: int
    op_code: int


@dataclass(frozen=True)
class OpMsg:
    """A decoded OP_MSG: the body plus kind-1 document sequences by identifier."""

    flag_bits: int
    body: Document
    sequences: dict[str, list[Document]] = field(default_factory=dict)

    @property
    def more_to_come(self) -> bool:
        return bool(self.flag_bits & MORE_TO_COME)

    def command(self) -> Document:
        """The body with each document sequence merged in as an array field."""
        merged = dict(self.body)
        for identifier, documents in self.sequences.items():
            merged[identifier] = documents
        return merged


@dataclass(frozen=True)
class OpQuery:
    """A decoded legacy OP_QUERY (used by drivers only for the handshake)."""

    flags: int
    full_collection_name: str
    number_to_skip: int
    number_to_return: int
    query: Document


def decode_header(data: bytes) -> Header:
    """Decode and sanity-check a message header; raises ``WireError``."""
    if len(data) != HEADER_SIZE:
        raise WireError(f"header must be {HEADER_SIZE} bytes, got {len(data)}")
    length, request_id, response_to, op_code = _HEADER.unpack(data)
    if not HEADER_SIZE < length <= MAX_MESSAGE_SIZE:
        raise WireError(f"message length {length} out of range (17..{MAX_MESSAGE_SIZE})")
    return Header(length, request_id, response_to, op_code)


def encode_header(body_length: int, request_id: int, response_to: int, op_code: int) -> bytes:
    """The header for a message whose payload (after the header) is ``body_length`` bytes."""
    return _HEADER.pack(HEADER_SIZE + body_length, request_id, response_to, op_code)


def _decode_document(data: bytes, offset: int, where: str) -> tuple[Document, int]:
    if offset + 4 > len(data):
        raise WireError(f"{where}: truncated document size at byte {offset}")
    (size,) = _INT32.unpack_from(data, offset)
    if size < 5 or offset + size > len(data):
        raise WireError(f"{where}: document size {size} at byte {offset} overruns the message")
    try:
        document = bson.decode(data[offset : offset + size], CODEC_OPTIONS)
    except Exception as exc:  # bson raises several types for corrupt input
        raise WireError(f"{where}: invalid BSON at byte {offset}: {exc}") from exc
    return document, offset + size


def _read_cstring(data: bytes, offset: int, where: str) -> tuple[str, int]:
    end = data.find(b"\x00", offset)
    if end < 0:
        raise WireError(f"{where}: unterminated string at byte {offset}")
    try:
        return data[offset:end].decode("utf-8"), end + 1
    except UnicodeDecodeError as exc:
        raise WireError(f"{where}: string at byte {offset} is not UTF-8") from exc


def decode_op_msg(payload: bytes) -> OpMsg:
    """Decode an OP_MSG payload (the bytes after the header); raises ``WireError``."""
    if len(payload) < 5:
        raise WireError("OP_MSG: payload too short")
    (flag_bits,) = _UINT32.unpack_from(payload, 0)
    required = flag_bits & 0xFFFF & ~_KNOWN_MSG_FLAGS
    if required:
        raise WireError(f"OP_MSG: unknown required flag bits {required:#x}")
    end = len(payload) - 4 if flag_bits & CHECKSUM_PRESENT else len(payload)
    offset = 4
    body: Document | None = None
    sequences: dict[str, list[Document]] = {}
    while offset < end:
        kind = payload[offset]
        offset += 1
        if kind == 0:
            if body is not None:
                raise WireError("OP_MSG: more than one kind-0 section")
            body, offset = _decode_document(payload[:end], offset, "OP_MSG body")
        elif kind == 1:
            if offset + 4 > end:
                raise WireError("OP_MSG: truncated document sequence")
            (size,) = _INT32.unpack_from(payload, offset)
            seq_end = offset + size
            if size < 5 or seq_end > end:
                raise WireError(f"OP_MSG: document sequence size {size} overruns the message")
            identifier, pos = _read_cstring(payload[:seq_end], offset + 4, "OP_MSG sequence")
            documents: list[Document] = []
            while pos < seq_end:
                document, pos = _decode_document(payload[:seq_end], pos, f"sequence {identifier!r}")
                documents.append(document)
            sequences.setdefault(identifier, []).extend(documents)
            offset = seq_end
        else:
            raise WireError(f"OP_MSG: unknown section kind {kind} at byte {offset - 1}")
    if offset != end:
        raise WireError("OP_MSG: sections overrun the message")
    if body is None:
        raise WireError("OP_MSG: no kind-0 body section")
    return OpMsg(flag_bits, body, sequences)


def encode_op_msg(
    body: Document,
    request_id: int,
    response_to: int,
    *,
    flag_bits: int = 0,
    sequences: dict[str, list[Document]] | None = None,
) -> bytes:
    """A complete OP_MSG message (header included) with one body and optional sequences."""
    parts = [_UINT32.pack(flag_bits), b"\x00", bson.encode(body)]
    for identifier, documents in (sequences or {}).items():
        encoded = identifier.encode("utf-8") + b"\x00" + b"".join(bson.encode(d) for d in documents)
        parts += [b"\x01", _INT32.pack(4 + len(encoded)), encoded]
    payload = b"".join(parts)
    return encode_header(len(payload), request_id, response_to, OP_MSG) + payload


def decode_op_query(payload: bytes) -> OpQuery:
    """Decode an OP_QUERY payload (the bytes after the header); raises ``WireError``."""
    if len(payload) < 4:
        raise WireError("OP_QUERY: payload too short")
    (flags,) = _INT32.unpack_from(payload, 0)
    name, offset = _read_cstring(payload, 4, "OP_QUERY collection name")
    if offset + 8 > len(payload):
        raise WireError("OP_QUERY: truncated skip/return counts")
    skip, to_return = struct.unpack_from("<ii", payload, offset)
    query, offset = _decode_document(payload, offset + 8, "OP_QUERY query")
    if offset < len(payload):  # optional returnFieldsSelector, unused
        _decode_document(payload, offset, "OP_QUERY returnFieldsSelector")
    return OpQuery(flags, name, skip, to_return, query)


def encode_op_query(
    full_collection_name: str, query: Document, request_id: int, *, number_to_return: int = -1
) -> bytes:
    """A complete OP_QUERY message (for tests and tools)."""
    payload = (
        _INT32.pack(0)
        + full_collection_name.encode("utf-8")
        + b"\x00"
        + struct.pack("<ii", 0, number_to_return)
        + bson.encode(query)
    )
    return encode_header(len(payload), request_id, 0, OP_QUERY) + payload


def encode_op_reply(
    documents: list[Document], request_id: int, response_to: int, *, cursor_id: int = 0
) -> bytes:
    """A complete OP_REPLY message (the answer to an OP_QUERY)."""
    encoded = b"".join(bson.encode(d) for d in documents)
    payload = _REPLY_PREFIX.pack(0, cursor_id, 0, len(documents)) + encoded
    return encode_header(len(payload), request_id, response_to, OP_REPLY) + payload


def decode_op_reply(payload: bytes) -> list[Document]:
    """The documents of an OP_REPLY payload (for tests and tools); raises ``WireError``."""
    if len(payload) < _REPLY_PREFIX.size:
        raise WireError("OP_REPLY: payload too short")
    _flags, _cursor, _start, count = _REPLY_PREFIX.unpack_from(payload, 0)
    offset = _REPLY_PREFIX.size
    documents = []
    for _ in range(count):
        document, offset = _decode_document(payload, offset, "OP_REPLY document")
        documents.append(document)
    return documents


__all__ = [
    "CODEC_OPTIONS",
    "HEADER_SIZE",
    "MAX_MESSAGE_SIZE",
    "OP_COMPRESSED",
    "OP_MSG",
    "OP_QUERY",
    "OP_REPLY",
    "Header",
    "OpMsg",
    "OpQuery",
    "WireError",
    "decode_header",
    "decode_op_msg",
    "decode_op_query",
    "decode_op_reply",
    "encode_header",
    "encode_op_msg",
    "encode_op_query",
    "encode_op_reply",
]
