"""Reconnection fidelity: the real socket.io-client and a simulated client, side by side.

Each client (the real one run by ``clients.js``, the simulated one of ``harness.sim``)
talks to the same reference relay through its own ``FaultProxy``; both go through the same
fault at the same time, on websocket and on long-polling, with the same reconnection
options (delay 100 ms, at most 500 ms) and a 1 s + 1 s relay heartbeat. What each saw is
normalised to the order and kind of its connection's events (connect with a new socket
id or not, disconnect with socket.io-client's reason and whether a reconnection follows,
connect errors, emits live or buffered, acks) and the two must be equal: order and kinds,
never milliseconds. Every wait is on a condition, with a timeout.

Skips without Node.js and ``tests/clients/js/node_modules`` (``make test`` installs them),
unless ``GADGET_REQUIRE_NODE=1`` (CI), where it fails.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from _js_clients import CLIENTS, JsClients, start_js_clients
from _node import node_missing
from conftest import MakeRelayEnv, seeded_world, skip_or_fail

from harness.env import LocalEnvironment
from harness.faults import FaultProxy, timeout
from harness.protocol import ClientType, Event
from harness.sim import Message, MessageHistory, Reconnection, SimClient, SimDrone, SimIDE
from seed.world import World, WorldSpec

pytestmark = [pytest.mark.timeout(90)]

JS_OPTIONS = {"reconnectionDelay": 100, "reconnectionDelayMax": 500}
SIM_RECONNECTION = Reconnection(delay=0.1, delay_max=0.5)
WITHIN = 20.0  # s: each awaited condition (the heartbeat gives up after 2 s)
TRANSPORTS = ("websocket", "polling")

Entry = tuple[str, ...]


@pytest.fixture
async def relay(make_relay_env: MakeRelayEnv) -> AsyncIterator[tuple[LocalEnvironment, World]]:
    """A private relay with a 1 s + 1 s heartbeat and a seeded user with two drones."""
    skip_or_fail(node_missing(CLIENTS, "socket.io-client"), "GADGET_REQUIRE_NODE")
    env = await make_relay_env(ping_interval=1.0, ping_timeout=1.0)
    async with seeded_world(env, WorldSpec(users=1, drones_per_user=2)) as world:
        yield env, world


@dataclass
class Side:
    """The real client and the simulated one, each behind its own proxy."""

    js: JsClients
    sim: SimClient
    history: MessageHistory
    js_net: FaultProxy
    sim_net: FaultProxy

    async def both(self, js_done: Callable[[list[dict[str, Any]]], bool],
                   sim_done: Callable[[list[Message]], bool]) -> None:
        """Wait until the real client's and the simulated client's records satisfy each
        their condition; fails with both logs after ``WITHIN`` seconds."""
        def sim_holds(_: Sequence[Message]) -> bool:
            return sim_done(self.history.select(actor="sim"))
        try:
            await asyncio.gather(
                self.js.wait(lambda: js_done(self.js.of("js")), WITHIN),
                self.history.wait_for(sim_holds, WITHIN))
        except TimeoutError:
            pytest.fail(f"not within {WITHIN:g} s\n{self.logs()}")

    async def faults(self, fault: Callable[[FaultProxy], Awaitable[None] | None]) -> None:
        """Apply ``fault`` to both proxies at once."""
        for result in (fault(self.js_net), fault(self.sim_net)):
            if result is not None:
                await result

    def logs(self) -> str:
        """Both raw logs, for a failure message."""
        js = "\n".join(json.dumps(e) for e in self.js.of("js"))
        sim = "\n".join(f"{m.direction} {m.event} {m.payload} {m.meta}"
                        for m in self.history.select(actor="sim"))
        return f"socket.io-client saw:\n{js}\nthe simulated client saw:\n{sim}"

    def assert_same(self) -> None:
        """The normalised logs are equal."""
        js, sim = js_log(self.js.of("js")), sim_log(self.history.select(actor="sim"))
        assert sim == js, f"\nsocket.io-client: {js}\nsimulated:        {sim}\n{self.logs()}"


# A long-poll response that carries the relay's Socket.IO DISCONNECT and then the Engine.IO
# CLOSE (a handover on polling) makes socket.io-client report two disconnects: "transport
# close" (the CLOSE, handled at once by engine.io-client's polling transport) and then "io
# server disconnect" (the DISCONNECT, decoded on the next tick, manager.js ``ondecoded``),
# which cancels the reconnection the first one scheduled. socket.io-client itself uses
# both reasons for this one fault; the simulated client records the one that decides
# (``io server disconnect``), so the pair counts as that one.
_POLL_CLOSE: Entry = ("disconnect", "transport close", "reconnects")


def _connect_entry(sid: str, last: str | None, reconnect: bool) -> Entry:
    kind = "first" if last is None else "same sid" if sid == last else "new sid"
    return ("connect", kind, "reconnect") if reconnect else ("connect", kind)


def _add(out: list[Entry], entry: Entry) -> None:
    if entry == ("connect_error",) and out and out[-1] == entry:
        return  # how many attempts fail depends on timing: a run of them counts once
    out.append(entry)


def js_log(events: list[dict[str, Any]]) -> list[Entry]:
    """What socket.io-client reported, normalised."""
    out: list[Entry] = []
    last: str | None = None
    reconnect = False
    for e in events:
        kind = e["event"]
        if kind == "reconnect":
            reconnect = True  # the Manager's event comes just before the socket's connect
        elif kind == "connect":
            _add(out, _connect_entry(e["sid"], last, reconnect))
            last, reconnect = e["sid"], False
        elif kind == "disconnect":
            entry = ("disconnect", e["reason"], "reconnects" if e["active"] else "stays")
            if entry[1] == "io server disconnect" and out and out[-1] == _POLL_CLOSE:
                out.pop()  # one poll response: see _POLL_CLOSE
            _add(out, entry)
        elif kind == "connect_error":
            _add(out, ("connect_error",))
        elif kind == "emit":
            _add(out, ("emit", e["name"], "live" if e["connected"] else "buffered"))
        elif kind == "ack":
            _add(out, ("ack", e["name"], json.dumps(e["args"], sort_keys=True)))
    return out


def sim_log(messages: list[Message]) -> list[Entry]:
    """What the simulated client recorded, normalised like ``js_log``."""
    out: list[Entry] = []
    last: str | None = None
    for m in messages:
        if m.direction == "connect":
            assert m.socket_id is not None
            _add(out, _connect_entry(m.socket_id, last, bool(m.meta.get("reconnect"))))
            last = m.socket_id
        elif m.direction == "disconnect":
            _add(out, ("disconnect", m.meta["cause"],
                       "reconnects" if m.meta["reconnects"] else "stays"))
        elif m.direction == "connect-error":
            _add(out, ("connect_error",))
        elif m.direction == "sent":
            _add(out, ("emit", m.event, "buffered" if m.meta.get("buffered") else "live"))
        elif m.direction == "ack":
            _add(out, ("ack", m.event, json.dumps([m.ack], sort_keys=True)))
    return out


def _count(kind: str) -> Callable[[int], Callable[[list[dict[str, Any]]], bool]]:
    return lambda n: lambda events: sum(e["event"] == kind for e in events) >= n


def _sim_count(direction: str) -> Callable[[int], Callable[[list[Message]], bool]]:
    return lambda n: lambda messages: sum(m.direction == direction for m in messages) >= n


js_connects, js_disconnects, js_errors = _count("connect"), _count("disconnect"), \
    _count("connect_error")
sim_connects, sim_disconnects, sim_errors = _sim_count("connect"), _sim_count("disconnect"), \
    _sim_count("connect-error")


async def _side(stack: AsyncExitStack, env: LocalEnvironment, world: World, transport: str,
                drones: bool) -> Side:
    """Both clients connected, each through its own proxy: IDEs of the seeded user, or
    drones (the real one on drone 0, the simulated one on drone 1)."""
    address = urlsplit(env.relay_url)
    assert address.hostname is not None and address.port is not None
    js_net = await stack.enter_async_context(FaultProxy(address.hostname, address.port, seed=1))
    sim_net = await stack.enter_async_context(FaultProxy(address.hostname, address.port, seed=2))
    history = MessageHistory()
    user = world.users[0]
    sim: SimClient
    if drones:
        real, simulated = world.drones[0], world.drones[1]
        auth = {"type": ClientType.DRONE, "registrationId": real.id, "token": real.token}
        sim = SimDrone("sim", sim_net.url_for(), registration_id=simulated.id,
                       token=simulated.token, history=history, transport=transport,  # type: ignore[arg-type]
                       reconnection=SIM_RECONNECTION, rng=random.Random(1))
    else:
        auth = {"type": ClientType.CODE, "token": user.token}
        sim = SimIDE("sim", sim_net.url_for(), token=user.token, history=history,
                     transport=transport,  # type: ignore[arg-type]
                     reconnection=SIM_RECONNECTION, rng=random.Random(1))
    stack.push_async_callback(sim.close)
    js = await start_js_clients(env.relay_url, [
        {"name": "js", "auth": auth, "transports": [transport], "url": js_net.url_for()}],
        JS_OPTIONS)
    stack.push_async_callback(js.close)
    side = Side(js, sim, history, js_net, sim_net)
    await sim.connect(timeout=WITHIN)
    await side.both(js_connects(1), sim_connects(1))
    return side


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_cut_connection_comes_back_with_a_new_socket(
        relay: tuple[LocalEnvironment, World], transport: str) -> None:
    env, world = relay
    async with AsyncExitStack() as stack:
        side = await _side(stack, env, world, transport, drones=False)
        # Node's XHR opens a connection per request: cut while the real client's one
        # request (its long-poll, or its websocket) is in flight.
        await side.js_net.wait_connections(1, WITHIN)
        await side.faults(lambda proxy: proxy.cut())
        await side.both(js_connects(2), sim_connects(2))
        side.assert_same()
        # What each library reports for a reset connection (engine.io-client: the ws
        # library turns a reset websocket into "close"; a failed long-poll is an "error").
        cause = "transport close" if transport == "websocket" else "transport error"
        assert js_log(side.js.of("js"))[1] == ("disconnect", cause, "reconnects")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_server_disconnect_is_never_followed_by_a_reconnection(
        relay: tuple[LocalEnvironment, World], transport: str) -> None:
    env, world = relay
    async with AsyncExitStack() as stack:
        side = await _side(stack, env, world, transport, drones=True)
        # A second connection of each registration: the relay hands over and sends the
        # first one a Socket.IO DISCONNECT (contract section 3). On long-polling, only
        # while the real client's long-poll is waiting: between two polls the relay drops
        # the DISCONNECT with the session, the next poll gets an error ("transport
        # error"), and socket.io-client reconnects and takes the registration back.
        await side.js_net.wait_connections(1, WITHIN)
        for index, drone in enumerate(world.drones[:2]):
            newer = SimDrone(f"newer{index}", env.relay_url, registration_id=drone.id,
                             token=drone.token, history=side.history,
                             reconnection=Reconnection(enabled=False))
            stack.push_async_callback(newer.close)
            await newer.connect(timeout=WITHIN)
        await side.both(js_disconnects(1), sim_disconnects(1))
        side.assert_same()
        assert not side.sim.reconnecting
        assert js_log(side.js.of("js"))[-1] == ("disconnect", "io server disconnect", "stays")
        reasons = [e["reason"] for e in side.js.of("js", "disconnect")]
        assert reasons == (["io server disconnect"] if transport == "websocket"
                           else ["transport close", "io server disconnect"])


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_blackhole_is_a_ping_timeout_then_a_reconnection_once_healed(
        relay: tuple[LocalEnvironment, World], transport: str) -> None:
    env, world = relay
    async with AsyncExitStack() as stack:
        side = await _side(stack, env, world, transport, drones=False)
        for direction in ("downstream", "upstream"):
            await side.faults(lambda proxy, d=direction: _add_toxic(proxy, d))  # type: ignore[misc]
        await side.both(js_disconnects(1), sim_disconnects(1))
        await side.faults(lambda proxy: proxy.clear())
        await side.both(js_connects(2), sim_connects(2))
        side.assert_same()
        assert js_log(side.js.of("js"))[1] == ("disconnect", "ping timeout", "reconnects")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_refused_connections_are_connect_errors_until_allowed(
        relay: tuple[LocalEnvironment, World], transport: str) -> None:
    env, world = relay
    async with AsyncExitStack() as stack:
        side = await _side(stack, env, world, transport, drones=False)
        await side.faults(lambda proxy: proxy.refuse(True))
        await side.faults(lambda proxy: proxy.cut())
        await side.both(js_errors(2), sim_errors(2))
        await side.faults(lambda proxy: proxy.refuse(False))
        await side.both(js_connects(2), sim_connects(2))
        side.assert_same()
        assert ("connect_error",) in js_log(side.js.of("js"))


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_an_emit_while_disconnected_is_delivered_once_after_the_reconnection(
        relay: tuple[LocalEnvironment, World], transport: str) -> None:
    env, world = relay
    chat = world.chat_sessions_of(world.users[0].id)[0]
    payload = {"chatSessionId": chat.id}
    async with AsyncExitStack() as stack:
        side = await _side(stack, env, world, transport, drones=False)
        # A blackhole: the reconnection attempts hang (no connect errors) until it heals.
        for direction in ("downstream", "upstream"):
            await side.faults(lambda proxy, d=direction: _add_toxic(proxy, d))  # type: ignore[misc]
        await side.both(js_disconnects(1), sim_disconnects(1))
        await side.js.send({"cmd": "emit", "client": "js", "id": 1,
                            "name": Event.OPEN_CHAT_SESSION, "payload": payload, "ack": True})
        emitted = asyncio.create_task(
            side.sim.emit(Event.OPEN_CHAT_SESSION, payload, timeout=WITHIN))
        await side.both(_count("emit")(1), _sim_count("sent")(1))
        await side.faults(lambda proxy: proxy.clear())
        await side.both(_count("ack")(1), _sim_count("ack")(1))
        assert await emitted == {"ok": True}
        side.assert_same()
        assert js_log(side.js.of("js"))[2:] == [
            ("emit", Event.OPEN_CHAT_SESSION, "buffered"),
            ("connect", "new sid", "reconnect"),
            ("ack", Event.OPEN_CHAT_SESSION, json.dumps([{"ok": True}])),
        ]


def _add_toxic(proxy: FaultProxy, direction: str) -> None:
    proxy.add(timeout(0, direction=direction))  # type: ignore[arg-type]
