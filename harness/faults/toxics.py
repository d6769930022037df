"""Toxics: what a ``FaultProxy`` does to the bytes of one direction (Toxiproxy's vocabulary).

A toxic is a frozen dataclass with a ``name`` (unique on its proxy), a ``direction``
(``"upstream"`` = client to relay, ``"downstream"`` = relay to client) and a ``toxicity``
(the probability, 0..1, that it applies to a given connection). Build them with the
functions below, which check every parameter and name the toxic after its kind and
direction (``latency_downstream``) unless told otherwise:

    ==========  =================================  ===============================================
    function    parameters                         effect on the direction's connections
    ==========  =================================  ===============================================
    latency     ms, jitter_ms                      each chunk delayed ms +/- jitter_ms
    bandwidth   kb_per_s                           at most kb_per_s KB (1024 bytes) per second
    timeout     ms                                 no data passes; close after ms (0: never close)
    reset_peer  ms                                 RST both sockets after ms
    slow_close  ms                                 the close (EOF) is passed on ms late
    slicer      average_size, size_variation,      chunks cut into pieces of average_size +/-
                delay_us                           size_variation bytes, delay_us apart
    limit_data  bytes                              close the connection after that many bytes
    ==========  =================================  ===============================================
"""

from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, fields
from typing import ClassVar, Final, Literal, TypeGuard, get_args

from harness.faults.errors import ToxicError

Direction = Literal["upstream", "downstream"]
DIRECTIONS: Final[tuple[Direction, ...]] = get_args(Direction)


@dataclass(frozen=True, kw_only=True)
class Toxic:
    """What every toxic has: a name, a direction and a toxicity (checked on creation)."""

    name: str
    direction: Direction = "downstream"
    toxicity: float = 1.0

    kind: ClassVar[str] = "toxic"  # Toxiproxy's type name: latency, limit_data...

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ToxicError(f"{self.kind}: name must be a non-empty string, got {self.name!r}",
                             param="name")
        if self.direction not in DIRECTIONS:
            raise ToxicError(f"{self.kind} {self.name!r}: direction must be 'upstream' or "
                             f"'downstream', got {self.direction!r}", param="direction")
        if not _is_number(self.toxicity) or not 0.0 <= self.toxicity <= 1.0:
            raise ToxicError(f"{self.kind} {self.name!r}: toxicity must be between 0 and 1, "
                             f"got {self.toxicity!r}", param="toxicity")
        self._check()

    def _check(self) -> None:
        """Check the kind's own parameters; overridden by each kind."""

    def _need(self, param: str, value: object, *, minimum: float = 0.0,
              positive: bool = False) -> None:
        if not _is_number(value) or value < minimum or (positive and value <= 0):
            bound = "> 0" if positive else f">= {minimum:g}"
            raise ToxicError(f"{self.kind} {self.name!r}: {param} must be a number {bound}, "
                             f"got {value!r}", param=param)


@dataclass(frozen=True, kw_only=True)
class Latency(Toxic):
    """Delay each chunk by ``ms`` plus a uniform jitter in ``[-jitter_ms, jitter_ms]``."""

    kind: ClassVar[str] = "latency"
    ms: float
    jitter_ms: float = 0.0

    def _check(self) -> None:
        self._need("ms", self.ms)
        self._need("jitter_ms", self.jitter_ms)


@dataclass(frozen=True, kw_only=True)
class Bandwidth(Toxic):
    """Pass at most ``kb_per_s`` kilobytes (1024 bytes) per second."""

    kind: ClassVar[str] = "bandwidth"
    kb_per_s: float

    def _check(self) -> None:
        self._need("kb_per_s", self.kb_per_s, positive=True)


@dataclass(frozen=True, kw_only=True)
class Timeout(Toxic):
    """Pass no data; close the connection after ``ms`` (0: hold it open until removed)."""

    kind: ClassVar[str] = "timeout"
    ms: float

    def _check(self) -> None:
        self._need("ms", self.ms)


@dataclass(frozen=True, kw_only=True)
class ResetPeer(Toxic):
    """Reset the connection (RST to both peers) ``ms`` after the toxic reaches it."""

    kind: ClassVar[str] = "reset_peer"
    ms: float

    def _check(self) -> None:
        self._need("ms", self.ms)


@dataclass(frozen=True, kw_only=True)
class SlowClose(Toxic):
    """Pass the end of the stream (FIN) on ``ms`` after it arrives."""

    kind: ClassVar[str] = "slow_close"
    ms: float

    def _check(self) -> None:
        self._need("ms", self.ms)


