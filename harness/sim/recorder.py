"""A message history that keeps nothing: every message goes to a sink and is dropped.

``MessageHistory`` keeps every message for the scenario engine, which a load run cannot
afford (memory would grow with the number of events). ``SinkHistory`` is a drop-in
``MessageHistory`` for the simulated clients whose ``record`` hands each message to a
``Recorder`` (streaming aggregators) and keeps at most the last ``keep`` messages.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from harness.sim.history import ActorKind, Direction, Message, MessageHistory

__all__ = ["Recorder", "SinkHistory"]


class Recorder(Protocol):
    """Receives every message a simulated client records, in recording order."""

    def record_message(self, message: Message) -> None: ...


class SinkHistory(MessageHistory):
    """A ``MessageHistory`` with bounded memory: messages go to ``recorder``; only the last
    ``keep`` stay (for ``messages``, ``select`` and debugging). ``wait_for`` sees only those."""

    def __init__(
        self,
        recorder: Recorder,
        *,
        keep: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(clock)
        self._recorder = recorder
        self._tail: deque[Message] = deque(maxlen=max(keep, 0))
        self._count = 0

    def record(self, actor: str, kind: ActorKind, direction: Direction, event: str,
               payload: Any = None, *, ack: Any = None, socket_id: str | None = None,
               **meta: Any) -> Message:
        """Build the message, hand it to the recorder, keep it only in the bounded tail."""
        message = Message(self._count, self._clock(), actor, kind, direction, event,
                          payload, ack, socket_id, meta)
        self._count += 1
        if self._tail.maxlen:
            self._tail.append(message)
        self._recorder.record_message(message)
        self._changed.set()
        return message

    def __iter__(self) -> Iterator[Message]:
        return iter(list(self._tail))

    def __len__(self) -> int:
        """How many messages were recorded (not how many are kept)."""
        return self._count

    @property
    def messages(self) -> tuple[Message, ...]:
        """The kept tail, in order."""
        return tuple(self._tail)

    def since(self, seq: int) -> tuple[Message, ...]:
        """Kept messages with ``seq >= seq``."""
        return tuple(m for m in self._tail if m.seq >= seq)

    def select(self, *, actor: str | None = None, direction: str | None = None,
               event: str | None = None, since: int = 0) -> list[Message]:
        """Kept messages matching every given field, in order."""
        return [
            m for m in self._tail
            if m.seq >= since
            and (actor is None or m.actor == actor)
            and (direction is None or m.direction == direction)
            and (event is None or m.event == event)
        ]

    async def wait_for(self, predicate: Callable[[tuple[Message, ...]], Any],
                       timeout: float) -> Any:
        """Wait until ``predicate(kept tail)`` is truthy; ``TimeoutError`` after ``timeout``."""
        async with asyncio.timeout(timeout):
            while True:
                self._changed.clear()
                result = predicate(tuple(self._tail))
                if result:
                    return result
                await self._changed.wait()
