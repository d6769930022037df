"""Assemble the relay (Socket.IO server + HTTP routes on one aiohttp app), start and stop it.

Unknown events are never acted on: one that asks for an ack is refused ``forbidden`` (with
``wrong-side-ignored``, it gets no ack at all); see ``RelayContext.unanswered``.

A Socket.IO packet or engine.io frame that does not decode closes its connection, and
what aiohttp and python-engineio refuse themselves (not HTTP, not engine.io framing) is
logged in one line instead of a traceback (``malformed.py``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import socketio
from aiohttp import web
from engineio.payload import Payload

from harness.protocol import SOCKETIO_PATH, ErrorCode
from harness.relay import jsoncodec
from harness.relay.context import NAMESPACE, RelayContext
from harness.relay.cors import CorsPolicy
from harness.relay.drone_handlers import DroneHandlers
from harness.relay.http_api import add_routes
from harness.relay.ide_handlers import IdeHandlers
from harness.relay.lifecycle import Lifecycle
from harness.relay.malformed import (
    OneLineClientErrors,
    answer_closing_sessions,
    close_on_malformed_frames,
    close_on_malformed_packets,
)
from harness.relay.polling import read_polling_posts_whole
from harness.relay.registry import SessionRegistry
from harness.relay.stopping import HandshakeGate
from harness.relay.store import Store
from harness.relay.variants import Dialect
from harness.settings import RelaySettings

__all__ = ["MAX_HTTP_BUFFER_SIZE", "MAX_PACKETS_PER_POLL", "Relay"]

logger = logging.getLogger(__name__)

MAX_HTTP_BUFFER_SIZE = 1_000_000  # bytes per message / per polling request (engine.io default)
MAX_PACKETS_PER_POLL = 10_000  # engine.io's default of 16 would reject busy polling drones
DATABASE_TIMEOUT = 3.0
STOP_TIMEOUT = 10.0
# Known-bug switches of the relay as a whole (docs/socket-protocol.md, section 12).
RESTART_STRANDS_CLIENTS = "restart-strands-clients"
NO_HEARTBEAT_REAPING = "no-heartbeat-reaping"
# With no-heartbeat-reaping: a ping timeout no run outlives (a day; socket.io-client's
# timers take at most 2**31 - 1 ms).
NEVER_REAPED = 86_400.0
SHUTDOWN_GRACE = 1.0  # seconds for in-flight HTTP requests (long polls) at stop


class Relay:
    """One reference relay. ``await start()`` binds and returns the port; ``stop()`` undoes it.

    Also an async context manager. ``start`` raises ``DatabaseError`` (URI password masked)
    when the database does not answer within a few seconds.
    """

    def __init__(self, settings: RelaySettings) -> None:
        self.settings = settings
        self.port: int | None = None
        self._runner: web.AppRunner | None = None
        # A polling client may batch many packets in one POST; the bound is then the
        # byte size (max_http_buffer_size), not an arbitrary packet count.
        Payload.max_decode_packets = max(Payload.max_decode_packets, MAX_PACKETS_PER_POLL)
        self.cors = CorsPolicy(settings.cors_origins)
        self.sio = socketio.AsyncServer(
            async_mode="aiohttp", json=jsoncodec, **self.cors.socketio_options(),
            max_http_buffer_size=MAX_HTTP_BUFFER_SIZE, logger=False, engineio_logger=False,
            ping_interval=settings.ping_interval,
            ping_timeout=NEVER_REAPED if settings.regressed(NO_HEARTBEAT_REAPING)
            else settings.ping_timeout,
        )
        read_polling_posts_whole(self.sio.eio)
        close_on_malformed_frames(self.sio.eio)
        answer_closing_sessions(self.sio.eio)
        self.gate = HandshakeGate()
        self.gate.install(self.sio.eio)
        OneLineClientErrors.install()
        self.store = Store(settings.mongo_uri, settings.database, timeout=DATABASE_TIMEOUT,
                           now=Dialect.of(settings).stored_now)
        self.registry = SessionRegistry(settings.regressions)
        self.ctx = RelayContext(self.sio, self.store, self.registry, settings)
        close_on_malformed_packets(self.sio, self.ctx.dialect.connect_refusal(
            ErrorCode.AUTH_INVALID, "auth: the CONNECT packet does not decode"))
        self.lifecycle = Lifecycle(self.ctx)
        self.lifecycle.register()
        IdeHandlers(self.ctx).register()
        DroneHandlers(self.ctx).register()
        self.sio.on("*", self._unknown_event)
        self.app = web.Application()
        self.sio.attach(self.app, socketio_path=SOCKETIO_PATH.strip("/"))
        add_routes(self.app, self.ctx, self.cors)

    @property
    def url(self) -> str:
        """``http://host:port`` once started."""
        if self.port is None:
            raise RuntimeError("the relay is not started")
        return f"http://{self.settings.host}:{self.port}"

    async def start(self) -> int:
        """Reach the database, create indexes, bind, and return the bound port."""
        try:
            await self.store.open()
            await self._reset_stale_sessions()
            runner = web.AppRunner(self.app, handle_signals=False, access_log=None,
                                   shutdown_timeout=SHUTDOWN_GRACE)
            await runner.setup()
            self._runner = runner
            site = web.TCPSite(runner, self.settings.host, self.settings.port)
            await site.start()
        except BaseException:
            await self.stop()
            raise
        self.port = int(runner.addresses[0][1])
        logger.info("relay listening on %s (database %s)%s", self.url, self.settings.database,
                    f"; variants: {', '.join(sorted(self.settings.variants))}"
                    if self.settings.variants else "")
        return self.port

    async def _reset_stale_sessions(self) -> None:
        # No socket is live before this process listens: anything the database still
        # records online was left by a previous process that could not clean up (killed).
        registrations, work_orders = await self.store.reset_stale_sessions()
        if registrations:
            logger.warning("start-up: %d drone registration(s) left online by a previous "
                           "relay process set offline; %d work order(s) aborted",
                           registrations, work_orders)

    async def stop(self) -> None:
        """Refuse new connections, close every client's transport (so the database records
        it), then everything.

        Transports are closed, not Socket.IO-disconnected: a client told ``io server
        disconnect`` never reconnects (socket.io-client's rule), one that sees ``transport
        close`` comes back when the relay does (``tests/integration/test_js_client_restart.py``).
        """
        strand = self.settings.regressed(RESTART_STRANDS_CLIENTS)
        self.gate.close()  # a client closed below must not reconnect to this process
        closed: set[str] = set()
        try:
            async with asyncio.timeout(STOP_TIMEOUT):
                # Again until none is left: a session whose engine.io handshake came
                # before the gate closed may finish its Socket.IO connect meanwhile.
                while pending := [s.sid for s in self.registry.sessions()
                                  if s.sid not in closed]:
                    for sid in pending:
                        closed.add(sid)
                        if strand:  # the bug: "io server disconnect", never reconnected
                            await self.sio.disconnect(sid, namespace=NAMESPACE)
                        else:
                            await self.lifecycle.close_transport(sid)
        except TimeoutError:
            logger.warning("clients did not disconnect within %.0f s", STOP_TIMEOUT)
        await self.lifecycle.wait_closed(SHUTDOWN_GRACE)
        if self._runner is not None:
            await self.sio.shutdown()
            await self._runner.cleanup()
            self._runner = None
        await self.store.close()

    async def __aenter__(self) -> Relay:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _unknown_event(self, event: str, sid: str, *args: Any) -> Any:
        logger.debug("refused unknown event %r from %s", event, sid)
        return self.ctx.unanswered(f"{event}: no such event")