@dataclass(frozen=True, kw_only=True)
class Slicer(Toxic):
    """Cut chunks into pieces of ``average_size +/- size_variation`` bytes, ``delay_us``
    microseconds apart."""

    kind: ClassVar[str] = "slicer"
    average_size: int
    size_variation: int = 0
    delay_us: float = 0.0

    def _check(self) -> None:
        self._need("average_size", self.average_size, minimum=1)
        self._need("size_variation", self.size_variation)
        self._need("delay_us", self.delay_us)
        if not isinstance(self.average_size, int) or not isinstance(self.size_variation, int):
            raise ToxicError(f"slicer {self.name!r}: average_size and size_variation must be "
                             f"integers, got {self.average_size!r} and {self.size_variation!r}",
                             param="average_size" if not isinstance(self.average_size, int)
                             else "size_variation")
        if self.size_variation >= self.average_size:
            raise ToxicError(f"slicer {self.name!r}: size_variation must be smaller than "
                             f"average_size, got {self.size_variation} >= {self.average_size}",
                             param="size_variation")


@dataclass(frozen=True, kw_only=True)
class LimitData(Toxic):
    """Close the connection once ``bytes`` bytes have passed in this direction."""

    kind: ClassVar[str] = "limit_data"
    bytes: int

    def _check(self) -> None:
        if not isinstance(self.bytes, int) or isinstance(self.bytes, bool) or self.bytes < 0:
            raise ToxicError(f"limit_data {self.name!r}: bytes must be an integer >= 0, "
                             f"got {self.bytes!r}", param="bytes")


TOXICS: Final[dict[str, type[Toxic]]] = {
    cls.kind: cls for cls in (Latency, Bandwidth, Timeout, ResetPeer, SlowClose, Slicer,
                              LimitData)}
"""Every toxic class by its kind name (``"latency"``...), for callers that pick a toxic by
name (scenario steps)."""


def parameters(kind: type[Toxic]) -> dict[str, bool]:
    """A toxic class's own parameters (not name, direction, toxicity), each with whether it
    is required."""
    base = {f.name for f in fields(Toxic)}
    return {f.name: f.default is MISSING and f.default_factory is MISSING
            for f in fields(kind) if f.name not in base}


def _is_number(value: object) -> TypeGuard[float]:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def latency(ms: float, jitter_ms: float = 0.0, *, direction: Direction = "downstream",
            name: str | None = None, toxicity: float = 1.0) -> Latency:
    """A ``Latency`` toxic; raises ``ToxicError`` on a bad parameter."""
    return Latency(ms=ms, jitter_ms=jitter_ms, direction=direction, toxicity=toxicity,
                   name=f"latency_{direction}" if name is None else name)


def bandwidth(kb_per_s: float, *, direction: Direction = "downstream",
              name: str | None = None, toxicity: float = 1.0) -> Bandwidth:
    """A ``Bandwidth`` toxic; raises ``ToxicError`` on a bad parameter."""
    return Bandwidth(kb_per_s=kb_per_s, direction=direction, toxicity=toxicity,
                     name=f"bandwidth_{direction}" if name is None else name)


def timeout(ms: float, *, direction: Direction = "downstream", name: str | None = None,
            toxicity: float = 1.0) -> Timeout:
    """A ``Timeout`` toxic (``ms=0``: a blackhole that keeps the connection open)."""
    return Timeout(ms=ms, direction=direction, toxicity=toxicity,
                   name=f"timeout_{direction}" if name is None else name)


def reset_peer(ms: float = 0.0, *, direction: Direction = "downstream",
               name: str | None = None, toxicity: float = 1.0) -> ResetPeer:
    """A ``ResetPeer`` toxic; raises ``ToxicError`` on a bad parameter."""
    return ResetPeer(ms=ms, direction=direction, toxicity=toxicity,
                     name=f"reset_peer_{direction}" if name is None else name)


def slow_close(ms: float, *, direction: Direction = "downstream", name: str | None = None,
               toxicity: float = 1.0) -> SlowClose:
    """A ``SlowClose`` toxic; raises ``ToxicError`` on a bad parameter."""
    return SlowClose(ms=ms, direction=direction, toxicity=toxicity,
                     name=f"slow_close_{direction}" if name is None else name)


def slicer(average_size: int, size_variation: int = 0, delay_us: float = 0.0, *,
           direction: Direction = "downstream", name: str | None = None,
           toxicity: float = 1.0) -> Slicer:
    """A ``Slicer`` toxic; raises ``ToxicError`` on a bad parameter."""
    return Slicer(average_size=average_size, size_variation=size_variation,
                  delay_us=delay_us, direction=direction, toxicity=toxicity,
                  name=f"slicer_{direction}" if name is None else name)


def limit_data(bytes: int, *, direction: Direction = "downstream",
               name: str | None = None, toxicity: float = 1.0) -> LimitData:
    """A ``LimitData`` toxic; raises ``ToxicError`` on a bad parameter."""
    return LimitData(bytes=bytes, direction=direction, toxicity=toxicity,
                     name=f"limit_data_{direction}" if name is None else name)
