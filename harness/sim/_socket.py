"""One Socket.IO connection of a simulated client, on python-socketio's ``AsyncClient``.

``Link`` owns one ``AsyncClient`` and the aiohttp session under it. It adds what the
library does not offer: handlers that may send *no* ack packet at all, a clean goodbye
that is flushed before the transport closes, and ``crash()``, which shuts the TCP sockets
down under the client so the relay sees an abrupt close with no Socket.IO or Engine.IO
goodbye. Recording into the history is the owner's job (``LinkOwner`` callbacks).

``Link.cause`` names why the connection ended the way socket.io-client 4.8 would
(``harness.sim.reconnect.CAUSES``). python-socketio reports both the server's Socket.IO
DISCONNECT packet and an Engine.IO CLOSE as "server disconnect", and every lost transport
(a closed websocket, a failed long-poll, a silent server) as "transport error"; the
causes are told apart here: the DISCONNECT packet marks the link as it is handled, and a
ping watchdog closes the link on socket.io-client's heartbeat rule (engine.io-client
``socket.js`` ``_resetPingTimeout``: no PING within pingInterval + pingTimeout of the
last one), which python-engineio does not apply to long-polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import weakref
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Final, Literal, Protocol

import aiohttp
import engineio
import engineio.packet
import engineio.payload
import socketio
from socketio import packet

from harness.protocol import SOCKETIO_PATH
from harness.sim._engine import EngineClient, engine_clock, raise_decode_limit
from harness.sim.reconnect import SERVER_DISCONNECT

__all__ = ["CONNECTION_ERRORS", "TRANSPORTS", "Link", "LinkOwner", "Reply", "Transport"]

log = logging.getLogger(__name__)

Transport = Literal["websocket", "polling"]
TRANSPORTS: Final = ("websocket", "polling")
# What a failed ``AsyncClient.connect`` raises.
CONNECTION_ERRORS: Final = (
    socketio.exceptions.ConnectionError,
    engineio.exceptions.ConnectionError,
)

# How early python-engineio's websocket read timeout (pingInterval + pingTimeout from the
# last message) may fire before the watchdog's deadline (from the last PING, read a
# moment later) and still count as the ping timeout.
_PING_SLACK: Final = 0.25


@dataclass(frozen=True)
class Reply:
    """A handler's answer to a received event.

    ``args`` are the ack arguments; ``send=False`` sends no ack packet at all (even when
    the relay asked for one); ``then`` is called once the ack is queued (so anything it
    emits goes out after the ack).
    """

    args: tuple[Any, ...] = ()
    send: bool = True
    then: Callable[[], None] | None = None


class LinkOwner(Protocol):
    """What a ``Link`` reports to the simulated client that owns it."""

    def link_connected(self, link: Link) -> None: ...

    def link_event(
        self, link: Link, event: str, args: tuple[Any, ...], wants_ack: bool
    ) -> Reply: ...

    def link_acked(self, link: Link, event: str, args: tuple[Any, ...]) -> None: ...

    def link_disconnected(self, link: Link, detail: str) -> None: ...

    def link_leaving(self, link: Link) -> None: ...

    def link_failed(self, link: Link, where: str, exc: BaseException) -> None: ...


class _Client(socketio.AsyncClient):  # type: ignore[misc]
    """``AsyncClient`` whose event handling lets the owner send no ack at all.

    The library always answers an event that asked for an ack (an empty ack when the
    handler returns None); a drone that "ignores" a request must send nothing, so the
    event path is taken over here: ``_handle_event`` is the one place packets are acked.
    """

    def __init__(self, link: Link, **options: Any) -> None:
        super().__init__(**options)
        self._link = link

    def _engineio_client_class(self) -> type[engineio.AsyncClient]:
        return EngineClient

    async def _handle_disconnect(self, namespace: str | None) -> None:
        # The library reports this packet and an Engine.IO CLOSE with the same reason;
        # socket.io-client calls only this one "io server disconnect" (and never
        # reconnects after it).
        if self.connected and self._link.cause is None:
            self._link.cause = SERVER_DISCONNECT
        await super()._handle_disconnect(namespace)

    async def _handle_event(self, namespace: str | None, id: int | None, data: list[Any]) -> None:
        namespace = namespace or "/"
        event, args = str(data[0]), tuple(data[1:])
        if self._link.leaving is not None and self._link.gone.is_set():
            # Read while our own goodbye closed the transport: socket.io-client drops
            # such packets once disconnect() is called; so does the simulated client.
            log.debug("%s: %r arrived after its own disconnect; dropped", self._link.actor, event)
            return
        # Runs synchronously up to the first await, so events are recorded in arrival order
        # even though Engine.IO dispatches each message in its own task.
        try:
            reply = self._link.owner.link_event(self._link, event, args, id is not None)
        except Exception as exc:  # a bug in a handler must not vanish in an eio task
            self._link.owner.link_failed(self._link, f"handling {event!r}", exc)
            return
        if id is not None and reply.send:
            await self._send_packet(
                self.packet_class(packet.ACK, namespace=namespace, id=id, data=list(reply.args))
            )
            self._link.owner.link_acked(self._link, event, reply.args)
        if reply.then is not None:
            reply.then()


class _SocketTracker:
    """An aiohttp socket factory that remembers every socket it made, to crash them."""

    def __init__(self) -> None:
        self._sockets: list[socket.socket] = []

    def __call__(self, addr_info: tuple[Any, ...]) -> socket.socket:
        family, type_, proto = addr_info[0], addr_info[1], addr_info[2]
        sock = socket.socket(family=family, type=type_, proto=proto)
        self._sockets = [s for s in self._sockets if s.fileno() != -1]
        self._sockets.append(sock)
        return sock

    def shutdown_all(self) -> int:
        """Shut every open socket down both ways; the peer sees a bare TCP close."""
        count = 0
        for sock in self._sockets:
            if sock.fileno() == -1:
                continue
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
                count += 1
        return count


class Link:
    """One connection attempt of a simulated client and everything under it."""

    def __init__(
        self, owner: LinkOwner, *, actor: str, transport: Transport, request_timeout: float
    ) -> None:
        raise_decode_limit()
        self.owner = owner
        self.actor = actor
        self.transport: Transport = transport
        self.sid: str | None = None
        self.silent = False  # a restarted drone's old socket: receives, never answers
        self.leaving: str | None = None  # the reason of a disconnect this side started
        self.refusal: str | None = None  # the relay's connect_error message
        self.cause: str | None = None  # socket.io-client's disconnect reason, once known
        self.attempt: int | None = None  # the reconnection attempt this link is
        self.gone = asyncio.Event()
        self._tracker = _SocketTracker()
        self._session: aiohttp.ClientSession | None = None
        self._responses: weakref.WeakSet[aiohttp.ClientResponse] = weakref.WeakSet()
        self._tasks: set[asyncio.Task[None]] = set()
        self._acks: dict[int, Callable[[tuple[Any, ...] | None], None]] = {}
        self._ack_ids = 0
        self.sio = _Client(
            self,
            reconnection=False,
            handle_sigint=False,
            logger=False,
            engineio_logger=False,
            request_timeout=request_timeout,
            http_session=self._make_session,
        )
        self.sio.on("connect", self._on_connect)
        self.sio.on("connect_error", self._on_connect_error)
        self.sio.on("disconnect", self._on_disconnect)

    async def _track_response(self, session: aiohttp.ClientSession, context: Any,
                              params: aiohttp.TraceRequestEndParams) -> None:
        # Every response, so that release() can close one whose body was never read to
        # its end (a long poll cancelled mid-body): else its connection is reported
        # unclosed by the garbage collector, in whichever test it happens to run.
        self._responses.add(params.response)

    def _make_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(socket_factory=self._tracker)
            tracing = aiohttp.TraceConfig()
            tracing.on_request_end.append(self._track_response)
            self._session = aiohttp.ClientSession(connector=connector,
                                                  trace_configs=[tracing])
            # aiohttp sends a GET again, on a new connection, when the peer drops the one
            # it was on; a browser's or Node's XHR does not, so a long-poll cut under
            # socket.io-client is a "transport error" at once, not a silent retry noticed
            # only at the ping timeout. (aiohttp's own test client turns it off the same way.)
            self._session._retry_connection = False
        return self._session

    @property
    def connected(self) -> bool:
        """True while the Socket.IO namespace is connected."""
        return bool(self.sio.connected) and self.sid is not None

    # --- library callbacks -------------------------------------------------------------
    def _on_connect(self) -> None:
        self.sid = self.sio.get_sid("/")
        self.spawn(self._watch_heartbeat(), "watching the heartbeat")
        self.owner.link_connected(self)

    async def _watch_heartbeat(self) -> None:
        """Close the link as socket.io-client would at its ping timeout."""
        eio = self.sio.eio
        while eio.state == "connected" and not self.gone.is_set():
            deadline = eio.ping_deadline
            if deadline is None:
                return
            delay = deadline - engine_clock()
            if delay > 0:
                await asyncio.sleep(delay)
                continue
            if self.leaving is None and self.cause is None:
                self.cause = "ping timeout"
                log.debug("%s: no PING within the ping timeout; closing", self.actor)
                self._tracker.shutdown_all()
            return

    def _classify(self, detail: str) -> str:
        """socket.io-client's reason for a disconnect python-socketio reported as ``detail``."""
        if self.cause is not None:
            return self.cause
        if self.leaving is not None or detail == engineio.AsyncClient.reason.CLIENT_DISCONNECT:
            return "io client disconnect"
        if detail == engineio.AsyncClient.reason.SERVER_DISCONNECT:
            # An Engine.IO CLOSE (the Socket.IO DISCONNECT marked the link already).
            return "transport close"
        deadline = self.sio.eio.ping_deadline
        if deadline is not None and engine_clock() >= deadline - _PING_SLACK:
            return "ping timeout"  # python-engineio's own read timeout got there first
        # engine.io-client's websocket transport turns every loss of an open socket into
        # ``close`` (the ws library does not emit ``error`` for a reset socket); a failed
        # long-poll request is an ``error``.
        return "transport close" if self.transport == "websocket" else "transport error"

    def _on_connect_error(self, data: Any = None) -> None:
        if isinstance(data, dict):
            self.refusal = str(data.get("message", data))
        else:
            self.refusal = str(data)

    def _on_disconnect(self, detail: str = "") -> None:
        self.cause = self._classify(str(detail))
        self.owner.link_disconnected(self, str(detail))
        pending, self._acks = list(self._acks.values()), {}
        for on_ack in pending:
            on_ack(None)
        self.sid = None
        self.gone.set()

    # --- operations ---------------------------------------------------------------------
    async def connect(self, url: str, auth: dict[str, Any], timeout: float) -> None:
        """Connect; raises socketio/engineio ``ConnectionError`` or ``TimeoutError``."""
        async with asyncio.timeout(timeout):
            await self.sio.connect(
                url,
                auth=auth,
                transports=[self.transport],
                socketio_path=SOCKETIO_PATH,
                wait_timeout=timeout,
            )

    @property
    def refused(self) -> bool:
        """True when the relay answered the connect with ``connect_error``."""
        return bool(self.sio.failed_namespaces)

    async def emit(
        self,
        event: str,
        payload: Any,
        on_ack: Callable[[tuple[Any, ...] | None], None] | None = None,
    ) -> None:
        """Queue one event. ``on_ack`` gets the ack args on arrival, or None when the
        socket disconnects first (the ack can then never come)."""
        if on_ack is None:
            await self.sio.emit(event, payload)
            return
        self._ack_ids += 1
        key = self._ack_ids

        def callback(*args: Any) -> None:
            if self._acks.pop(key, None) is not None:
                on_ack(args)

        self._acks[key] = on_ack
        try:
            await self.sio.emit(event, payload, callback=callback)
        except BaseException:
            self._acks.pop(key, None)
            raise

    async def flush(self, timeout: float) -> bool:
        """Wait until every queued packet has been written to the transport."""
        if self.sio.eio.state != "connected":
            return False
        try:
            async with asyncio.timeout(timeout):
                await self.sio.eio.queue.join()
        except TimeoutError:
            log.debug("%s: send queue not flushed within %ss", self.actor, timeout)
            return False
        return True

    async def goodbye(self, reason: str, timeout: float) -> None:
        """A clean disconnect: Socket.IO DISCONNECT, flushed, then the Engine.IO close."""
        if self.leaving is None:
            self.leaving = reason
        # From here on the socket is closing, as socket.io-client's is once disconnect()
        # was called: nothing the owner emits may follow the DISCONNECT onto the wire.
        self.owner.link_leaving(self)
        eio = self.sio.eio
        polling = eio.current_transport == "polling"
        if self.sio.connected:
            for namespace in list(self.sio.namespaces):
                await self.sio._send_packet(
                    self.sio.packet_class(packet.DISCONNECT, namespace=namespace)
                )
            if polling:
                # The library's own close would wait for the pending long-poll GET, which
                # the server only answers at its ping timeout: send the CLOSE here, flush
                # it, then drop the GET.
                await eio._send_packet(engineio.packet.Packet(engineio.packet.CLOSE))
            await self.flush(timeout)
        if eio.state == "connected":
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await eio.disconnect(abort=polling)
        await self.release()

    async def crash(self, timeout: float) -> None:
        """Drop the TCP sockets with no goodbye and wait for the client to notice."""
        if self.leaving is None:
            self.leaving = "crash"
        self.cancel_tasks()
        dropped = self._tracker.shutdown_all()
        log.debug("%s: crash shut down %d socket(s)", self.actor, dropped)
        if self.sio.connected:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self.gone.wait()
        await self.release()

    def spawn(self, coro: Coroutine[Any, Any, None], what: str) -> None:
        """Run ``coro`` in a task owned by this link; a failure is reported, not lost.
        (The task runs ``coro`` itself, so one cancelled before it started leaves no
        coroutine unawaited.)"""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._settled(done, what))

    def _settled(self, task: asyncio.Task[None], what: str) -> None:
        self._tasks.discard(task)
        failure = None if task.cancelled() else task.exception()
        if isinstance(failure, Exception):
            self.owner.link_failed(self, what, failure)

    def cancel_tasks(self) -> None:
        """Cancel this link's background tasks (a crashed process runs nothing more)."""
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()

    async def release(self) -> None:
        """Free the transport and the HTTP session; idempotent. A socket still open here
        (a restarted drone's stale one) is dropped as a crash."""
        current = asyncio.current_task()
        pending = [t for t in self._tasks if t is not current]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        eio = self.sio.eio
        if eio.state == "connected":
            if self.leaving is None:
                self.leaving = "crash"
            self._tracker.shutdown_all()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await eio.disconnect(abort=True)
        for task in (eio.read_loop_task, eio.write_loop_task):
            if task is not None and not task.done() and task is not current:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        for response in list(self._responses):
            if response.connection is not None:  # a long poll cut while its body came in
                response.close()
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self.sid = None
        self.gone.set()
