"""The relay reads a long-polling POST body whole, though it arrives in pieces."""

from __future__ import annotations

import asyncio
from typing import Any

import socketio
from aiohttp import StreamReader
from aiohttp.base_protocol import BaseProtocol

from harness.relay.polling import _WholeBody, read_polling_posts_whole


def _reader() -> StreamReader:
    loop = asyncio.get_running_loop()
    protocol = BaseProtocol(loop)
    protocol.connection_made(asyncio.Transport())  # a live connection, as in a request
    return StreamReader(protocol, limit=2**16, loop=loop)


async def test_read_waits_for_every_byte_of_a_body_that_arrives_in_pieces() -> None:
    content = _reader()
    content.feed_data(b"a" * 1000)
    loop = asyncio.get_running_loop()
    loop.call_soon(content.feed_data, b"b" * 1000)
    loop.call_soon(content.feed_eof)
    assert await _WholeBody(content).read(2000) == b"a" * 1000 + b"b" * 1000


async def test_the_plain_stream_would_return_only_the_first_piece() -> None:
    content = _reader()
    content.feed_data(b"a" * 1000)
    asyncio.get_running_loop().call_soon(content.feed_data, b"b" * 1000)
    assert len(await content.read(2000)) == 1000  # the library bug this module works around


async def test_a_body_cut_short_by_the_client_returns_what_came() -> None:
    content = _reader()
    content.feed_data(b"abc")
    content.feed_eof()
    assert await _WholeBody(content).read(10) == b"abc"


async def test_the_server_translates_requests_with_the_whole_body_reader() -> None:
    sio = socketio.AsyncServer(async_mode="aiohttp")
    other = socketio.AsyncServer(async_mode="aiohttp")
    read_polling_posts_whole(sio.eio)

    class Request:
        content = _reader()
        method, query_string, path_qs, path, version = "POST", "", "/", "/", (1, 1)
        headers: dict[str, str] = {}

    request: Any = Request()
    environ = sio.eio._async["translate_request"](request)
    assert isinstance(environ["wsgi.input"], _WholeBody)
    untouched = other.eio._async["translate_request"](request)
    assert untouched["wsgi.input"] is request.content  # the driver's shared table is intact
