"""Connect and disconnect: authentication, registration in the registry, and cleanup.

A drone's connect and disconnect run under its registration's lock, so a reconnect and the
disconnect of the socket it replaced cannot interleave their database writes. The newest
connection wins: the older socket is disconnected, and its disconnect is a *handover*: it
leaves the registration, its lock and its work orders to the new socket. Only a real
disconnect (the socket still owned the registration) sets it offline, clears the lock and
aborts unfinished work orders.

"Newest" is the order the connects came in, not the order their authentication finished: a
drone connect that a newer one of the same registration overtook, or whose client closed it
while the relay was still authenticating it (a client that timed out and connected again),
is dropped, never registered; under load that older socket would replace the live one.

A refused connection's ``connect_error`` carries the reason code (section 3) in the words of
the relay's ``Dialect`` (``other-messages`` changes them). An *event* named ``connect`` or
``disconnect`` from a connected socket is not a connection: it is answered like any unknown
event (``RelayContext.unanswered``) and changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from typing import Any

from socketio.exceptions import ConnectionRefusedError as SocketRefused

from harness.protocol import DroneStatus, ErrorCode
from harness.relay.auth import AuthRefused, CodeIdentity, authenticate
from harness.relay.context import NAMESPACE, RelayContext
from harness.relay.inbox import Inbox
from harness.relay.registry import CodeSession, DroneSession

__all__ = ["Lifecycle"]

logger = logging.getLogger(__name__)

INBOX_DRAIN_TIMEOUT = 5.0
TRANSPORT_CLOSE_TIMEOUT = 5.0
TRANSPORT_CLOSE_WAIT = 0.25


class Lifecycle:
    """The ``connect`` and ``disconnect`` handlers."""

    def __init__(self, ctx: RelayContext) -> None:
        self._ctx = ctx
        self._closing: set[asyncio.Task[None]] = set()
        self._arrivals = itertools.count(1)

    def register(self) -> None:
        """Install the handlers on the server."""
        self._ctx.sio.on("connect", self.on_connect)
        self._ctx.sio.on("disconnect", self.on_disconnect)

    def _is_live(self, sid: str) -> bool:
        return bool(self._ctx.sio.manager.is_connected(sid, NAMESPACE))

    async def on_connect(self, sid: str, *args: Any) -> Any:
        """Authenticate and register the socket; refuse with the reason as the message."""
        if self._is_live(sid):
            # A connected client emitted an event named "connect": not a connection.
            logger.debug("ignored a 'connect' event from connected socket %s", sid)
            return self._ctx.unanswered("connect: not an event a client may send")
        arrival = next(self._arrivals)  # before any await: the order connects came in
        auth = args[1] if len(args) > 1 else None
        try:
            identity = await authenticate(self._ctx.store, auth)
            if isinstance(identity, CodeIdentity):
                self._ctx.registry.add_code(CodeSession(sid, identity.user_id))
                logger.info("code session %s connected (user %s)", sid, identity.user_id)
                return True
            await self._connect_drone(sid, identity.registration.id,
                                      identity.registration.user_id, arrival)
            return True
        except AuthRefused as exc:
            logger.info("refused connection %s: %s (%s)", sid, exc.code, exc.message)
            raise SocketRefused(*self._ctx.dialect.connect_refusal(exc.code,
                                                                   exc.message)) from None
        except SocketRefused:
            raise  # a connection dropped on purpose (its client has gone)
        except Exception:
            logger.exception("connect of %s failed", sid)
            await self._forget(sid)  # a refused socket gets no disconnect event
            message = "the relay failed to register the connection; see its log"
            raise SocketRefused(*self._ctx.dialect.connect_refusal(ErrorCode.INTERNAL,
                                                                   message)) from None

    async def _connect_drone(self, sid: str, registration_id: str, user_id: str,
                             arrival: int) -> None:
        ctx = self._ctx
        async with ctx.registration_lock(registration_id):
            live = ctx.registry.drone_by_registration(registration_id)
            if self._transport_gone(sid) or (live is not None and live.arrival > arrival):
                # The client gave up while we authenticated (an overloaded relay) and has
                # connected again: this older socket must not replace the newer one.
                logger.info("drone %s: connect of %s dropped, a newer one came in or its "
                            "client has gone", registration_id, sid)
                raise SocketRefused("a newer connection of this drone came in")
            doc = await ctx.store.mark_drone_online(registration_id)
            session = DroneSession(sid, user_id, registration_id,
                                   locked_by=doc.locked_by if doc else None, arrival=arrival)
            session.inbox = Inbox(sid)
            older = ctx.registry.add_drone(session)
            if older is not None:
                # A handover: the work orders the relay created go with the registration.
                session.work_orders.update(older.work_orders)
        status = doc.status if doc else DroneStatus.ONLINE
        logger.info("drone %s connected as %s (%s)%s", registration_id, sid, status,
                    f", replacing {older.sid}" if older else "")
        if older is not None:
            # Outside the registration lock: the older socket's disconnect takes it.
            await ctx.sio.disconnect(older.sid)
        await ctx.drone_status(user_id, registration_id, status)

    def _transport_gone(self, sid: str) -> bool:
        """True when the engine.io socket under ``sid`` has closed (python-socketio then
        never reports its disconnect: it closed before the connect completed)."""
        eio_sid = self._ctx.sio.manager.eio_sid_from_sid(sid, NAMESPACE)
        socket = self._ctx.sio.eio.sockets.get(eio_sid) if eio_sid is not None else None
        return socket is None or bool(socket.closed or socket.closing)

    async def _forget(self, sid: str) -> None:
        session = self._ctx.registry.remove(sid)
        if isinstance(session, DroneSession):
            session.closed.set()
            if session.inbox is not None:
                await session.inbox.close(INBOX_DRAIN_TIMEOUT)

    async def on_disconnect(self, sid: str, *args: Any) -> Any:
        """Remove the socket from every map; for a drone that was not replaced, clean up."""
        if self._is_live(sid):
            logger.debug("ignored a 'disconnect' event from connected socket %s", sid)
            return self._ctx.unanswered("disconnect: not an event a client may send")
        ctx = self._ctx
        await self.close_transport(sid)
        session = ctx.registry.session(sid)
        if session is None:
            return None
        if isinstance(session, CodeSession):
            ctx.registry.remove(sid)
            logger.info("code session %s disconnected", sid)
            return None
        session.closed.set()
        if session.inbox is not None:
            # Events the drone sent before it went are still delivered, in order.
            await session.inbox.close(INBOX_DRAIN_TIMEOUT)
        registration_id = session.registration_id
        async with ctx.registration_lock(registration_id):
            current = ctx.registry.is_current(session)
            ctx.registry.remove(sid)
            if not current:
                logger.info("drone %s: socket %s replaced (handover)", registration_id, sid)
                return None
            try:
                aborted = await ctx.store.mark_drone_offline(registration_id)
            except Exception:
                logger.exception("drone %s: could not record the disconnect", registration_id)
                aborted = 0
        logger.info("drone %s disconnected (%s); %d work order(s) aborted",
                    registration_id, sid, aborted)
        await ctx.drone_status(session.user_id, registration_id, DroneStatus.OFFLINE)
        return None

    async def close_transport(self, sid: str) -> None:
        """Close the engine.io transport of socket ``sid`` (an engine.io CLOSE, no Socket.IO
        DISCONNECT): after its namespace has gone, or to drop a client on the way down.

        Done here, before the client's own CLOSE packet is read: python-engineio answers
        a pending long-poll GET only if the server closes, and python-socketio's polling
        client waits for that GET when it disconnects. The close runs on as a task if
        the client does not collect the CLOSE packet promptly (a half-open socket).
        """
        eio_sid = self._ctx.sio.manager.eio_sid_from_sid(sid, NAMESPACE)
        if eio_sid is None:
            return
        task = asyncio.create_task(self._close_eio(eio_sid))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
        await asyncio.wait({task}, timeout=TRANSPORT_CLOSE_WAIT)

    async def _close_eio(self, eio_sid: str) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(TRANSPORT_CLOSE_TIMEOUT):
                await self._ctx.sio.eio.disconnect(eio_sid)

    async def wait_closed(self, timeout: float | None = None) -> None:
        """Wait for the transports being closed (each bounded by a timeout); with
        ``timeout``, cancel those still closing after that many seconds."""
        if not self._closing:
            return
        _, late = await asyncio.wait(set(self._closing), timeout=timeout)
        for task in late:
            # A client that went first leaves its transport half-closed: nothing will
            # ever drain its queue, and the server's shutdown closes it anyway.
            task.cancel()
