"""Live: connect auth, newest-connection-wins, crash recovery, and cleanup after disconnect."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from _raw_clients import POLLING, Clients, eventually, holds_none_of, sessions
from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase

from harness.env import LocalEnvironment
from seed.world import World

Doc = dict[str, Any]


async def _registration(db: AsyncDatabase[Any], registration_id: str) -> Doc:
    doc = await db.droneRegistrations.find_one({"_id": ObjectId(registration_id)})
    assert doc is not None
    return dict(doc)


async def _work_order(db: AsyncDatabase[Any], work_order_id: str) -> Doc:
    doc = await db.workOrders.find_one({"_id": ObjectId(work_order_id)})
    assert doc is not None
    return dict(doc)


# -- auth --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("auth", "reason"), [
    (None, "auth-invalid"),
    ({"type": "tablet", "token": "x"}, "auth-invalid"),
    ({"type": "code"}, "auth-invalid"),
    ({"type": "code", "token": ""}, "auth-invalid"),
    ({"type": "code", "token": "no-such-user-token"}, "auth-denied"),
    ({"type": "drone", "registrationId": "not-hex", "token": "x"}, "auth-invalid"),
    ({"type": "drone", "token": "x"}, "auth-invalid"),
    ({"type": "drone", "registrationId": "ab" * 12, "token": "x"}, "auth-unknown"),
])
async def test_bad_connect_auth_is_refused_with_its_reason(clients: Clients, auth: Any,
                                                           reason: str) -> None:
    error = await clients.refusal(auth)
    assert error["message"] == reason
    assert error["data"]["error"] == reason and error["data"]["message"]


async def test_wrong_drone_token_is_auth_denied(clients: Clients, world: World) -> None:
    drone = world.drones[0]
    error = await clients.refusal({"type": "drone", "registrationId": drone.id,
                                   "token": world.users[0].token})
    assert error["message"] == "auth-denied"
    missing = await clients.refusal({"type": "drone", "registrationId": drone.id})
    assert missing["message"] == "auth-invalid"


async def test_ide_connects_with_its_user_token(clients: Clients, relay_env: LocalEnvironment,
                                                world: World) -> None:
    ide = await clients.ide(world.users[0].token)
    maps = await sessions(relay_env)
    assert ide.sid in maps["sessions"]["keys"]
    assert world.users[0].id in maps["codeSessionsByUser"]["keys"]


# -- drone connect -------------------------------------------------------------------------


async def test_drone_connect_sets_online_and_tells_only_the_owner(
        clients: Clients, relay_env: LocalEnvironment, db: AsyncDatabase[Any],
        wide_world: World) -> None:
    owner, other = wide_world.users
    drone = wide_world.drones_of(owner.id)[0]
    owner_ide = await clients.ide(owner.token, "owner-ide")
    other_ide = await clients.ide(other.token, "other-ide")
    before = datetime.now(UTC) - timedelta(seconds=1)

    client = await clients.drone(drone.id, drone.token)

    await owner_ide.wait_for("droneStatus")
    assert owner_ide.events("droneStatus") == [{"registrationId": drone.id, "status": "online"}]
    doc = await _registration(db, drone.id)
    assert doc["status"] == "online" and doc["lockedBy"] is None
    assert doc["lastSeenAt"] >= before
    maps = await sessions(relay_env)
    assert client.sid in maps["sessions"]["keys"]
    assert drone.id in maps["dronesByRegistration"]["keys"]
    await other_ide.barrier()
    assert other_ide.events("droneStatus") == []


async def test_a_drone_that_holds_a_lock_connects_busy(
        clients: Clients, db: AsyncDatabase[Any], world: World) -> None:
    drone, chat = world.drones[0], world.chat_sessions[0]
    await db.droneRegistrations.update_one(
        {"_id": ObjectId(drone.id)}, {"$set": {"lockedBy": ObjectId(chat.id)}})
    ide = await clients.ide(world.users[0].token)
    await clients.drone(drone.id, drone.token)
    await ide.wait_for("droneStatus")
    assert ide.events("droneStatus") == [{"registrationId": drone.id, "status": "busy"}]
    assert (await _registration(db, drone.id))["status"] == "busy"


# -- newest connection wins, crash recovery ------------------------------------------------


async def _locked_with_running_work(clients: Clients, world: World) -> tuple[Any, ...]:
    user, drone, chat = world.users[0], world.drones[0], world.chat_sessions[0]
    ide = await clients.ide(user.token)
    assert await ide.call("openChatSession", {"chatSessionId": chat.id}) == {"ok": True}
    first = await clients.drone(drone.id, drone.token, "first")
    lock = {"registrationId": drone.id, "chatSessionId": chat.id}
    assert await ide.call("requestSessionLock", lock) == {"ok": True}
    ack = await ide.call("submitPrompt", {**lock, "prompt": "build it"})
    assert ack["ok"] is True
    return ide, first, ack["workOrderId"]


async def test_newest_connection_wins_and_the_handover_keeps_lock_and_work(
        clients: Clients, relay_env: LocalEnvironment, db: AsyncDatabase[Any],
        world: World) -> None:
    drone, chat = world.drones[0], world.chat_sessions[0]
    ide, first, work_order_id = await _locked_with_running_work(clients, world)
    first_sid = first.sid

    second = await clients.drone(drone.id, drone.token, "second")

    await first.disconnected.wait()
    doc = await _registration(db, drone.id)
    assert (doc["status"], doc["lockedBy"]) == ("busy", ObjectId(chat.id))
    assert (await _work_order(db, work_order_id))["status"] == "running"
    await eventually(lambda: holds_none_of(relay_env, [first_sid]), "old socket removed")
    maps = await sessions(relay_env)
    assert second.sid in maps["sessions"]["keys"]
    assert drone.id in maps["dronesByRegistration"]["keys"]
    await ide.barrier()
    statuses = [e["status"] for e in ide.events("droneStatus")]
    assert "offline" not in statuses and statuses[-1] == "busy"


async def test_crash_recovery_returns_lock_and_work_and_tells_the_ide(
        clients: Clients, world: World) -> None:
    drone, chat = world.drones[0], world.chat_sessions[0]
    ide, _first, work_order_id = await _locked_with_running_work(clients, world)
    second = await clients.drone(drone.id, drone.token, "second")

    ack = await second.call("requestCrashRecovery")

    assert ack == {"ok": True, "chatSessionId": chat.id, "workOrder": {
        "id": work_order_id, "chatSessionId": chat.id, "prompt": "build it",
        "status": "running"}}
    await ide.wait_for("droneRecovered")
    assert ide.events("droneRecovered") == [{"registrationId": drone.id,
                                             "chatSessionId": chat.id}]
    # the recovered drone streams for its chat session again
    await second.emit("response", {"workOrderId": work_order_id, "chatSessionId": chat.id,
                                   "seq": 0, "text": "back"})
    [forwarded] = await ide.wait_for("response")
    assert forwarded["text"] == "back" and forwarded["registrationId"] == drone.id


async def test_crash_recovery_without_a_lock(clients: Clients, world: World) -> None:
    drone = world.drones[1]
    client = await clients.drone(drone.id, drone.token)
    assert await client.call("requestCrashRecovery") == {"ok": True, "chatSessionId": None}
    assert await client.call("requestCrashRecovery", {}) == {"ok": True, "chatSessionId": None}
    bad = await client.call("requestCrashRecovery", "now")
    assert (bad["ok"], bad["error"]) == (False, "invalid-payload")


# -- disconnect cleanup --------------------------------------------------------------------


async def test_drone_disconnect_cleans_up_everything(
        clients: Clients, relay_env: LocalEnvironment, db: AsyncDatabase[Any],
        world: World) -> None:
    drone, chat = world.drones[0], world.chat_sessions[0]
    ide, first, work_order_id = await _locked_with_running_work(clients, world)
    sid = first.sid

    await first.sio.disconnect()

    await ide.wait_for("droneStatus", lambda e: e["status"] == "offline")
    doc = await _registration(db, drone.id)
    assert (doc["status"], doc["lockedBy"]) == ("offline", None)
    order = await _work_order(db, work_order_id)
    assert order["status"] == "aborted" and order["completedAt"] is not None
    assert await holds_none_of(relay_env, [sid, drone.id])
    # the lock is gone: the chat session may lock another drone... and this one is offline
    ack = await ide.call("requestSessionLock", {"registrationId": drone.id,
                                                "chatSessionId": chat.id})
    assert ack["error"] == "drone-offline"


async def test_ide_disconnect_leaves_no_trace(clients: Clients, relay_env: LocalEnvironment,
                                              wide_world: World) -> None:
    user = wide_world.users[0]
    chat = wide_world.chat_sessions_of(user.id)[0]
    ide = await clients.ide(user.token)
    assert await ide.call("openChatSession", {"chatSessionId": chat.id}) == {"ok": True}
    sid = ide.sid
    assert not await holds_none_of(relay_env, [sid, user.id, chat.id])

    await ide.sio.disconnect()

    await eventually(lambda: holds_none_of(relay_env, [sid, user.id, chat.id]),
                     "the IDE's socket, user and chat session keys removed")


async def test_events_named_connect_or_disconnect_change_nothing(
        clients: Clients, relay_env: LocalEnvironment, world: World) -> None:
    drone = world.drones[0]
    ide = await clients.ide(world.users[0].token)
    client = await clients.drone(drone.id, drone.token)
    for target in (ide, client):
        await target.emit("disconnect", {"reason": "spoof"})
        await target.emit("connect", {"type": "code", "token": "x"})
        await target.barrier()
    maps = await sessions(relay_env)
    assert {ide.sid, client.sid} <= set(maps["sessions"]["keys"])
    assert drone.id in maps["dronesByRegistration"]["keys"]


async def test_long_polling_clients_lock_and_stream_in_order(
        clients: Clients, world: World) -> None:
    user, drone, chat = world.users[0], world.drones[2], world.chat_sessions[0]
    ide = await clients.ide(user.token, transports=POLLING)
    client = await clients.drone(drone.id, drone.token, transports=POLLING)
    assert await ide.call("openChatSession", {"chatSessionId": chat.id}) == {"ok": True}
    lock = {"registrationId": drone.id, "chatSessionId": chat.id}
    assert await ide.call("requestSessionLock", lock) == {"ok": True}
    work_order_id = (await ide.call("submitPrompt", {**lock, "prompt": "p"}))["workOrderId"]
    for seq in range(60):
        await client.emit("thinking", {"workOrderId": work_order_id, "chatSessionId": chat.id,
                                       "seq": seq, "text": f"t{seq}"})
    events = await ide.wait_for("thinking", count=60)
    assert [e["seq"] for e in events] == list(range(60))
