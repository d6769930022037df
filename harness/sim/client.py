"""``SimClient``: what the simulated IDE and drone share.

A simulated client is one actor of the scenario. It connects to the relay over a real
Socket.IO connection (websocket by default, long-polling selectable, never reconnecting
by itself), emits events and waits for their acks, and records everything it sends and
receives, with its current socket id, into the shared ``MessageHistory``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar

import engineio

from harness.errors import ConfigError, EnvError, ExpectationFailed, ScenarioTimeout
from harness.sim._socket import CONNECTION_ERRORS, TRANSPORTS, Link, Reply, Transport
from harness.sim.errors import AckTimeout, ConnectRefused, refusal_reason
from harness.sim.history import ActorKind, Direction, Message, MessageHistory

__all__ = ["SimClient"]

log = logging.getLogger(__name__)

_GOODBYE_TIMEOUT = 5.0


def ack_value(args: tuple[Any, ...]) -> Any:
    """The value of an ack: its one argument, None for none, a list for several."""
    if not args:
        return None
    return args[0] if len(args) == 1 else list(args)


class SimClient:
    """Base of ``SimIDE`` and ``SimDrone``: one actor on one (current) Socket.IO connection.

    ``sid`` is the Socket.IO id of the current connection, None when not connected.
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
    ) -> None:
        if transport not in TRANSPORTS:
            raise ConfigError(
                f"{name}: transport must be 'websocket' or 'polling', got {transport!r}"
            )
        if not isinstance(relay_url, str) or not relay_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"{name}: relay URL must start with http:// or https://, got {relay_url!r}"
            )
        self.name = name
        self.relay_url = relay_url
        self.history = history
        self.transport: Transport = transport
        self.user_id = user_id
        self._auth = auth  # holds a token: never logged, never in repr
        self._link: Link | None = None
        self._closed = False

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
        self._record("connect", "connect", link=link, transport=link.transport)

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
        log.info("%s disconnected from %s (%s: %s)", self.name, link.sid, reason, detail)
        self._record("disconnect", "disconnect", link=link, reason=reason, detail=detail)
        self._link_gone(link)

    def _link_gone(self, link: Link) -> None:
        """Hook: ``link`` has just disconnected."""

    def link_failed(self, link: Link, where: str, exc: BaseException) -> None:
        log.warning("%s: error %s: %s", self.name, where, exc)
        self._record("note", "error", f"{where}: {exc}", link=link, error=type(exc).__name__)

    # --- operations ----------------------------------------------------------------------
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

    async def connect(self, *, timeout: float = 5.0) -> None:
        """Open a new connection with this actor's auth payload.

        Waits up to ``timeout`` seconds. Raises ``ConnectRefused`` (the relay answered
        ``connect_error``; ``.reason`` is its message), ``ScenarioTimeout``, ``EnvError``
        (relay unreachable) or ``ExpectationFailed`` (already connected).
        """
        if self.connected:
            raise ExpectationFailed(f"{self.name}: connect while already connected as {self.sid}")
        link = self._new_link(timeout)
        await self._open(link, timeout)
        previous, self._link = self._link, link
        if previous is not None:
            await previous.release()

    async def disconnect(self) -> None:
        """Say goodbye (Socket.IO DISCONNECT, flushed) and close; a no-op when not connected."""
        link = self._link
        if link is not None and link.connected:
            await link.goodbye("client", _GOODBYE_TIMEOUT)

    async def crash(self) -> None:
        """Drop the transport with no goodbye: the TCP sockets are shut down under the
        client, which does not reconnect. The relay sees a bare TCP close (on long-polling
        it only notices at its ping timeout). A no-op when not connected."""
        link = self._link
        if link is not None and link.connected:
            await link.crash(_GOODBYE_TIMEOUT)

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
    ) -> Any:
        """Emit ``event`` and, with ``ack``, wait up to ``timeout`` s for its ack and return it.

        ``negative`` marks an emit the protocol forbids (deliberately, in a negative
        scenario); ``optional`` a stream event the relay may drop or forward (contract
        11.7). Raises ``AckTimeout`` when no ack arrives in time or the socket goes away
        first, ``ExpectationFailed`` when not connected.
        """
        return await self._emit_on(
            self._require_link(event), event, payload, ack=ack, timeout=timeout,
            negative=negative, optional=optional,
        )

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
        meta = {"negative": True} if negative else {"optional": True} if optional else {}
        sent = self._record("sent", event, payload, link=link, **meta)
        if not ack:
            # Nobody waits for an answer, so the acks invariant skips it. ("ack" is a
            # keyword of record(); the message is fresh: no reader has seen it yet.)
            sent.meta["ack"] = False
        if not ack:
            await link.emit(event, payload)
            return None
        future: asyncio.Future[tuple[Any, ...] | None] = asyncio.get_running_loop().create_future()

        def on_ack(args: tuple[Any, ...] | None) -> None:
            if future.done():
                if args is not None:
                    self._record(
                        "note",
                        "late-ack",
                        link=link,
                        ack=ack_value(args),
                        of=event,
                        sent_seq=sent.seq,
                    )
                return
            if args is None:
                self._record(
                    "ack-timeout",
                    event,
                    link=link,
                    timeout=timeout,
                    reason="disconnected",
                    sent_seq=sent.seq,
                )
            else:
                got = self._record("ack", event, link=link, ack=ack_value(args), sent_seq=sent.seq)
                got.meta["rtt"] = got.t - sent.t  # the message is fresh: no reader yet
            future.set_result(args)

        await link.emit(event, payload, on_ack)
        try:
            async with asyncio.timeout(timeout):
                args = await asyncio.shield(future)
        except TimeoutError:
            future.cancel()
            self._record(
                "ack-timeout",
                event,
                link=link,
                timeout=timeout,
                reason="timeout",
                sent_seq=sent.seq,
            )
            raise AckTimeout(self.name, event, timeout) from None
        if args is None:
            raise AckTimeout(self.name, event, timeout, detail="the socket disconnected")
        return ack_value(args)

    async def close(self) -> None:
        """Release everything (clean goodbye if still connected); idempotent."""
        if self._closed:
            return
        self._closed = True
        link, self._link = self._link, None
        if link is not None:
            if link.connected:
                await link.goodbye("client", _GOODBYE_TIMEOUT)
            await link.release()
