"""A relay on its way down opens no new connection.

``Relay.stop`` closes every client's transport before the listener goes, and a client
whose transport is closed reconnects by itself, socket.io-client after 50-150 ms with the
fidelity tests' backoff. A relay still accepting handshakes then took the client back,
dropped it again a moment later without cleanup (a drone's registration stayed online in
the database), and the client counted one connection too many
(``tests/integration/test_js_client_restart.py`` failed about one run in eight).

``HandshakeGate`` answers every new engine.io session (a request to the Socket.IO path
with no ``sid``: a polling handshake or a websocket opened directly) 503 once closed.
socket.io-client and the simulated clients read that as the relay being unreachable
(``xhr poll error``, ``websocket error``) and keep trying with backoff, as against a
relay that is down. Requests of existing sessions pass: a polling client still collects
its CLOSE packet with its next GET.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

import engineio
from aiohttp import web

__all__ = ["HandshakeGate"]

logger = logging.getLogger(__name__)

STOPPING_STATUS: Final = 503
SESSION_PARAMETER: Final = "sid"


class HandshakeGate:
    """Refuses new engine.io sessions once ``close()`` is called."""

    def __init__(self) -> None:
        self.closed = False

    def install(self, eio: engineio.AsyncServer) -> None:
        """Put the gate in front of ``eio``'s request handler; call before ``attach``
        (the route takes ``eio.handle_request`` as it is then)."""
        handle: Callable[..., Awaitable[Any]] = eio.handle_request

        async def handle_request(request: web.Request) -> Any:
            if self.closed and SESSION_PARAMETER not in request.query:
                logger.info("%s %s: refused a new connection, the relay is stopping",
                            request.method, request.path)
                return web.Response(status=STOPPING_STATUS, text="the relay is stopping")
            return await handle(request)

        eio.handle_request = handle_request

    def close(self) -> None:
        """From now on, refuse every new engine.io session."""
        self.closed = True
