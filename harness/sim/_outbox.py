"""What a simulated client emitted and has not seen settled: ack waits and the send buffer.

``AckWait`` is one emitted event waiting for its ack; it records the ack, a late ack or
its absence in the history. ``SendBuffer`` is socket.io-client's ``sendBuffer``
(``socket.js``): events emitted while disconnected, sent in order on the next connect.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from harness.errors import ExpectationFailed
from harness.sim._socket import Link
from harness.sim.errors import AckTimeout
from harness.sim.history import Message

__all__ = ["SEND_BUFFER_LIMIT", "AckWait", "Buffered", "SendBuffer", "ack_value"]

# socket.io-client's buffer has no bound; a test client's must (memory stays bounded).
SEND_BUFFER_LIMIT: Final = 1000

Record = Callable[..., Message]


def ack_value(args: tuple[Any, ...]) -> Any:
    """The value of an ack: its one argument, None for none, a list for several."""
    if not args:
        return None
    return args[0] if len(args) == 1 else list(args)


class AckWait:
    """The ack of ``sent`` (a recorded emit), awaited for ``timeout`` seconds.

    ``link`` is the connection the event went out on (None while it is buffered); the
    ack records carry its socket id. ``on_ack`` is the ``Link.emit`` callback.
    """

    def __init__(self, record: Record, actor: str, sent: Message, timeout: float) -> None:
        self._record = record
        self._actor = actor
        self.sent = sent
        self.timeout = timeout
        self.link: Link | None = None
        self.future: asyncio.Future[tuple[Any, ...] | None] = (
            asyncio.get_running_loop().create_future()
        )

    def on_ack(self, args: tuple[Any, ...] | None) -> None:
        """The ack's arguments, or None: the connection went before the ack came."""
        event, seq = self.sent.event, self.sent.seq
        if self.future.done():
            if args is not None:
                self._record("note", "late-ack", link=self.link, ack=ack_value(args), of=event,
                             sent_seq=seq)
            return
        if args is None:
            self._record("ack-timeout", event, link=self.link, timeout=self.timeout,
                         reason="disconnected", sent_seq=seq)
        else:
            got = self._record("ack", event, link=self.link, ack=ack_value(args), sent_seq=seq)
            got.meta["rtt"] = got.t - self.sent.t  # the message is fresh: no reader yet
        self.future.set_result(args)

    async def result(self) -> Any:
        """The ack's value. Raises ``AckTimeout`` when it does not come within the
        timeout, or the connection went first."""
        event = self.sent.event
        try:
            async with asyncio.timeout(self.timeout):
                args = await asyncio.shield(self.future)
        except TimeoutError:
            self.future.cancel()
            self._record("ack-timeout", event, link=self.link, timeout=self.timeout,
                         reason="timeout", sent_seq=self.sent.seq)
            raise AckTimeout(self._actor, event, self.timeout) from None
        if args is None:
            raise AckTimeout(self._actor, event, self.timeout, detail="the socket disconnected")
        return ack_value(args)


@dataclass(eq=False)
class Buffered:
    """One event emitted while disconnected; ``wait`` is its ack wait (None: no ack)."""

    event: str
    payload: Any
    wait: AckWait | None


class SendBuffer:
    """Events emitted while disconnected, oldest first, at most ``limit``."""

    def __init__(self, actor: str, limit: int = SEND_BUFFER_LIMIT) -> None:
        self._actor = actor
        self._limit = limit
        self._items: deque[Buffered] = deque()

    def __len__(self) -> int:
        return len(self._items)

    def check_room(self, event: str) -> None:
        """Raise ``ExpectationFailed`` when the buffer is full (before ``event`` is
        recorded as sent: a refused emit must not look buffered in the history)."""
        if len(self._items) >= self._limit:
            raise ExpectationFailed(
                f"{self._actor}: cannot buffer {event!r}: {self._limit} events are "
                f"already waiting for the connection to come back"
            )

    def push(self, item: Buffered) -> None:
        """Queue ``item``; raises ``ExpectationFailed`` when the buffer is full."""
        self.check_room(item.event)
        self._items.append(item)

    def pop(self) -> Buffered | None:
        """The oldest item, removed; None when empty."""
        return self._items.popleft() if self._items else None

    def discard(self, item: Buffered) -> None:
        """Remove ``item`` if still queued (its ack wait timed out: socket.io-client drops
        a buffered packet whose ack timed out, ``_registerAckCallback``)."""
        if item in self._items:
            self._items.remove(item)

    def drop_all(self) -> list[Buffered]:
        """Empty the buffer and return what it held."""
        items, self._items = list(self._items), deque()
        return items
