"""Forwarding, unchanged: the header rules of a reverse proxy and the websocket pump.

Hop-by-hop headers (RFC 9110 section 7.6.1) and ``Host`` are not passed on; bodies pass as
bytes, still compressed if they were (``auto_decompress=False`` upstream), so what the
client reads is what the relay wrote. ``body_text`` undoes the compression for decoding
only.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import zlib
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

__all__ = ["HOP_BY_HOP", "body_json", "body_text", "pump", "request_headers",
           "response_headers", "websocket_headers"]

HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
    "trailer", "trailers", "transfer-encoding", "upgrade", "host", "content-length",
    "proxy-connection",
})
_WS_OWN = ("sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions",
           "sec-websocket-protocol")
_CLOSABLE = range(1000, 5000)
_RESERVED = (1004, 1005, 1006, 1015)


def _named_in_connection(headers: Mapping[str, str]) -> set[str]:
    return {token.strip().lower() for token in headers.get("Connection", "").split(",")}


def request_headers(headers: CIMultiDict[str] | Mapping[str, str]) -> CIMultiDict[str]:
    """A client request's headers as the relay should get them."""
    drop = HOP_BY_HOP | _named_in_connection(headers)
    return CIMultiDict((k, v) for k, v in headers.items() if k.lower() not in drop)


def websocket_headers(headers: CIMultiDict[str] | Mapping[str, str]) -> CIMultiDict[str]:
    """A websocket upgrade's headers for the upstream handshake (cookies, Authorization,
    Origin, ...); the handshake's own ``Sec-WebSocket-*`` are made afresh."""
    return CIMultiDict((k, v) for k, v in request_headers(headers).items()
                       if k.lower() not in _WS_OWN)


def response_headers(headers: CIMultiDict[str] | Mapping[str, str]) -> CIMultiDict[str]:
    """An upstream answer's headers for the client (the body is passed as it came)."""
    drop = HOP_BY_HOP | _named_in_connection(headers)
    return CIMultiDict((k, v) for k, v in headers.items() if k.lower() not in drop)


def body_text(raw: bytes, encoding: str | None) -> str:
    """A body as text for decoding: gzip/deflate undone, UTF-8 (bad bytes replaced)."""
    coding = (encoding or "").lower()
    try:
        if coding == "gzip":
            raw = gzip.decompress(raw)
        elif coding == "deflate":
            raw = zlib.decompress(raw)
    except (OSError, zlib.error, EOFError):
        return ""
    return raw.decode("utf-8", errors="replace")


def body_json(raw: bytes, encoding: str | None) -> Any:
    """A body as recorded: its JSON value, else its text, None when empty."""
    text = body_text(raw, encoding)
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _close_code(code: int | None) -> int:
    if code is None or code not in _CLOSABLE or code in _RESERVED:
        return 1000
    return code


Socket = web.WebSocketResponse | aiohttp.ClientWebSocketResponse


async def _one_way(src: Socket, dst: Socket, seen: Callable[[str | bytes], None]) -> None:
    async for message in src:
        if message.type is aiohttp.WSMsgType.TEXT:
            seen(message.data)
            await dst.send_str(message.data)
        elif message.type is aiohttp.WSMsgType.BINARY:
            seen(message.data)
            await dst.send_bytes(message.data)
        elif message.type is aiohttp.WSMsgType.ERROR:
            break


async def pump(client: web.WebSocketResponse, upstream: aiohttp.ClientWebSocketResponse,
               *, from_client: Callable[[str | bytes], None],
               from_upstream: Callable[[str | bytes], None]) -> str:
    """Pass messages both ways until either side closes, then close the other with the
    same code. ``from_client``/``from_upstream`` see each message before it is passed on.
    Returns who ended it, in words (``websocket closed by the client (code 1000)``)."""
    ways = {
        asyncio.create_task(_one_way(client, upstream, from_client)): "client",
        asyncio.create_task(_one_way(upstream, client, from_upstream)): "relay",
    }
    done, pending = await asyncio.wait(ways, return_when=asyncio.FIRST_COMPLETED)
    first = next(iter(done))
    ender = ways[first]
    for task in pending:
        task.cancel()
    await asyncio.gather(*ways, return_exceptions=True)
    failed = first.exception() if not first.cancelled() else None
    if ender == "client":
        code = client.close_code
        await upstream.close(code=_close_code(code))
    else:
        code = upstream.close_code
        await client.close(code=_close_code(code))
    how = f"code {code}" if code is not None else "no close frame"
    if failed is not None:
        how += f", {type(failed).__name__}"
    return f"websocket closed by the {ender} ({how})"

