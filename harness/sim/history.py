"""The shared, ordered message history of one scenario run.

Every simulated client, and every HTTP call a scenario makes, appends a ``Message`` here:
what was sent or received, by which actor, on which socket, at which monotonic time.
The scenario engine waits on it, the invariant checker reads it, reports render it.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

ActorKind = Literal["ide", "drone", "http", "harness"]
Direction = Literal[
    "sent",  # the actor emitted an event (or made an HTTP request)
    "received",  # the actor received an event (or an HTTP response)
    "ack",  # the actor received the ack of an event it emitted
    "ack-timeout",  # the ack the actor waited for did not arrive in time
    "acked",  # the actor answered an event it received with an ack
    "connect",  # the actor's socket connected
    "connect-error",  # the relay refused the connection
    "disconnect",  # the actor's socket disconnected (either side)
    "note",  # a harness annotation (a step began, a check failed)
]


@dataclass(frozen=True)
class Message:
    """One entry of the history. ``seq`` is the global order of recording."""

    seq: int
    t: float
    actor: str
    kind: ActorKind
    direction: Direction
    event: str
    payload: Any = None
    ack: Any = None
    socket_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of this message."""
        return asdict(self)


class MessageHistory:
    """An append-only, awaitable log of messages shared by every actor of a scenario."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._messages: list[Message] = []
        self._counter = itertools.count()
        self._clock = clock
        self._changed = asyncio.Event()
        self.started_at = clock()

    def record(self, actor: str, kind: ActorKind, direction: Direction, event: str,
               payload: Any = None, *, ack: Any = None, socket_id: str | None = None,
               **meta: Any) -> Message:
        """Append a message and wake every waiter."""
        message = Message(next(self._counter), self._clock(), actor, kind, direction, event,
                          payload, ack, socket_id, meta)
        self._messages.append(message)
        self._changed.set()
        return message

    def __iter__(self) -> Iterator[Message]:
        return iter(list(self._messages))

    def __len__(self) -> int:
        return len(self._messages)

    @property
    def messages(self) -> tuple[Message, ...]:
        """A snapshot of every message so far, in order."""
        return tuple(self._messages)

    def since(self, seq: int) -> tuple[Message, ...]:
        """Messages with ``seq >= seq``."""
        return tuple(m for m in self._messages[seq:])

    def select(self, *, actor: str | None = None, direction: str | None = None,
               event: str | None = None, since: int = 0) -> list[Message]:
        """Messages matching every given field, in order."""
        return [
            m for m in self._messages[since:]
            if (actor is None or m.actor == actor)
            and (direction is None or m.direction == direction)
            and (event is None or m.event == event)
        ]

    async def wait_for(self, predicate: Callable[[tuple[Message, ...]], Any],
                       timeout: float) -> Any:
        """Wait until ``predicate(messages)`` is truthy and return its value.

        Raises ``TimeoutError`` after ``timeout`` seconds.
        """
        async with asyncio.timeout(timeout):
            while True:
                self._changed.clear()
                result = predicate(tuple(self._messages))
                if result:
                    return result
                await self._changed.wait()
