"""Raw HTTP to a relay: any bytes as the request, the answer read whole."""

from __future__ import annotations

import asyncio


async def raw_http(relay_url: str, request: bytes,
                   timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` as is (malformed headers, bytes that are not UTF-8) to the relay at
    ``relay_url``; its status, its headers (names lower-cased) and its body bytes."""
    host, _, port = relay_url.removeprefix("http://").rpartition(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body
