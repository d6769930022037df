"""The reference relay's lock cache under the races an overloaded relay runs into.

A relay in this process, with its store wrapped so that a database write and a drone's
reconnect interleave in the worst order, deterministically (gates, not sleeps): the order
that, under load (500 drones on 2 cores, ``harness load``), made the relay answer a locked
drone's stream with ``protocolError not-locked`` and drop it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from _raw_clients import eventually
from conftest import in_process_relay
from pymongo import AsyncMongoClient

from harness.env import LocalEnvironment
from harness.errors import HarnessError
from harness.protocol import Event
from harness.relay import Relay
from harness.sim import DroneBehaviour, MessageHistory, SimDrone, SimIDE, StreamScript
from seed.world import World, WorldSpec

pytestmark = [pytest.mark.timeout(60)]

WAIT = 15.0  # upper bound for awaited conditions on a loaded machine
RACE_WINDOW = 1.0  # how long a gate holds one side for the other (a fixed relay blocks it)


@pytest.fixture
async def private_relay(relay_env: LocalEnvironment,
                        relay_mongo: AsyncMongoClient[Any]) -> AsyncIterator[tuple[Relay, World]]:
    """A relay in this process on a fresh database, with one user, one drone, one chat."""
    async with in_process_relay(relay_env, relay_mongo, "overload",
                                WorldSpec(users=1, drones_per_user=1),
                                log_level="WARNING") as started:
        yield started


def gate_first_authentication(relay: Relay, release: asyncio.Event) -> asyncio.Event:
    """Hold the first connect's authentication (its registration read) until ``release``
    is set; returns the event set once that connect is held."""
    store = relay.store
    held = asyncio.Event()
    registration = store.registration
    calls = 0

    async def gated_registration(registration_id: str) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            held.set()
            await asyncio.wait_for(release.wait(), WAIT)
        return await registration(registration_id)

    store.registration = gated_registration  # type: ignore[method-assign]
    return held


async def _gate(event: asyncio.Event) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), RACE_WINDOW)


async def test_a_reconnect_while_the_lock_is_written_keeps_the_stream_flowing(
        private_relay: tuple[Relay, World]) -> None:
    """The drone reconnects (its old socket half-open) while the relay writes the lock it
    accepted: the new socket's connect reads the registration before the write and is
    registered after it. The prompt is then acked ok and forwarded to the new socket, so
    its stream is owed to the IDE; the relay must not refuse it ``not-locked``."""
    relay, world = private_relay
    user, drone_doc, chat = world.users[0], world.drones[0], world.chat_sessions[0]
    store, ctx = relay.store, relay.ctx
    taking, reconnect_read, cached = asyncio.Event(), asyncio.Event(), asyncio.Event()
    take_lock, mark_online, cache_lock = store.take_lock, store.mark_drone_online, \
        ctx.cache_lock
    online_calls = 0

    async def gated_take_lock(registration_id: str, chat_session_id: str) -> bool:
        taking.set()
        await _gate(reconnect_read)  # the reconnect has read the registration
        return await take_lock(registration_id, chat_session_id)

    async def gated_mark_online(registration_id: str) -> Any:
        nonlocal online_calls
        online_calls += 1
        doc = await mark_online(registration_id)
        if online_calls == 2:  # the reconnect
            reconnect_read.set()
            await _gate(cached)  # the lock is written and cached meanwhile
        return doc

    def signalling_cache_lock(*args: Any, **kwargs: Any) -> None:
        cache_lock(*args, **kwargs)
        cached.set()

    store.take_lock = gated_take_lock  # type: ignore[method-assign]
    store.mark_drone_online = gated_mark_online  # type: ignore[method-assign]
    ctx.cache_lock = signalling_cache_lock  # type: ignore[method-assign]

    history = MessageHistory()
    script = StreamScript(thinking=2, responses=2)
    ide = SimIDE("ide", relay.url, token=user.token, history=history, user_id=user.id)
    drone = SimDrone("drone", relay.url, registration_id=drone_doc.id, token=drone_doc.token,
                     history=history, user_id=user.id,
                     behaviour=DroneBehaviour(script=script, recover_after_restart=False))
    try:
        await drone.connect(timeout=WAIT)
        await ide.connect(timeout=WAIT)
        assert await ide.emit(Event.OPEN_CHAT_SESSION, {"chatSessionId": chat.id},
                              timeout=WAIT) == {"ok": True}
        lock = asyncio.create_task(ide.emit(
            Event.REQUEST_SESSION_LOCK,
            {"registrationId": drone_doc.id, "chatSessionId": chat.id}, timeout=WAIT))
        await asyncio.wait_for(taking.wait(), WAIT)  # the drone has accepted the lock
        await drone.restart(timeout=WAIT)
        assert await lock == {"ok": True}
        answer = await ide.emit(Event.SUBMIT_PROMPT, {
            "registrationId": drone_doc.id, "chatSessionId": chat.id, "prompt": "go"},
            timeout=WAIT)
        assert isinstance(answer, dict) and answer.get("ok"), answer
        await drone.wait_idle(WAIT)

        def done(messages: tuple[Any, ...]) -> bool:
            return any(m.actor == "ide" and m.direction == "received"
                       and m.event == Event.WORK_ORDER_COMPLETE for m in messages) or any(
                m.actor == "drone" and m.event == Event.PROTOCOL_ERROR for m in messages)

        with contextlib.suppress(TimeoutError):
            await history.wait_for(done, WAIT)
        refused = [m.payload for m in history.select(actor="drone", direction="received",
                                                     event=Event.PROTOCOL_ERROR)]
        assert refused == [], f"the relay refused the locked drone's stream: {refused}"
        got = [m.payload.get("seq") for m in history.select(actor="ide", direction="received")
               if m.event in (Event.THINKING, Event.RESPONSE, Event.WORK_ORDER_COMPLETE)]
        assert got == [0, 1, 2, 3, 4], f"the IDE got seqs {got} of the prompt it was acked"
    finally:
        await drone.close()
        await ide.close()


async def test_a_connect_its_client_gave_up_on_does_not_replace_the_newer_one(
        private_relay: tuple[Relay, World]) -> None:
    """A drone times out on a connect the relay is still authenticating, closes it and
    connects again. When the relay finishes the first connect after the second, that
    older, closed socket must not replace the live one (which the relay would disconnect:
    "io server disconnect", and nothing reconnects it)."""
    relay, world = private_relay
    drone_doc = world.drones[0]
    given_up = asyncio.Event()
    first_auth = gate_first_authentication(relay, given_up)

    async def closed() -> bool:
        return all(s.closed for s in relay.sio.eio.sockets.values())

    async def settled() -> bool:
        return not relay.sio.manager.pending_connect.get("/")

    history = MessageHistory()
    drone = SimDrone("drone", relay.url, registration_id=drone_doc.id, token=drone_doc.token,
                     history=history, user_id=world.users[0].id)
    try:
        first = asyncio.create_task(drone.connect(timeout=WAIT))
        await asyncio.wait_for(first_auth.wait(), WAIT)
        first.cancel()  # the client gives up: its connection is closed
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await first
        await eventually(closed, "the relay sees the abandoned connection closed", WAIT)
        await drone.connect(timeout=WAIT)
        given_up.set()
        await eventually(settled, "the relay settles the abandoned connect", WAIT)
        current = relay.registry.drone_by_registration(drone_doc.id)
        assert drone.connected and current is not None and current.sid == drone.sid, (
            f"the relay holds {current and current.sid} for the drone, connected as "
            f"{drone.sid} ({'still connected' if drone.connected else 'disconnected'})")
    finally:
        given_up.set()
        await drone.close()


async def test_a_connect_overtaken_by_a_newer_one_does_not_replace_it(
        private_relay: tuple[Relay, World]) -> None:
    """Two connects of one drone, the older one's authentication slower: the newer wins
    whatever order their authentications finish in, and the older one is refused."""
    relay, world = private_relay
    drone_doc = world.drones[0]
    second_in = asyncio.Event()
    first_auth = gate_first_authentication(relay, second_in)
    history = MessageHistory()
    older, newer = (SimDrone(name, relay.url, registration_id=drone_doc.id,
                             token=drone_doc.token, history=history,
                             user_id=world.users[0].id) for name in ("older", "newer"))
    try:
        first = asyncio.create_task(older.connect(timeout=WAIT))
        await asyncio.wait_for(first_auth.wait(), WAIT)
        await newer.connect(timeout=WAIT)
        second_in.set()
        with contextlib.suppress(HarnessError):  # refused: the outcome checked below
            await first
        current = relay.registry.drone_by_registration(drone_doc.id)
        assert newer.connected and current is not None and current.sid == newer.sid, (
            f"the relay holds {current and current.sid}; the newer connection is "
            f"{newer.sid} ({'connected' if newer.connected else 'disconnected'})")
        assert not older.connected
    finally:
        second_in.set()
        await older.close()
        await newer.close()
