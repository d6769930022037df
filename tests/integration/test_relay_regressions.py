"""Live: each ``--regress`` switch brings back its bug, and the failure it causes shows.

Each test runs the same steps against a relay with the switch on and asserts the broken
behaviour; the matching correct behaviour is asserted by the other ``test_relay_*`` files.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from _raw_clients import Clients, eventually, http, seeded_env, sessions
from bson import ObjectId
from pymongo import AsyncMongoClient

from harness.env import LocalEnvironment

MakeEnv = Callable[..., Awaitable[LocalEnvironment]]


@pytest.fixture
async def private_clients() -> AsyncIterator[Callable[[LocalEnvironment], Clients]]:
    made: list[Clients] = []

    def make(env: LocalEnvironment) -> Clients:
        made.append(Clients(env.relay_url))
        return made[-1]

    yield make
    for clients in made:
        await clients.close()


async def test_lookup_by_socket_id_reaches_no_drone_and_no_ide(
        make_relay_env: MakeEnv, private_clients: Callable[[LocalEnvironment], Clients]) -> None:
    env = await make_relay_env(regressions=frozenset({"lookup-by-socket-id"}))
    world = await seeded_env(env)
    user, drone, chat = world.users[0], world.drones[0], world.chat_sessions[0]
    # The drone holds the lock already (from before the relay started), so it may stream.
    mongo: AsyncMongoClient[Any] = AsyncMongoClient(env.mongo_uri)
    try:
        await mongo[env.database].droneRegistrations.update_one(
            {"_id": ObjectId(drone.id)}, {"$set": {"lockedBy": ObjectId(chat.id)}})
    finally:
        await mongo.close()
    clients = private_clients(env)
    ide = await clients.ide(user.token)
    assert await ide.call("openChatSession", {"chatSessionId": chat.id}) == {"ok": True}
    client = await clients.drone(drone.id, drone.token)

    # the connected drone is "offline" to every lookup by registration id
    lock = {"registrationId": drone.id, "chatSessionId": chat.id}
    ack = await ide.call("submitPrompt", {**lock, "prompt": "p"})
    assert ack["error"] == "drone-offline"
    # droneStatus never reaches the owner; the stream never reaches the IDE
    await client.emit("response", {"workOrderId": "a" * 24, "chatSessionId": chat.id,
                                   "seq": 0, "text": "lost"})
    assert await client.call("requestCrashRecovery") == {
        "ok": True, "chatSessionId": chat.id, "workOrder": None}
    await ide.barrier()
    assert ide.received == []
    assert client.events("submitPrompt") == []


async def test_no_termination_handler_times_out_without_asking_the_drone(
        make_relay_env: MakeEnv, private_clients: Callable[[LocalEnvironment], Clients]) -> None:
    env = await make_relay_env(regressions=frozenset({"no-termination-handler"}))
    world = await seeded_env(env)
    user, drone = world.users[0], world.drones[0]
    client = await private_clients(env).drone(drone.id, drone.token,
                                              answers={"requestTermination": True})

    status, body = await http(
        "POST", f"{env.relay_url}/api/v1/drone/registration/{drone.id}/terminate",
        token=user.token)

    assert (status, body["error"]) == (504, "termination-timeout")
    await client.barrier()
    assert client.events("requestTermination") == []


async def test_stale_index_on_disconnect_leaks_index_entries(
        make_relay_env: MakeEnv, private_clients: Callable[[LocalEnvironment], Clients]) -> None:
    env = await make_relay_env(regressions=frozenset({"stale-index-on-disconnect"}))
    world = await seeded_env(env)
    user, drone, chat = world.users[0], world.drones[0], world.chat_sessions[0]
    clients = private_clients(env)
    ide = await clients.ide(user.token)
    assert await ide.call("openChatSession", {"chatSessionId": chat.id}) == {"ok": True}
    client = await clients.drone(drone.id, drone.token)
    watcher = await clients.ide(user.token, "watcher")

    await client.sio.disconnect()
    await watcher.wait_for("droneStatus", lambda e: e["status"] == "offline")
    await ide.sio.disconnect()
    await watcher.sio.disconnect()

    maps = await _settled(env)
    assert maps["sessions"]["size"] == 0
    assert maps["dronesByRegistration"]["keys"] == [drone.id]
    assert maps["codeSessionsByUser"]["keys"] == [user.id]
    assert maps["codeSessionsByChatSession"]["keys"] == [chat.id]


async def test_without_the_switch_the_same_steps_leave_nothing(
        make_relay_env: MakeEnv, private_clients: Callable[[LocalEnvironment], Clients]) -> None:
    env = await make_relay_env()
    world = await seeded_env(env)
    user, drone, chat = world.users[0], world.drones[0], world.chat_sessions[0]
    clients = private_clients(env)
    ide = await clients.ide(user.token)
    assert await ide.call("openChatSession", {"chatSessionId": chat.id}) == {"ok": True}
    client = await clients.drone(drone.id, drone.token)
    await client.sio.disconnect()
    await ide.wait_for("droneStatus", lambda e: e["status"] == "offline")
    await ide.sio.disconnect()

    maps = await _settled(env)
    assert all(m == {"size": 0, "keys": []} for m in maps.values()), maps


async def _settled(env: LocalEnvironment) -> dict[str, dict[str, Any]]:
    """The maps once the relay has processed every disconnect (no socket left)."""
    async def no_sockets() -> bool:
        return bool((await sessions(env))["sessions"]["size"] == 0)

    await eventually(no_sockets, "every socket removed from the primary map")
    return await sessions(env)


async def test_lock_retry_ok_answers_a_pending_retry_ok_before_the_drone_answers(
        make_relay_env: MakeEnv, private_clients: Callable[[LocalEnvironment], Clients]) -> None:
    env = await make_relay_env(regressions=frozenset({"lock-retry-ok"}))
    world = await seeded_env(env)
    user, drone, chat = world.users[0], world.drones[0], world.chat_sessions[0]
    gate = asyncio.Event()

    async def slow_no(_: Any) -> bool:
        await gate.wait()
        return False

    clients = private_clients(env)
    ide = await clients.ide(user.token)
    client = await clients.drone(drone.id, drone.token, answers={"requestSessionLock": slow_no})
    lock = {"registrationId": drone.id, "chatSessionId": chat.id}
    first = asyncio.create_task(ide.call("requestSessionLock", lock))
    await client.wait_for("requestSessionLock")

    # the bug: the retry is ok at once, though the drone has not answered (and will refuse)
    assert await ide.call("requestSessionLock", lock) == {"ok": True}
    gate.set()
    assert (await first)["error"] == "drone-rejected"
    assert len(client.events("requestSessionLock")) == 1
