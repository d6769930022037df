"""One proxied TCP connection: two pumps (client to relay, relay to client) that apply the
toxics enabled on this connection, and the holds and closes its proxy orders.

Each direction is a reader task and a writer task joined by a small bounded queue, so a
held or slowed direction pushes back on its sender the way a full TCP window does, and
a latency delays each chunk from its arrival without lowering throughput.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import struct
from collections.abc import Iterator
from typing import Final, TypeVar

from harness.faults.toxics import (
    DIRECTIONS,
    Bandwidth,
    Direction,
    Latency,
    LimitData,
    ResetPeer,
    Slicer,
    SlowClose,
    Timeout,
    Toxic,
)

logger = logging.getLogger(__name__)
_T = TypeVar("_T", bound=Toxic)

_CHUNK = 65536
_QUEUE_CHUNKS = 4
_BANDWIDTH_STEP_S = 0.05  # pace bandwidth in slices this long, so it is smooth, not bursty


_ORPHANED: Final = "half-open"


class ProxyConnection:
    """A live connection through a ``FaultProxy`` (read its state; the proxy drives it)."""

    def __init__(self, client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
                 upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
                 rng: random.Random) -> None:
        self._client_writer = client[1]
        self._upstream_writer = upstream[1]
        self._source = {"upstream": client[0], "downstream": upstream[0]}
        self._dest = {"upstream": upstream[1], "downstream": client[1]}
        self._rng = rng
        self._toxics: dict[str, Toxic] = {}
        self._timers: dict[str, asyncio.Task[None]] = {}
        self._holds: dict[Direction, set[str]] = {d: set() for d in DIRECTIONS}
        self._flowing = {d: asyncio.Event() for d in DIRECTIONS}
        self._sent = dict.fromkeys(DIRECTIONS, 0)
        self._received = dict.fromkeys(DIRECTIONS, 0)
        self._queues: dict[Direction, asyncio.Queue[tuple[float, bytes]]] = {
            d: asyncio.Queue(_QUEUE_CHUNKS) for d in DIRECTIONS}
        self._ended: set[Direction] = set()
        self._orphaned = False  # the client side was reset, the relay side left open
        self._closed = asyncio.Event()
        self.client_address: tuple[str, int] = client[1].get_extra_info("peername")[:2]
        for event in self._flowing.values():
            event.set()

    def __repr__(self) -> str:
        return (f"ProxyConnection(client={self.client_address}, sent={self._sent}, "
                f"toxics={sorted(self._toxics)}, closed={self.closed})")

    @property
    def closed(self) -> bool:
        """True once the proxy closed or reset both sockets."""
        return self._closed.is_set()

    @property
    def toxics(self) -> tuple[str, ...]:
        """Names of the toxics enabled on this connection (after the toxicity draw)."""
        return tuple(self._toxics)

    def bytes_sent(self, direction: Direction) -> int:
        """Bytes passed on so far in ``direction``."""
        return self._sent[direction]

    def bytes_received(self, direction: Direction) -> int:
        """Bytes read so far from the sender of ``direction`` (passed on or not)."""
        return self._received[direction]

    def bytes_in_flight(self, direction: Direction) -> int:
        """Bytes of ``direction`` inside the proxy now: read, not (yet) passed on. Held by
        a stall, a partition or a blackhole, delayed by a latency, or cut off by a data
        limit. (Bytes still in the kernel's socket buffers are not counted.)"""
        return self._received[direction] - self._sent[direction]

    # -- driven by the proxy -------------------------------------------------------------

    async def run(self) -> None:
        """Pump both directions until the connection closes; cancel-safe."""
        pumps = [asyncio.create_task(pump(d)) for d in DIRECTIONS
                 for pump in (self._read, self._write)]
        try:
            await self._closed.wait()
        finally:
            self.close()
            tasks = [*pumps, *self._timers.values()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def apply(self, toxic: Toxic) -> None:
        """Enable ``toxic`` here unless its toxicity draw says no; start its timer if any."""
        if toxic.toxicity < 1.0 and self._rng.random() >= toxic.toxicity:
            return
        self._toxics[toxic.name] = toxic
        if isinstance(toxic, Timeout):
            self.hold(toxic.direction, f"toxic {toxic.name}")
        if isinstance(toxic, ResetPeer) or (isinstance(toxic, Timeout) and toxic.ms > 0):
            self._timers[toxic.name] = asyncio.create_task(self._fire(toxic))

    def drop(self, name: str) -> None:
        """Disable the toxic called ``name`` here (nothing if it was not enabled)."""
        toxic = self._toxics.pop(name, None)
        if toxic is None:
            return
        timer = self._timers.pop(name, None)
        if timer is not None:
            timer.cancel()
        if isinstance(toxic, Timeout):
            self.release(toxic.direction, f"toxic {name}")

    def hold(self, direction: Direction, reason: str) -> None:
        """Stop passing bytes in ``direction`` until every reason is released."""
        self._holds[direction].add(reason)
        self._flowing[direction].clear()

    def release(self, direction: Direction, reason: str) -> None:
        """Withdraw one reason to hold ``direction``; bytes flow when none is left."""
        self._holds[direction].discard(reason)
        if not self._holds[direction]:
            self._flowing[direction].set()

    @property
    def orphaned(self) -> bool:
        """True once ``orphan()`` reset the client side and left the relay side open."""
        return self._orphaned

    def orphan(self) -> None:
        """Reset the client's side only and leave the relay's side open and silent: a
        half-open connection, as a laptop that changed networks or a NAT that forgot the
        flow leaves it. Nothing passes either way any more; the connection ends when the
        relay closes its side (at its heartbeat) or the proxy closes."""
        if self._closed.is_set() or self._orphaned:
            return
        self._orphaned = True
        for direction in DIRECTIONS:
            self.hold(direction, _ORPHANED)
        logger.debug("orphan %s", self)
        abort_with_rst(self._client_writer)

    def close(self, *, reset: bool = False) -> None:
        """Close both sockets: flushed with FIN, or at once with RST when ``reset``."""
        if self._closed.is_set():
            return
        self._closed.set()
        logger.debug("%s %s", "reset" if reset else "close", self)
        for writer in (self._client_writer, self._upstream_writer):
            if reset:
                abort_with_rst(writer)
            else:
                writer.close()

    async def wait_closed(self) -> None:
        """Return once the connection is closed."""
        await self._closed.wait()

    # -- the pumps -----------------------------------------------------------------------

    async def _read(self, direction: Direction) -> None:
        loop = asyncio.get_running_loop()
        queue = self._queues[direction]
        try:
            while True:
                data = await self._source[direction].read(_CHUNK)
                if self._orphaned:
                    if direction == "downstream" and not data:
                        self.close()  # the relay has let go of the half-open connection
                    if not data:
                        return
                    continue  # nobody is left to receive it
                self._received[direction] += len(data)
                await queue.put((loop.time(), data))
                if not data:
                    return
        except OSError:  # a peer reset: pass the reset on (none left for an orphan's client)
            if not (self._orphaned and direction == "upstream"):
                self.close(reset=True)

    async def _write(self, direction: Direction) -> None:
        loop = asyncio.get_running_loop()
        queue = self._queues[direction]
        try:
            while True:
                arrived, data = await queue.get()
                if not data:
                    await self._pass_eof(direction)
                    return
                wait = arrived + self._latency_s(direction) - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                for piece, pause_s in self._slices(direction, data):
                    if not await self._send(direction, piece):
                        return
                    if pause_s:
                        await asyncio.sleep(pause_s)
        except OSError:
            self.close(reset=True)

    async def _send(self, direction: Direction, data: bytes) -> bool:
        """Pass ``data`` on under the bandwidth and data limits; False once closed."""
        limits = [t.bytes for t in self._of(direction, LimitData)]
        last = bool(limits) and self._sent[direction] + len(data) >= min(limits)
        if last:
            data = data[:max(0, min(limits) - self._sent[direction])]
        rates = [t.kb_per_s * 1024 for t in self._of(direction, Bandwidth)]
        step = max(1, int(min(rates) * _BANDWIDTH_STEP_S)) if rates else len(data) or 1
        writer = self._dest[direction]
        for start in range(0, len(data), step):
            part = data[start:start + step]
            await self._flowing[direction].wait()
            writer.write(part)
            await writer.drain()
            self._sent[direction] += len(part)
            if rates:
                await asyncio.sleep(len(part) / min(rates))
        if last:
            self.close()
        return not last

    async def _pass_eof(self, direction: Direction) -> None:
        delay_ms = sum(t.ms for t in self._of(direction, SlowClose))
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000)
        await self._flowing[direction].wait()
        writer = self._dest[direction]
        if writer.can_write_eof() and not writer.is_closing():
            writer.write_eof()
        self._ended.add(direction)
        if len(self._ended) == len(DIRECTIONS):
            self.close()

    async def _fire(self, toxic: ResetPeer | Timeout) -> None:
        await asyncio.sleep(toxic.ms / 1000)
        self._timers.pop(toxic.name, None)
        self.close(reset=isinstance(toxic, ResetPeer))

    # -- toxic arithmetic ----------------------------------------------------------------

    def _of(self, direction: Direction, kind: type[_T]) -> list[_T]:
        return [t for t in self._toxics.values()
                if isinstance(t, kind) and t.direction == direction]

    def _latency_s(self, direction: Direction) -> float:
        total_ms = 0.0
        for toxic in self._of(direction, Latency):
            jitter = self._rng.uniform(-toxic.jitter_ms, toxic.jitter_ms) if toxic.jitter_ms else 0
            total_ms += toxic.ms + jitter
        return max(0.0, total_ms) / 1000

    def _slices(self, direction: Direction, data: bytes) -> Iterator[tuple[bytes, float]]:
        slicers = self._of(direction, Slicer)
        if not slicers:
            yield data, 0.0
            return
        pause_s = sum(s.delay_us for s in slicers) / 1e6
        pieces = [data]
        for cut in slicers:
            pieces = [p for whole in pieces for p in self._cut(whole, cut)]
        for piece in pieces:
            yield piece, pause_s

    def _cut(self, data: bytes, slicer: Slicer) -> Iterator[bytes]:
        start = 0
        while start < len(data):
            size = slicer.average_size + self._rng.randint(-slicer.size_variation,
                                                           slicer.size_variation)
            yield data[start:start + size]
            start += size


def abort_with_rst(writer: asyncio.StreamWriter) -> None:
    """Close at once; SO_LINGER 0 makes the kernel send RST instead of FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
