"""The fault proxy, measured: real TCP on 127.0.0.1 (port 0) between a client socket and
an echo server, each toxic and control proven by what arrives and when.

Time margins are generous for a loaded 2-core machine: a delay is asserted from below
(never "at most N ms" for a small N), and a "nothing arrives" window is 0.3-0.5 s.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import socketio
from aiohttp import web

from harness.faults import (
    FaultProxy,
    ToxicError,
    bandwidth,
    latency,
    limit_data,
    partition,
    reset_peer,
    slicer,
    slow_close,
    timeout,
)

WAIT = 10.0  # upper bound for what must arrive; never a sleep
QUIET = 0.5  # how long "nothing arrives" is watched
Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Upstream:
    """An echo server (or, with ``greeting``, one that says it and closes) that records
    its connections and how each ended."""

    def __init__(self, greeting: bytes | None = None) -> None:
        self.greeting = greeting
        self.accepted = 0
        self.received = bytearray()
        self.ended: list[str] = []
        self.changed = asyncio.Event()  # set on every change of the fields above
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.close()
        await self.server.wait_closed()

    async def wait(self, predicate: Callable[[], object]) -> None:
        async with asyncio.timeout(WAIT):
            while True:
                self.changed.clear()
                if predicate():
                    return
                await self.changed.wait()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.changed.set()
        self.writers.append(writer)
        if self.greeting is not None:
            writer.write(self.greeting)
            await writer.drain()
            writer.close()
            return
        try:
            while data := await reader.read(65536):
                self.received += data
                self.changed.set()
                writer.write(data)
                await writer.drain()
            self.ended.append("eof")
        except ConnectionResetError:
            self.ended.append("reset")
        self.changed.set()
        writer.close()


@pytest.fixture
async def echo() -> AsyncIterator[Upstream]:
    upstream = Upstream()
    await upstream.start()
    yield upstream
    await upstream.stop()


@pytest.fixture
async def proxy(echo: Upstream) -> AsyncIterator[FaultProxy]:
    assert echo.server is not None
    async with FaultProxy("127.0.0.1", echo.server.sockets[0].getsockname()[1],
                          seed=7) as started:
        yield started


async def connect(proxy: FaultProxy) -> Stream:
    """A client connection through ``proxy``, once the proxy holds it (and its upstream)."""
    before = len(proxy.connections)
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    await proxy.wait_connections(before + 1, WAIT)
    return reader, writer


async def round_trip(stream: Stream, data: bytes) -> float:
    """Send ``data``, read the same number of bytes back; the seconds it took."""
    reader, writer = stream
    loop = asyncio.get_running_loop()
    start = loop.time()
    writer.write(data)
    await writer.drain()
    got = await asyncio.wait_for(reader.readexactly(len(data)), WAIT)
    assert got == data
    return loop.time() - start


async def read_to_eof(reader: asyncio.StreamReader) -> bytes:
    return await asyncio.wait_for(reader.read(), WAIT)


def close(stream: Stream) -> None:
    stream[1].close()


async def test_bytes_pass_unchanged_and_connections_are_tracked(
        proxy: FaultProxy, echo: Upstream) -> None:
    assert proxy.url_for() == f"http://127.0.0.1:{proxy.port}"
    assert proxy.url_for("ws") == f"ws://127.0.0.1:{proxy.port}"
    stream = await connect(proxy)
    payload = bytes(range(256)) * 800
    await round_trip(stream, payload)
    (connection,) = proxy.connections
    assert connection.bytes_sent("upstream") == connection.bytes_sent("downstream") == len(payload)
    stream[1].write_eof()  # a half-close passes through: the echo server sees EOF
    assert await read_to_eof(stream[0]) == b""
    await proxy.wait_connections(0, WAIT)
    await echo.wait(lambda: echo.ended)
    assert echo.ended == ["eof"]
    close(stream)


async def test_latency_delays_each_round_trip_and_reaches_a_live_connection(
        proxy: FaultProxy) -> None:
    stream = await connect(proxy)
    await round_trip(stream, b"warm")
    proxy.add(latency(200, direction="downstream"))
    assert await round_trip(stream, b"ping") >= 0.19
    proxy.add(latency(100, jitter_ms=20, direction="upstream"))
    assert await round_trip(stream, b"ping") >= 0.27
    proxy.clear()
    assert proxy.toxics == ()
    close(stream)


async def test_bandwidth_paces_a_large_transfer(proxy: FaultProxy) -> None:
    proxy.add(bandwidth(50, direction="downstream"))
    stream = await connect(proxy)
    assert await round_trip(stream, b"x" * 100 * 1024) >= 1.5
    close(stream)


async def test_timeout_zero_is_a_blackhole_that_keeps_the_connection_open(
        proxy: FaultProxy, echo: Upstream) -> None:
    stream = await connect(proxy)
    proxy.add(timeout(0, direction="upstream"))
    stream[1].write(b"lost?")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(stream[0].read(1), QUIET)
    assert echo.received == b""
    assert len(proxy.connections) == 1
    proxy.remove("timeout_upstream")  # Toxiproxy: held data flows once the toxic goes
    assert await asyncio.wait_for(stream[0].readexactly(5), WAIT) == b"lost?"
    close(stream)


async def test_timeout_closes_after_its_delay_without_passing_data(
        proxy: FaultProxy, echo: Upstream) -> None:
    proxy.add(timeout(300, direction="upstream"))
    stream = await connect(proxy)
    start = asyncio.get_running_loop().time()
    stream[1].write(b"never")
    assert await read_to_eof(stream[0]) == b""
    assert asyncio.get_running_loop().time() - start >= 0.25
    assert echo.received == b""
    close(stream)


async def test_reset_peer_resets_the_client(proxy: FaultProxy) -> None:
    stream = await connect(proxy)
    await round_trip(stream, b"fine")
    proxy.add(reset_peer(100))
    with pytest.raises(ConnectionResetError):
        await read_to_eof(stream[0])
    close(stream)


async def test_limit_data_closes_after_exactly_that_many_bytes(proxy: FaultProxy) -> None:
    proxy.add(limit_data(10, direction="downstream"))
    stream = await connect(proxy)
    stream[1].write(b"0123456789abcdefghij" * 5)
    assert await read_to_eof(stream[0]) == b"0123456789"
    close(stream)


async def test_slicer_delivers_in_several_reads(proxy: FaultProxy) -> None:
    proxy.add(slicer(10, 5, delay_us=20_000, direction="downstream"))
    stream = await connect(proxy)
    payload = bytes(range(100))
    stream[1].write(payload)
    got, reads = b"", 0
    while len(got) < len(payload):
        got += await asyncio.wait_for(stream[0].read(65536), WAIT)
        reads += 1
    assert got == payload
    assert reads >= 3
    close(stream)


async def test_slow_close_delays_the_end_of_stream() -> None:
    upstream = Upstream(greeting=b"bye")
    port = await upstream.start()
    async with FaultProxy("127.0.0.1", port) as proxy:
        proxy.add(slow_close(300))
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        start = asyncio.get_running_loop().time()
        assert await asyncio.wait_for(reader.readexactly(3), WAIT) == b"bye"
        assert await read_to_eof(reader) == b""
        assert asyncio.get_running_loop().time() - start >= 0.28
        writer.close()
    await upstream.stop()


async def test_cut_resets_both_sides(proxy: FaultProxy, echo: Upstream) -> None:
    stream = await connect(proxy)
    await round_trip(stream, b"alive")
    await proxy.cut()
    assert proxy.connections == ()
    with pytest.raises(ConnectionResetError):
        await read_to_eof(stream[0])
    await echo.wait(lambda: echo.ended)
    assert echo.ended == ["reset"]
    close(stream)


async def test_cut_on_the_client_side_leaves_the_relay_side_half_open(
        proxy: FaultProxy, echo: Upstream) -> None:
    stream = await connect(proxy)
    await round_trip(stream, b"alive")
    await proxy.cut("client")
    with pytest.raises(ConnectionResetError):
        await read_to_eof(stream[0])
    assert len(proxy.connections) == 1 and proxy.connections[0].orphaned
    # The upstream sees nothing: no end of stream, no reset; what it sends goes nowhere.
    echo.writers[0].write(b"anyone there?")
    await echo.writers[0].drain()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(echo.wait(lambda: echo.ended), QUIET)
    # A new connection passes meanwhile (a reconnecting client's).
    fresh = await connect(proxy)
    await round_trip(fresh, b"back")
    # When the upstream lets go (its heartbeat), the half-open connection ends.
    echo.writers[0].close()
    await proxy.wait_connections(1, WAIT)
    assert not proxy.connections[0].orphaned
    close(stream)
    close(fresh)


async def test_cut_names_a_bad_side(proxy: FaultProxy) -> None:
    with pytest.raises(ToxicError, match="cut: side must be one of both, client, got 'relay'"):
        await proxy.cut("relay")  # type: ignore[arg-type]


async def test_stall_holds_one_direction_until_resume(
        proxy: FaultProxy, echo: Upstream) -> None:
    stream = await connect(proxy)
    proxy.stall("downstream")
    stream[1].write(b"held")
    await echo.wait(lambda: echo.received == b"held")  # upstream still flows
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(stream[0].read(1), QUIET)
    (connection,) = proxy.connections
    assert connection.bytes_received("downstream") == 4
    assert connection.bytes_in_flight("downstream") == 4  # held inside the proxy
    assert connection.bytes_in_flight("upstream") == 0
    proxy.resume("downstream")
    assert await asyncio.wait_for(stream[0].readexactly(4), WAIT) == b"held"
    assert connection.bytes_in_flight("downstream") == 0
    assert connection.bytes_sent("downstream") == 4
    close(stream)


async def test_refuse_resets_new_connections_and_spares_live_ones(
        proxy: FaultProxy, echo: Upstream) -> None:
    live = await connect(proxy)
    proxy.refuse(True)
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    with contextlib.suppress(ConnectionResetError):
        assert await read_to_eof(reader) == b""
    writer.close()
    assert echo.accepted == 1
    await round_trip(live, b"still here")
    proxy.refuse(False)
    again = await asyncio.open_connection("127.0.0.1", proxy.port)
    await round_trip(again, b"back")
    assert echo.accepted == 2
    close(live)
    close(again)


async def test_partition_blackholes_proxies_until_heal(echo: Upstream) -> None:
    assert echo.server is not None
    port = echo.server.sockets[0].getsockname()[1]
    async with FaultProxy("127.0.0.1", port) as a, FaultProxy("127.0.0.1", port) as b:
        streams = [await connect(a), await connect(b)]
        split = partition([a, b])
        for _reader, writer in streams:
            writer.write(b"split")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(streams[0][0].read(1), QUIET)
        assert echo.received == b""
        assert len(a.connections) == len(b.connections) == 1
        split.heal()
        for stream in streams:
            assert await asyncio.wait_for(stream[0].readexactly(5), WAIT) == b"split"
            close(stream)


async def test_toxicity_zero_has_no_effect(proxy: FaultProxy) -> None:
    proxy.add(latency(1000, toxicity=0.0))
    stream = await connect(proxy)
    assert await round_trip(stream, b"quick") < 0.5
    assert proxy.connections[0].toxics == ()
    close(stream)


async def test_toxicity_draws_are_seeded(echo: Upstream) -> None:
    assert echo.server is not None
    port = echo.server.sockets[0].getsockname()[1]
    draws = []
    for _ in range(2):
        async with FaultProxy("127.0.0.1", port, seed=3) as proxy:
            proxy.add(latency(1, toxicity=0.5))
            enabled = []
            for _ in range(12):
                stream = await connect(proxy)
                enabled.append(bool(proxy.connections[-1].toxics))
                close(stream)
                await proxy.wait_connections(0, WAIT)
            draws.append(enabled)
    assert draws[0] == draws[1]
    assert True in draws[0] and False in draws[0]


# -- a real Socket.IO client through the proxy ---------------------------------------------


@pytest.fixture
async def sio_server() -> AsyncIterator[int]:
    sio = socketio.AsyncServer(async_mode="aiohttp", logger=False, engineio_logger=False)
    app = web.Application()
    sio.attach(app)

    async def echo_event(sid: str, data: Any) -> Any:
        return {"echo": data}

    sio.on("echo", echo_event)
    runner = web.AppRunner(app, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield runner.addresses[0][1]
    await runner.cleanup()


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_socketio_client_through_the_proxy_and_cut(sio_server: int, transport: str) -> None:
    async with FaultProxy("127.0.0.1", sio_server) as proxy:
        client = socketio.AsyncClient(reconnection=False)
        reasons: list[str] = []
        gone = asyncio.Event()

        async def on_disconnect(reason: str) -> None:
            reasons.append(reason)
            gone.set()

        client.on("disconnect", on_disconnect)
        await client.connect(proxy.url_for(), transports=[transport], wait_timeout=WAIT)
        try:
            assert client.transport() == transport
            ack = await client.call("echo", {"n": 1}, timeout=WAIT)
            assert ack == {"echo": {"n": 1}}
            await proxy.cut()
            await asyncio.wait_for(gone.wait(), WAIT)
            # python-engineio's name for a transport that died under the client
            assert reasons == [socketio.AsyncClient.reason.TRANSPORT_ERROR]
        finally:
            if client.connected:
                await client.disconnect()
