"""``Partition``: blackhole a set of proxies together until healed."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from types import TracebackType
from typing import Self

from harness.faults.errors import ToxicError
from harness.faults.proxy import FaultProxy
from harness.faults.toxics import DIRECTIONS

_ids = itertools.count(1)


class Partition:
    """The proxies of one partition: both directions held, connections left open, and new
    connections accepted but held too, until ``heal()`` (or the end of a ``with`` block).
    Held bytes are delivered after the heal, as TCP would once the network is back."""

    def __init__(self, proxies: Iterable[FaultProxy]) -> None:
        self.proxies = tuple(proxies)
        if not self.proxies:
            raise ToxicError("partition: needs at least one proxy, got none")
        self._reason = f"partition {next(_ids)}"
        self.healed = False
        for proxy in self.proxies:
            for direction in DIRECTIONS:
                proxy.hold(direction, self._reason)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None,
                 exc: BaseException | None, tb: TracebackType | None) -> None:
        self.heal()

    def heal(self) -> None:
        """Let bytes flow again through every proxy of the partition; idempotent."""
        if self.healed:
            return
        self.healed = True
        for proxy in self.proxies:
            for direction in DIRECTIONS:
                proxy.release(direction, self._reason)


def partition(proxies: Iterable[FaultProxy]) -> Partition:
    """Blackhole ``proxies`` (both directions, connections kept) until ``heal()``; raises
    ``ToxicError`` when given no proxy."""
    return Partition(proxies)
