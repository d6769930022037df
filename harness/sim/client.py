"""``SimClient``: what the simulated IDE and drone share.

A simulated client is one actor of the scenario. It connects to the relay over a real
Socket.IO connection (websocket by default, long-polling selectable), emits events and
waits for their acks, and records everything it sends and receives, with its current
socket id, into the shared ``MessageHistory``.

It reconnects by itself as socket.io-client 4.8 does (``Reconnection``; its defaults are
socket.io-client's, on): after ``transport close``, ``transport error`` or ``ping
timeout``, with backoff, never after ``io server disconnect`` nor its own disconnect,
crash or close, and not after the relay refused a reconnect (``connect_error``). Events
emitted while it is away are buffered and sent in order once it is back. The history
shows it: ``disconnect`` records carry ``cause`` (socket.io-client's reason) and
``reconnects`` (whether a reconnection follows), each try is
a ``reconnect-attempt`` note, a reconnect is a ``connect`` with ``reconnect=True``,
giving up is a ``reconnect-failed`` note, a buffered emit is ``sent`` with
``buffered=True``.

Where the simulated client deliberately differs from socket.io-client:

- A first ``connect()`` that fails raises at once (the caller's step failed);
  socket.io-client would retry it with backoff (``manager.js`` ``maybeReconnectOnOpen``).
- Emitting before the first connect or after ``close()`` is an ``ExpectationFailed``
  (socket.io-client would buffer it), so that a scenario mistake is not silent.
- A ``volatile`` emit that asks for an ack and is dropped fails at once with
  ``AckTimeout`` instead of waiting out a timeout for an ack that cannot come; a
  volatile emit on a connected client is always sent (socket.io-client also drops one
  while a long-poll write is in flight).
- The send buffer holds at most ``SEND_BUFFER_LIMIT`` events.
- One long-poll response carrying the relay's Socket.IO DISCONNECT and then the Engine.IO
  CLOSE (a handover on polling) is one disconnect here, ``io server disconnect``;
  socket.io-client reports ``transport close`` and then ``io server disconnect`` (it
  decodes the DISCONNECT a tick later), and does not reconnect either.
- The heartbeat rule is socket.io-client's (no PING within pingInterval + pingTimeout),
  applied by a watchdog on both transports; a cut connection is ``transport close`` on
  websocket and ``transport error`` on polling, as engine.io-client reports them
  (``tests/integration/test_reconnect_fidelity.py`` holds the two side by side).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import Any, ClassVar

import engineio

from harness.errors import ConfigError, EnvError, ExpectationFailed, ScenarioTimeout
from harness.sim._outbox import AckWait, Buffered, SendBuffer, ack_value
from harness.sim._socket import CONNECTION_ERRORS, TRANSPORTS, Link, Reply, Transport
from harness.sim.errors import AckTimeout, ConnectRefused, refusal_reason
from harness.sim.history import ActorKind, Direction, Message, MessageHistory
from harness.sim.reconnect import RECONNECTING_CAUSES, Reconnection

__all__ = ["SimClient", "ack_value"]

log = logging.getLogger(__name__)

_GOODBYE_TIMEOUT = 5.0
_DEFAULT_RECONNECTION = Reconnection()


class SimClient:
    """Base of ``SimIDE`` and ``SimDrone``: one actor on one (current) Socket.IO connection.

    ``sid`` is the Socket.IO id of the current connection, None when not connected.
    ``reconnection`` says whether and how soon it reconnects by itself; ``rng`` draws the
    backoff's jitter (pass a seeded ``random.Random`` to repeat a run).
    """

    kind: ClassVar[ActorKind]

    def __init__(
        self,
        name: str,
        relay_url: str,
        *,
        history: MessageHistory,
        auth: dict[str, Any],
        transport: Transport = "websocket",
        user_id: str | None = None,
        reconnection: Reconnection = _DEFAULT_RECONNECTION,
        rng: random.Random | None = None,
    ) -> None:
        if transport not in TRANSPORTS:
            raise ConfigError(
                f"{name}: transport must be 'websocket' or 'polling', got {transport!r}"
            )
        if not isinstance(relay_url, str) or not relay_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"{name}: relay URL must start with http:// or https://, got {relay_url!r}"
            )
        if not isinstance(reconnection, Reconnection):
            raise ConfigError(
                f"{name}: reconnection must be a Reconnection, got {type(reconnection).__name__}"
            )
        self.name = name
        self.relay_url = relay_url
        self.history = history
        self.transport: Transport = transport
        self.user_id = user_id
        self.reconnection = reconnection
        self._auth = auth  # holds a token: never logged, never in repr
        self._link: Link | None = None
        self._closed = False
        self._ever_connected = False
        self._backoff = reconnection.backoff(rng)
        self._buffer = SendBuffer(name)
        self._reconnect_task: asyncio.Task[None] | None = None
        self._reconnect_wanted = False
        self._round: asyncio.Future[None] | None = None  # settles when reconnecting ends

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, transport={self.transport!r}, "
            f"sid={self.sid!r})"
        )

    @property
    def sid(self) -> str | None:
        """The Socket.IO id of the current connection (None when not connected)."""
        return self._link.sid if self._link is not None and self._link.connected else None

    @property
    def connected(self) -> bool:
        """True while the current connection is up."""
        return self._link is not None and self._link.connected

    @property
    def reconnecting(self) -> bool:
        """True while the client is waiting to reconnect or trying to."""
        return self._reconnect_task is not None and not self._reconnect_task.done()

    @property
    def leaving(self) -> str | None:
        """How the current connection is being left (``"client"``, ``"crash"``, ``"exit"``
        ...) once the actor decided to go, though the transport may not have noticed yet;
        None while it stays."""
        return None if self._link is None else self._link.leaving

    # --- recording ----------------------------------------------------------------------
    def _record(
        self,
        direction: Direction,
        event: str,
        payload: Any = None,
        *,
        link: Link | None = None,
        ack: Any = None,
        **meta: Any,
    ) -> Message:
        link = link if link is not None else self._link
        socket_id = link.sid if link is not None else None
        return self.history.record(
            self.name, self.kind, direction, event, payload, ack=ack, socket_id=socket_id, **meta
        )

    def note(self, text: str, **meta: Any) -> Message:
        """Record a harness annotation for this actor."""
        return self._record("note", text, **meta)

    # --- LinkOwner callbacks -------------------------------------------------------------
    def link_connected(self, link: Link) -> None:
        log.info("%s connected as %s (%s)", self.name, link.sid, link.transport)
        self._ever_connected = True
        meta: dict[str, Any] = {}
        if link.attempt is not None:
            meta = {"reconnect": True, "attempt": link.attempt}
        self._record("connect", "connect", link=link, transport=link.transport, **meta)

    def link_event(self, link: Link, event: str, args: tuple[Any, ...], wants_ack: bool) -> Reply:
        payload = ack_value(args)
        meta: dict[str, Any] = {}
        if wants_ack:
            meta["wants_ack"] = True  # the relay asked for an ack
        if link.silent:
            meta["silent"] = True
        return self._answer(link, event, payload, wants_ack, meta)

    def _answer(
        self, link: Link, event: str, payload: Any, wants_ack: bool, meta: dict[str, Any]
    ) -> Reply:
        """Record a received event and decide the ack; subclasses answer requests."""
        self._record("received", event, payload, link=link, **meta)
        return Reply()

    def link_acked(self, link: Link, event: str, args: tuple[Any, ...]) -> None:
        self._record("acked", event, link=link, ack=ack_value(args))

    def link_disconnected(self, link: Link, detail: str) -> None:
        if link.leaving is not None:
            reason = link.leaving
        else:
            reason = "replaced" if link.silent else "server"
        # A crashed process sees nothing: no socket.io-client reason to record.
        cause = {} if link.leaving == "crash" else {"cause": link.cause}
        again = self._reconnects_after(link)
        log.info("%s disconnected from %s (%s: %s, %s)", self.name, link.sid, reason, detail,
                 link.cause)
        self._record("disconnect", "disconnect", link=link, reason=reason, detail=detail,
                     reconnects=again, **cause)
        self._link_gone(link)
        if again:
            self._start_reconnecting()

    def link_leaving(self, link: Link) -> None:
        self._link_leaving(link)

    def _link_leaving(self, link: Link) -> None:
        """Hook: ``link`` is about to say goodbye; nothing may be sent on it any more."""

    def _link_gone(self, link: Link) -> None:
        """Hook: ``link`` has just disconnected."""

    def link_failed(self, link: Link, where: str, exc: BaseException) -> None:
        log.warning("%s: error %s: %s", self.name, where, exc)
        self._record("note", "error", f"{where}: {exc}", link=link, error=type(exc).__name__)

    # --- connecting ----------------------------------------------------------------------
    def _new_link(self, timeout: float) -> Link:
        if self._closed:
            raise ExpectationFailed(f"{self.name}: the client is closed")
        return Link(self, actor=self.name, transport=self.transport, request_timeout=timeout)

    async def _open(self, link: Link, timeout: float) -> None:
        """Connect ``link``, converting every failure to a harness error."""
        try:
            await link.connect(self.relay_url, self._auth, timeout)
        except TimeoutError as exc:
            await link.release()
            self._record("note", "connect-timeout", link=link, timeout=timeout)
            raise ScenarioTimeout(
                f"{self.name}: no connection to the relay at {self.relay_url} within {timeout:g}s"
            ) from exc
        except CONNECTION_ERRORS as exc:
            await link.release()
            if link.refused:
                message = link.refusal or "refused"
                reason = refusal_reason(message)
                self._record("connect-error", "connect_error", message, link=link)
                raise ConnectRefused(self.name, reason, message) from exc
            if isinstance(exc.__cause__, engineio.exceptions.ConnectionError):
                why = str(exc)
                self._record("connect-error", "connect_error", why, link=link, stage="transport")
                raise EnvError(
                    f"{self.name}: cannot reach the relay at {self.relay_url} "
                    f"({self.transport}): {why}"
                ) from exc
            self._record("note", "connect-timeout", link=link, timeout=timeout)
            raise ScenarioTimeout(
                f"{self.name}: the relay did not accept the connection within {timeout:g}s"
            ) from exc
        except BaseException:
            await link.release()
            raise

    async def _adopt(self, link: Link) -> Link | None:
        """Make ``link`` current once the send buffer went out on it, in order (events
        emitted meanwhile join the buffer's end); returns the link it replaced."""
        if len(self._buffer):
            self.note("send-buffer-flush", count=len(self._buffer))
        while link.connected and (item := self._buffer.pop()) is not None:
            if item.wait is None:
                await link.emit(item.event, item.payload)
            else:
                item.wait.link = link
                await link.emit(item.event, item.payload, item.wait.on_ack)
        previous, self._link = self._link, link
        return previous

    async def connect(self, *, timeout: float = 5.0) -> None:
        """Open a new connection with this actor's auth payload.

        As socket.io-client's ``socket.connect()``: a no-op when connected (noted in the
        history), and while a reconnection is under way it opens nothing and waits for
        that (``socket.js`` ``connect``: no ``io.open()`` while ``_reconnecting``).
        Events buffered while disconnected go out first. Waits up to ``timeout`` seconds.
        Raises ``ConnectRefused`` (the relay answered ``connect_error``; ``.reason`` is
        its message), ``ScenarioTimeout``, ``EnvError`` (relay unreachable) or
        ``ExpectationFailed`` (closed, or the reconnection gave up).
        """
        if self.connected:
            self.note("already-connected", sid=self.sid)
            return
        if self.reconnecting:
            await self.wait_connected(timeout)
            return
        link = self._new_link(timeout)
        await self._open(link, timeout)
        previous = await self._adopt(link)
        if previous is not None:
            await previous.release()

    async def wait_connected(self, timeout: float) -> None:
        """Wait until connected (at once when connected), e.g. for a reconnection.

        Raises ``ScenarioTimeout`` after ``timeout`` seconds, ``ConnectRefused`` when the
        relay refused the reconnection, and ``ExpectationFailed`` when the client is not
        connected and not reconnecting, or the reconnection gave up.
        """
        if self.connected:
            return
        if self._round is None or self._round.done():
            raise ExpectationFailed(f"{self.name}: not connected and not reconnecting")
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(self._round)
        except TimeoutError:
            raise ScenarioTimeout(
                f"{self.name}: not reconnected within {timeout:g}s "
                f"({self._backoff.attempts} attempt(s) so far)"
            ) from None

    # --- reconnecting ----------------------------------------------------------------------
    def _reconnects_after(self, link: Link) -> bool:
        """socket.io-client's rule (``manager.js`` ``onclose``, ``socket.js``
        ``ondisconnect``/``destroy``): reconnect after a lost transport, not after the
        server's or this side's disconnect."""
        return (
            self.reconnection.enabled
            and not self._closed
            and link.leaving is None
            and not link.silent
            # the current link, or a reconnection's link that dropped before adoption
            and (link is self._link or (link.attempt is not None and not self.connected))
            and link.cause in RECONNECTING_CAUSES
        )

    def _start_reconnecting(self) -> None:
        self._reconnect_wanted = True
        if self._round is None or self._round.done():
            self._round = asyncio.get_running_loop().create_future()
            self._round.add_done_callback(_retrieve)
        if self.reconnecting:
            return  # the loop sees the flag once its current attempt is settled
        self._reconnect_task = asyncio.get_running_loop().create_task(self._guarded_reconnect())

    def _end_round(self, error: BaseException | None) -> None:
        if self._round is not None and not self._round.done():
            if error is None:
                self._round.set_result(None)
            else:
                self._round.set_exception(error)

    async def _guarded_reconnect(self) -> None:
        try:
            await self._reconnect()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must not vanish in a task nobody awaits
            log.warning("%s: error reconnecting: %s", self.name, exc)
            self._record("note", "error", f"reconnecting: {exc}", error=type(exc).__name__)
            self._end_round(exc)

    async def _reconnect(self) -> None:
        """The reconnection loop of ``manager.js`` (``reconnect``, ``onreconnect``)."""
        options = self.reconnection
        while self._reconnect_wanted:
            self._reconnect_wanted = False
            if options.attempts is not None and self._backoff.attempts >= options.attempts:
                self._backoff.reset()
                self.note("reconnect-failed", attempts=options.attempts)
                self._end_round(ExpectationFailed(
                    f"{self.name}: gave up reconnecting after {options.attempts} attempt(s)"))
                return
            delay = self._backoff.duration()
            await asyncio.sleep(delay)
            attempt = self._backoff.attempts
            self.note("reconnect-attempt", attempt=attempt, delay=delay)
            link = self._new_link(options.timeout)
            link.attempt = attempt
            try:
                await self._open(link, options.timeout)
            except ConnectRefused as exc:
                # The relay's middleware refused: socket.js destroys the socket on
                # CONNECT_ERROR, and the Manager closes with no reconnection.
                self._backoff.reset()
                self._end_round(exc)
                return
            except (EnvError, ScenarioTimeout):
                self._reconnect_wanted = True
                continue
            self._backoff.reset()
            previous = await self._adopt(link)
            if previous is not None:
                await previous.release()
            if link.connected:
                self._end_round(None)
                await self._after_reconnect(link)
        # (a link that dropped before it was adopted set _reconnect_wanted: loop again)

    async def _after_reconnect(self, link: Link) -> None:
        """Hook: ``link`` is the connection an automatic reconnection just made current."""

    def _stop_reconnecting(self, why: str) -> asyncio.Task[None] | None:
        """Cancel the reconnection loop; returns its task to await."""
        self._reconnect_wanted = False
        task, self._reconnect_task = self._reconnect_task, None
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()
        else:
            task = None
        self._end_round(ExpectationFailed(f"{self.name}: reconnection stopped: {why}"))
        return task

    async def _halt(self, why: str, *, drop_buffer: bool) -> None:
        """Stop reconnecting (and, for a process that ends, forget the buffer)."""
        task = self._stop_reconnecting(why)
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)
        if drop_buffer:
            for item in self._buffer.drop_all():
                if item.wait is not None:
                    item.wait.on_ack(None)

    async def disconnect(self) -> None:
        """Say goodbye (Socket.IO DISCONNECT, flushed) and close; stops a reconnection.
        A no-op when not connected. Buffered events stay for the next ``connect()``."""
        await self._halt("the client disconnected", drop_buffer=False)
        link = self._link
        if link is not None and link.connected:
            await link.goodbye("client", _GOODBYE_TIMEOUT)

    async def crash(self) -> None:
        """Drop the transport with no goodbye: the TCP sockets are shut down under the
        client, which does not reconnect (a dead process does not). The relay sees a bare
        TCP close (on long-polling it only notices at its ping timeout). Stops a
        reconnection and drops buffered events."""
        await self._halt("the client crashed", drop_buffer=True)
        link = self._link
        if link is not None and link.connected:
            await link.crash(_GOODBYE_TIMEOUT)

    # --- emitting ------------------------------------------------------------------------
    def _require_link(self, event: str) -> Link:
        link = self._link
        if link is None or not link.connected:
            raise ExpectationFailed(f"{self.name}: cannot emit {event!r}: not connected")
        return link

    async def emit(
        self,
        event: str,
        payload: Any,
        *,
        ack: bool = True,
        timeout: float = 5.0,
        negative: bool = False,
        optional: bool = False,
        volatile: bool = False,
    ) -> Any:
        """Emit ``event`` and, with ``ack``, wait up to ``timeout`` s for its ack and return it.

        ``negative`` marks an emit the protocol forbids (deliberately, in a negative
        scenario); ``optional`` a stream event the relay may drop or forward (contract
        11.7). On a client that was connected and is now disconnected (reconnecting or
        not), the event is buffered (``sent`` with ``buffered=True``) and goes out when
        it connects again, with the ack wait running meanwhile (socket.io-client's
        ``sendBuffer``); a ``volatile`` one is dropped instead (``dropped=True``).
        Raises ``AckTimeout`` when no ack arrives in time or the socket goes away after
        sending (or a dropped volatile emit wanted one), ``ExpectationFailed`` before
        the first connect, after ``close()`` or when the buffer is full.
        """
        link = self._link
        if link is not None and link.connected:
            return await self._emit_on(link, event, payload, ack=ack, timeout=timeout,
                                       negative=negative, optional=optional)
        if self._closed or not self._ever_connected:
            raise ExpectationFailed(f"{self.name}: cannot emit {event!r}: not connected")
        meta = _emit_meta(negative, optional)
        if volatile:
            sent = self._record("sent", event, payload, dropped=True, volatile=True, **meta)
            if not ack:
                sent.meta["ack"] = False  # see _emit_on
                return None
            self._record("ack-timeout", event, timeout=timeout, reason="dropped",
                         sent_seq=sent.seq)
            raise AckTimeout(self.name, event, timeout,
                             detail="a volatile emit is dropped while disconnected")
        self._buffer.check_room(event)
        sent = self._record("sent", event, payload, buffered=True, **meta)
        if not ack:
            sent.meta["ack"] = False  # see _emit_on
        wait = AckWait(self._record, self.name, sent, timeout) if ack else None
        item = Buffered(event, payload, wait)
        self._buffer.push(item)
        if wait is None:
            return None
        try:
            return await wait.result()
        finally:
            self._buffer.discard(item)

    async def _emit_on(
        self,
        link: Link,
        event: str,
        payload: Any,
        *,
        ack: bool,
        timeout: float = 5.0,
        negative: bool = False,
        optional: bool = False,
    ) -> Any:
        if not link.connected:
            raise ExpectationFailed(f"{self.name}: cannot emit {event!r}: not connected")
        sent = self._record("sent", event, payload, link=link, **_emit_meta(negative, optional))
        if not ack:
            # Nobody waits for an answer, so the acks invariant skips it. ("ack" is a
            # keyword of record(); the message is fresh: no reader has seen it yet.)
            sent.meta["ack"] = False
            await link.emit(event, payload)
            return None
        wait = AckWait(self._record, self.name, sent, timeout)
        wait.link = link
        await link.emit(event, payload, wait.on_ack)
        return await wait.result()

    async def close(self) -> None:
        """Release everything (clean goodbye if still connected, no more reconnecting,
        buffered events dropped); idempotent."""
        if self._closed:
            return
        self._closed = True
        await self._halt("the client closed", drop_buffer=True)
        link, self._link = self._link, None
        if link is not None:
            if link.connected:
                await link.goodbye("client", _GOODBYE_TIMEOUT)
            await link.release()


def _emit_meta(negative: bool, optional: bool) -> dict[str, Any]:
    return {"negative": True} if negative else {"optional": True} if optional else {}


def _retrieve(future: asyncio.Future[None]) -> None:
    # Nobody may wait for a reconnection's outcome: mark its error retrieved.
    if not future.cancelled():
        with contextlib.suppress(BaseException):
            future.exception()
