"""A simulated client's connection, without a server: its write loop and its tasks."""

from __future__ import annotations

import asyncio
import gc
import warnings
from typing import Any

import engineio.packet

from harness.sim._engine import EngineClient
from harness.sim._socket import Link, Reply


class _Owner:
    """A LinkOwner that keeps what it is told."""

    def __init__(self) -> None:
        self.failures: list[tuple[str, BaseException]] = []

    def link_connected(self, link: Link) -> None: ...

    def link_event(self, link: Link, event: str, args: tuple[Any, ...],
                   wants_ack: bool) -> Reply:
        return Reply()

    def link_acked(self, link: Link, event: str, args: tuple[Any, ...]) -> None: ...

    def link_disconnected(self, link: Link, detail: str) -> None: ...

    def link_leaving(self, link: Link) -> None: ...

    def link_failed(self, link: Link, where: str, exc: BaseException) -> None:
        self.failures.append((where, exc))


class _Frames:
    """Stands for the websocket: keeps the frames written to it."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send_str(self, data: str) -> None:
        self.sent.append(data)


async def _ticks(count: int = 10) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


async def test_an_idle_write_loop_waits_for_packets_however_late_the_server_pings() -> None:
    """python-engineio's loop gives up after max(pingInterval, pingTimeout) + 5 s with
    nothing to send; socket.io-client has no such rule (an overloaded relay pinging more
    than 5 s late lost every idle IDE). Negative intervals make the library's limit 0 s."""
    client = EngineClient()
    client.state, client.current_transport = "connected", "websocket"
    client.ping_interval = client.ping_timeout = -5
    client.queue, client.ws = asyncio.Queue(), _Frames()
    writer = asyncio.create_task(client._write_loop())
    await _ticks()
    assert not writer.done(), "the write loop gave up on an idle connection"
    await client.queue.put(engineio.packet.Packet(engineio.packet.MESSAGE, "late"))
    await client.queue.put(None)
    await asyncio.wait_for(writer, 5)
    assert client.ws.sent == ["4late"]


async def test_the_write_loop_sends_what_came_before_the_stop_then_ends() -> None:
    client = EngineClient()
    client.state, client.current_transport = "connected", "websocket"
    client.ping_interval, client.ping_timeout = 25, 20
    client.queue, client.ws = asyncio.Queue(), _Frames()
    for text in ("a", "b"):
        client.queue.put_nowait(engineio.packet.Packet(engineio.packet.MESSAGE, text))
    client.queue.put_nowait(None)
    await asyncio.wait_for(client._write_loop(), 5)
    assert client.ws.sent == ["4a", "4b"]
    assert client.queue.empty() and client.write_loop_task is None


async def test_a_task_cancelled_before_it_ran_leaves_no_coroutine_unawaited() -> None:
    owner = _Owner()
    link = Link(owner, actor="ide-1", transport="websocket", request_timeout=1.0)

    async def watch() -> None:
        await asyncio.sleep(3600)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        link.spawn(watch(), "watching")
        link.cancel_tasks()
        await _ticks()
        gc.collect()
    assert [str(w.message) for w in caught if "never awaited" in str(w.message)] == []
    assert owner.failures == []


async def test_a_failing_task_is_reported_to_the_owner() -> None:
    owner = _Owner()
    link = Link(owner, actor="drone-1", transport="websocket", request_timeout=1.0)

    async def fail() -> None:
        raise ValueError("boom")

    link.spawn(fail(), "exiting")
    await _ticks()
    assert [(where, str(exc)) for where, exc in owner.failures] == [("exiting", "boom")]
