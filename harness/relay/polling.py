"""Long-polling POST bodies read whole.

python-engineio's aiohttp driver reads a polling POST with ``request.content.read(length)``,
and aiohttp's ``StreamReader.read(n)`` returns *up to* ``n`` bytes: whatever has arrived.
A POST larger than one network read (a polling drone's burst, a few hundred kB) was cut,
its last packet failed to decode and every packet after it was lost without a word. The
relay's engine.io server therefore reads POST bodies with ``readexactly``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import engineio

__all__ = ["read_polling_posts_whole"]


class _WholeBody:
    """``request.content`` whose ``read(n)`` waits for all ``n`` bytes."""

    def __init__(self, content: Any) -> None:
        self._content = content

    async def read(self, size: int = -1) -> bytes:
        if size < 0:
            return bytes(await self._content.read())
        try:
            return bytes(await self._content.readexactly(size))
        except asyncio.IncompleteReadError as exc:  # the client hung up mid-body
            return bytes(exc.partial)


def read_polling_posts_whole(eio: engineio.AsyncServer) -> None:
    """Make ``eio`` (on the aiohttp driver) read each polling POST body completely."""
    drivers: dict[str, Any] = dict(eio._async)  # the driver's table is shared: copy it
    translate: Callable[..., dict[str, Any]] = drivers["translate_request"]

    def translate_whole(request: Any) -> dict[str, Any]:
        environ = translate(request)
        environ["wsgi.input"] = _WholeBody(environ["wsgi.input"])
        return environ

    drivers["translate_request"] = translate_whole
    eio._async = drivers
