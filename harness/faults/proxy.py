"""``FaultProxy``: an asyncio TCP proxy between one actor and the relay, with toxics.

Every accepted connection is forwarded byte for byte to the upstream (HTTP long-polling,
websockets and their upgrade pass unchanged) until a toxic or a control says otherwise.
Toxics are added and removed at run time and reach live and new connections alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from types import TracebackType
from typing import Final, Literal, Self

from harness.errors import ScenarioTimeout
from harness.faults.connection import ProxyConnection, abort_with_rst
from harness.faults.errors import ToxicError
from harness.faults.toxics import DIRECTIONS, Direction, Toxic

logger = logging.getLogger(__name__)

_STALL = "stall"

CutSide = Literal["both", "client"]
CUT_SIDES: Final = ("both", "client")


class FaultProxy:
    """Listen on ``listen_host:listen_port`` (0: any free port) and forward to the upstream.

    ``async with FaultProxy(...) as proxy`` starts listening; leaving the block stops
    listening and closes every connection the proxy opened. ``seed`` seeds the
    ``random.Random`` behind toxicity draws, jitter and slice sizes.
    """

    def __init__(self, upstream_host: str, upstream_port: int, listen_host: str = "127.0.0.1",
                 listen_port: int = 0, *, seed: int | None = None) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._listen = (listen_host, listen_port)
        self._rng = random.Random(seed)
        self._server: asyncio.Server | None = None
        self._toxics: dict[str, Toxic] = {}
        self._holds: dict[Direction, set[str]] = {d: set() for d in DIRECTIONS}
        self._refusing = False
        self._live: dict[ProxyConnection, asyncio.Task[None]] = {}  # oldest first
        self._changed = asyncio.Event()  # set when a connection comes or goes

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start listening; raises ``OSError`` if the address cannot be bound."""
        self._server = await asyncio.start_server(self._accept, *self._listen)

    async def stop(self) -> None:
        """Stop listening and close (FIN) every live connection; idempotent."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for connection in list(self._live):
            connection.close()
        await asyncio.gather(*self._live.values(), return_exceptions=True)

    @property
    def port(self) -> int:
        """The port the proxy listens on (chosen by the kernel when 0 was asked)."""
        if self._server is None or not self._server.sockets:
            raise ToxicError("proxy: not listening; use `async with FaultProxy(...)` first")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def url_for(self, scheme: str = "http") -> str:
        """The proxy's address as a URL, e.g. ``http://127.0.0.1:40123``."""
        return f"{scheme}://{self._listen[0]}:{self.port}"

    @property
    def connections(self) -> tuple[ProxyConnection, ...]:
        """The live connections, oldest first."""
        return tuple(self._live)

    async def wait_connections(self, count: int,
                               timeout: float = 10.0) -> tuple[ProxyConnection, ...]:
        """Wait until exactly ``count`` connections are live and return them; raises
        ``ScenarioTimeout`` after ``timeout`` seconds."""
        try:
            async with asyncio.timeout(timeout):
                while len(self._live) != count:
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError as exc:
            raise ScenarioTimeout(f"proxy on port {self.port}: {count} live connection(s) "
                                  f"expected, {len(self._live)} after {timeout:g} s") from exc
        return self.connections

    @property
    def toxics(self) -> tuple[Toxic, ...]:
        """The toxics in force, in the order they were added."""
        return tuple(self._toxics.values())

    # -- toxics --------------------------------------------------------------------------

    def add(self, toxic: Toxic) -> Toxic:
        """Put ``toxic`` in force on live and new connections; raises ``ToxicError`` if a
        toxic of that name is already there."""
        if toxic.name in self._toxics:
            raise ToxicError(f"{toxic.kind} {toxic.name!r}: this proxy already has a toxic of "
                             "that name; remove it first or pass name=")
        self._toxics[toxic.name] = toxic
        for connection in self._live:
            connection.apply(toxic)
        return toxic

    def remove(self, name: str) -> None:
        """Withdraw the toxic called ``name``; raises ``ToxicError`` if there is none."""
        if self._toxics.pop(name, None) is None:
            raise ToxicError(f"remove: no toxic named {name!r}; in force: "
                             f"{', '.join(self._toxics) or 'none'}")
        for connection in self._live:
            connection.drop(name)

    def clear(self) -> None:
        """Withdraw every toxic."""
        for name in list(self._toxics):
            self.remove(name)

    # -- controls ------------------------------------------------------------------------

    async def cut(self, side: CutSide = "both") -> None:
        """Reset (RST) every live connection now and wait until they are gone.

        ``side="client"`` resets only the actor's side and leaves the relay's open and
        silent (``ProxyConnection.orphan``): the actor knows at once, the relay only at its
        heartbeat, and a reconnecting actor's new connection passes meanwhile.
        """
        if side not in CUT_SIDES:
            raise ToxicError(f"cut: side must be one of {', '.join(CUT_SIDES)}, got {side!r}",
                             param="side")
        if side == "client":
            for connection in list(self._live):
                connection.orphan()
            return
        handlers = list(self._live.values())
        for connection in list(self._live):
            connection.close(reset=True)
        await asyncio.gather(*handlers, return_exceptions=True)

    def stall(self, direction: Direction) -> None:
        """Hold the bytes of ``direction`` (connections stay open) until ``resume``."""
        self.hold(_check_direction("stall", direction), _STALL)

    def resume(self, direction: Direction) -> None:
        """Let the bytes held by ``stall(direction)`` flow again."""
        self.release(_check_direction("resume", direction), _STALL)

    def refuse(self, refusing: bool = True) -> None:
        """While refusing, accept new connections and reset them at once (a relay that is
        down); live connections are left alone."""
        self._refusing = refusing

    def hold(self, direction: Direction, reason: str) -> None:
        """Hold ``direction`` on live and new connections for ``reason`` (a blackhole with
        the connections left open); bytes flow again once every reason is released."""
        self._holds[direction].add(reason)
        for connection in self._live:
            connection.hold(direction, reason)

    def release(self, direction: Direction, reason: str) -> None:
        """Withdraw ``reason`` to hold ``direction`` (nothing if it was not held for it)."""
        self._holds[direction].discard(reason)
        for connection in self._live:
            connection.release(direction, reason)

    # -- connections ---------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._refusing:
            abort_with_rst(writer)
            return
        try:
            upstream = await asyncio.open_connection(*self.upstream)
        except OSError as exc:
            logger.debug("upstream %s:%s unreachable (%s); resetting the client",
                         *self.upstream, exc)
            abort_with_rst(writer)
            return
        connection = ProxyConnection((reader, writer), upstream, self._rng)
        for direction, reasons in self._holds.items():
            for reason in reasons:
                connection.hold(direction, reason)
        for toxic in self._toxics.values():
            connection.apply(toxic)
        task = asyncio.current_task()
        assert task is not None  # asyncio.start_server runs each handler as a task
        self._live[connection] = task
        self._changed.set()
        try:
            await connection.run()
        finally:
            del self._live[connection]
            self._changed.set()
            for end in (writer, upstream[1]):
                with contextlib.suppress(OSError):
                    await end.wait_closed()


def _check_direction(control: str, direction: str) -> Direction:
    for known in DIRECTIONS:
        if direction == known:
            return known
    raise ToxicError(f"{control}: direction must be 'upstream' or 'downstream', "
                     f"got {direction!r}")
