"""Live: every IDE -> relay event, every ack of the protocol's table, and the check order."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from _raw_clients import NO_ACK, Clients, RawClient
from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase

from seed.world import World

UNKNOWN = "f" * 24


class Ids:
    """The wide world seen from its first user: own and foreign drones and chats."""

    def __init__(self, world: World) -> None:
        me, other = world.users
        self.token, self.user_id = me.token, me.id
        self.drone, self.drone2 = world.drones_of(me.id)
        self.chat, self.chat2 = world.chat_sessions_of(me.id)
        self.foreign_drone = world.drones_of(other.id)[0]
        self.foreign_chat = world.chat_sessions_of(other.id)[0]
        self.project_id = self.chat.project_id


@pytest.fixture
def ids(wide_world: World) -> Ids:
    return Ids(wide_world)


def _error(ack: Any) -> str:
    assert isinstance(ack, dict) and ack.get("ok") is False, ack
    assert isinstance(ack.get("message"), str) and ack["message"], ack
    return str(ack["error"])


async def _registration(db: AsyncDatabase[Any], registration_id: str) -> dict[str, Any]:
    doc = await db.droneRegistrations.find_one({"_id": ObjectId(registration_id)})
    assert doc is not None
    return dict(doc)


def _lock(registration_id: str, chat_id: str) -> dict[str, str]:
    return {"registrationId": registration_id, "chatSessionId": chat_id}


# -- openChatSession ---------------------------------------------------------------------------


async def test_open_chat_session_acks(clients: Clients, ids: Ids) -> None:
    ide = await clients.ide(ids.token)
    assert await ide.call("openChatSession", {"chatSessionId": ids.chat.id}) == {"ok": True}
    assert await ide.call("openChatSession", {"chatSessionId": ids.chat.id}) == {"ok": True}
    assert _error(await ide.call("openChatSession", {"chatSessionId": UNKNOWN})) == "not-found"
    assert _error(await ide.call("openChatSession",
                                 {"chatSessionId": ids.foreign_chat.id})) == "forbidden"
    assert _error(await ide.call("openChatSession", {"chatSessionId": "x"})) == "invalid-id"
    assert _error(await ide.call("openChatSession", {})) == "invalid-payload"
    assert _error(await ide.call("openChatSession", "x")) == "invalid-payload"


# -- requestSessionLock ------------------------------------------------------------------------


async def test_lock_asks_the_drone_then_marks_busy_and_tells_the_ide(
        clients: Clients, db: AsyncDatabase[Any], ids: Ids) -> None:
    ide = await clients.ide(ids.token)
    drone = await clients.drone(ids.drone.id, ids.drone.token)

    assert await ide.call("requestSessionLock", _lock(ids.drone.id, ids.chat.id)) == {"ok": True}

    assert drone.events("requestSessionLock") == [{"chatSessionId": ids.chat.id,
                                                   "projectId": ids.project_id}]
    doc = await _registration(db, ids.drone.id)
    assert (doc["status"], doc["lockedBy"]) == ("busy", ObjectId(ids.chat.id))
    await ide.wait_for("droneStatus", lambda e: e["status"] == "busy")


async def test_lock_by_the_holder_again_is_ok_without_asking_the_drone(
        clients: Clients, ids: Ids) -> None:
    ide = await clients.ide(ids.token)
    drone = await clients.drone(ids.drone.id, ids.drone.token,
                                answers={"requestSessionLock": {"ok": True}})
    lock = _lock(ids.drone.id, ids.chat.id)
    assert await ide.call("requestSessionLock", lock) == {"ok": True}
    assert await ide.call("requestSessionLock", lock) == {"ok": True}
    await drone.barrier()
    assert len(drone.events("requestSessionLock")) == 1


async def test_lock_refusals(clients: Clients, ids: Ids) -> None:
    ide = await clients.ide(ids.token)
    await clients.drone(ids.drone.id, ids.drone.token)
    offline = _error(await ide.call("requestSessionLock", _lock(ids.drone2.id, ids.chat.id)))
    assert offline == "drone-offline"
    assert await ide.call("requestSessionLock", _lock(ids.drone.id, ids.chat.id)) == {"ok": True}
    cases = {
        "drone-locked": _lock(ids.drone.id, ids.chat2.id),
        "forbidden": _lock(ids.foreign_drone.id, ids.chat.id),
        "not-found": _lock(UNKNOWN, ids.chat.id),
    }
    for code, payload in cases.items():
        assert _error(await ide.call("requestSessionLock", payload)) == code, code
    foreign_chat = _lock(ids.drone2.id, ids.foreign_chat.id)
    assert _error(await ide.call("requestSessionLock", foreign_chat)) == "forbidden"
    unknown_chat = _lock(ids.drone2.id, UNKNOWN)
    assert _error(await ide.call("requestSessionLock", unknown_chat)) == "not-found"


@pytest.mark.parametrize(("answer", "code"), [
    (False, "drone-rejected"),
    ({"ok": False, "error": "busy"}, "drone-rejected"),
    (None, "drone-rejected"),
    (NO_ACK, "drone-timeout"),
])
async def test_lock_not_accepted_by_the_drone_leaves_it_unlocked(
        clients: Clients, db: AsyncDatabase[Any], ids: Ids, answer: Any, code: str) -> None:
    ide = await clients.ide(ids.token)
    await clients.drone(ids.drone.id, ids.drone.token, answers={"requestSessionLock": answer})
    ack = await ide.call("requestSessionLock", _lock(ids.drone.id, ids.chat.id))
    assert _error(ack) == code
    doc = await _registration(db, ids.drone.id)
    assert (doc["status"], doc["lockedBy"]) == ("online", None)


async def test_two_chat_sessions_racing_for_one_drone_cannot_both_win(
        clients: Clients, db: AsyncDatabase[Any], ids: Ids) -> None:
    gate = asyncio.Event()

    async def slow_yes(_: Any) -> bool:
        await gate.wait()
        return True

    ide = await clients.ide(ids.token)
    drone = await clients.drone(ids.drone.id, ids.drone.token,
                                answers={"requestSessionLock": slow_yes})
    first = asyncio.create_task(ide.call("requestSessionLock", _lock(ids.drone.id, ids.chat.id)))
    second = asyncio.create_task(
        ide.call("requestSessionLock", _lock(ids.drone.id, ids.chat2.id)))
    await drone.wait_for("requestSessionLock")
    gate.set()
    acks = [await first, await second]

    assert sorted(a.get("error", "ok") for a in acks) == ["drone-locked", "ok"]
    winner = ids.chat.id if acks[0] == {"ok": True} else ids.chat2.id
    assert (await _registration(db, ids.drone.id))["lockedBy"] == ObjectId(winner)
    assert len(drone.events("requestSessionLock")) == 1


async def test_a_drone_that_disconnects_instead_of_acking_is_offline(
        clients: Clients, db: AsyncDatabase[Any], ids: Ids) -> None:
    drone: RawClient

    def leave(_: Any) -> object:
        asyncio.get_running_loop().create_task(drone.sio.disconnect())
        return NO_ACK

    ide = await clients.ide(ids.token)
    drone = await clients.drone(ids.drone.id, ids.drone.token,
                                answers={"requestSessionLock": leave})
    ack = await ide.call("requestSessionLock", _lock(ids.drone.id, ids.chat.id))
    assert _error(ack) == "drone-offline"  # not drone-timeout: the relay saw it go
    await ide.wait_for("droneStatus", lambda e: e["status"] == "offline")
    doc = await _registration(db, ids.drone.id)
    assert (doc["status"], doc["lockedBy"]) == ("offline", None)


# -- releaseSessionLock ------------------------------------------------------------------------


async def test_release_clears_the_lock_and_tells_drone_and_ide(
        clients: Clients, db: AsyncDatabase[Any], ids: Ids) -> None:
    ide = await clients.ide(ids.token)
    drone = await clients.drone(ids.drone.id, ids.drone.token)
    lock = _lock(ids.drone.id, ids.chat.id)
    assert await ide.call("requestSessionLock", lock) == {"ok": True}

    assert await ide.call("releaseSessionLock", lock) == {"ok": True}

    [told] = await drone.wait_for("releaseSessionLock")
    assert told == {"chatSessionId": ids.chat.id}
    doc = await _registration(db, ids.drone.id)
    assert (doc["status"], doc["lockedBy"]) == ("online", None)
    await ide.wait_for("droneStatus", lambda e: e["status"] == "online", count=2)
    assert [e["status"] for e in ide.events("droneStatus")] == ["online", "busy", "online"]
    assert _error(await ide.call("releaseSessionLock", lock)) == "not-locked"


async def test_release_refusals(clients: Clients, ids: Ids) -> None:
    ide = await clients.ide(ids.token)
    await clients.drone(ids.drone.id, ids.drone.token)
    assert await ide.call("requestSessionLock", _lock(ids.drone.id, ids.chat.id)) == {"ok": True}
    assert _error(await ide.call("releaseSessionLock",
                                 _lock(ids.drone.id, ids.chat2.id))) == "not-locked"
    assert _error(await ide.call("releaseSessionLock",
                                 _lock(ids.drone2.id, ids.chat.id))) == "not-locked"
    assert _error(await ide.call("releaseSessionLock",
                                 _lock(ids.foreign_drone.id, ids.chat.id))) == "forbidden"
    assert _error(await ide.call("releaseSessionLock",
                                 _lock(UNKNOWN, ids.chat.id))) == "not-found"
    assert _error(await ide.call("releaseSessionLock",
                                 _lock(ids.drone.id, "nope"))) == "invalid-id"


# -- submitPrompt ----------------------------------------------------------------------------


async def test_submit_prompt_forwards_and_runs_the_work_order(
        clients: Clients, db: AsyncDatabase[Any], ids: Ids) -> None:
    ide = await clients.ide(ids.token)
    drone = await clients.drone(ids.drone.id, ids.drone.token)
    lock = _lock(ids.drone.id, ids.chat.id)
    assert await ide.call("requestSessionLock", lock) == {"ok": True}

    ack = await ide.call("submitPrompt", {**lock, "prompt": "write tests"})

    assert ack["ok"] is True and set(ack) == {"ok", "workOrderId"}
    work_order_id = ack["workOrderId"]
    assert drone.events("submitPrompt") == [{"workOrderId": work_order_id,
                                             "chatSessionId": ids.chat.id,
                                             "prompt": "write tests"}]
    order = await db.workOrders.find_one({"_id": ObjectId(work_order_id)})
    assert order is not None
    assert (order["status"], order["prompt"]) == ("running", "write tests")
    assert (order["chatSession"], order["registration"]) == (ObjectId(ids.chat.id),
                                                             ObjectId(ids.drone.id))


async def test_submit_prompt_refusals(clients: Clients, ids: Ids) -> None:
    ide = await clients.ide(ids.token)
    await clients.drone(ids.drone.id, ids.drone.token)
    prompt = {"prompt": "p"}
    offline = await ide.call("submitPrompt", {**_lock(ids.drone2.id, ids.chat.id), **prompt})
    assert _error(offline) == "drone-offline"
    unlocked = await ide.call("submitPrompt", {**_lock(ids.drone.id, ids.chat.id), **prompt})
    assert _error(unlocked) == "not-locked"
    assert await ide.call("requestSessionLock", _lock(ids.drone.id, ids.chat.id)) == {"ok": True}
    other_chat = await ide.call("submitPrompt", {**_lock(ids.drone.id, ids.chat2.id), **prompt})
    assert _error(other_chat) == "not-locked"
    foreign = await ide.call("submitPrompt",
                             {**_lock(ids.drone.id, ids.foreign_chat.id), **prompt})
    assert _error(foreign) == "forbidden"
    unknown = await ide.call("submitPrompt", {**_lock(UNKNOWN, ids.chat.id), **prompt})
    assert _error(unknown) == "not-found"
    blank = await ide.call("submitPrompt", {**_lock(ids.drone.id, ids.chat.id), "prompt": ""})
    assert _error(blank) == "invalid-payload"


@pytest.mark.parametrize(("answer", "code"), [(False, "drone-rejected"),
                                               (NO_ACK, "drone-timeout")])
async def test_submit_prompt_not_accepted_fails_the_work_order(
        clients: Clients, db: AsyncDatabase[Any], ids: Ids, answer: Any, code: str) -> None:
    ide = await clients.ide(ids.token)
    drone = await clients.drone(ids.drone.id, ids.drone.token, answers={"submitPrompt": answer})
    lock = _lock(ids.drone.id, ids.chat.id)
    assert await ide.call("requestSessionLock", lock) == {"ok": True}

    assert _error(await ide.call("submitPrompt", {**lock, "prompt": "p"})) == code

    [sent] = drone.events("submitPrompt")
    order = await db.workOrders.find_one({"_id": ObjectId(sent["workOrderId"])})
    assert order is not None
    assert order["status"] == "failed" and order["completedAt"] is not None


# -- check order, wrong sender ---------------------------------------------------------------


@pytest.mark.parametrize("event", ["requestSessionLock", "releaseSessionLock", "submitPrompt"])
async def test_checks_run_in_the_documented_order(clients: Clients, ids: Ids,
                                                  event: str) -> None:
    ide = await clients.ide(ids.token)
    extra = {"prompt": "p"} if event == "submitPrompt" else {}
    steps = [  # each payload passes the checks that the one before failed
        ({"registrationId": "bad"}, "invalid-payload"),
        ({"registrationId": "bad", "chatSessionId": UNKNOWN, **extra}, "invalid-id"),
        # another user's drone or chat session: forbidden, whatever else is wrong (11.1)
        ({**_lock(ids.foreign_drone.id, UNKNOWN), **extra}, "forbidden"),
        ({**_lock(UNKNOWN, ids.foreign_chat.id), **extra}, "forbidden"),
        ({**_lock(UNKNOWN, ids.chat.id), **extra}, "not-found"),
        ({**_lock(ids.drone.id, UNKNOWN), **extra}, "not-found"),
    ]
    for payload, code in steps:
        assert _error(await ide.call(event, payload)) == code, payload


async def test_ide_events_from_a_drone_socket_are_forbidden(clients: Clients, ids: Ids) -> None:
    drone = await clients.drone(ids.drone.id, ids.drone.token)
    for event in ("openChatSession", "requestSessionLock", "releaseSessionLock",
                  "submitPrompt"):
        assert _error(await drone.call(event, {"chatSessionId": ids.chat.id})) == "forbidden"


async def test_a_retry_while_the_drone_has_not_acked_is_not_ok_before_the_drone_refuses(
        clients: Clients, db: AsyncDatabase[Any], ids: Ids) -> None:
    # Section 4: a lock request that overlaps a pending one is never answered ok unless
    # the drone accepted; the reference relay makes the retry wait for the first to settle.
    gate = asyncio.Event()

    async def slow_no(_: Any) -> bool:
        await gate.wait()
        return False

    ide = await clients.ide(ids.token)
    drone = await clients.drone(ids.drone.id, ids.drone.token,
                                answers={"requestSessionLock": slow_no})
    lock = _lock(ids.drone.id, ids.chat.id)
    first = asyncio.create_task(ide.call("requestSessionLock", lock))
    await drone.wait_for("requestSessionLock")
    retry = asyncio.create_task(ide.call("requestSessionLock", lock))
    done, _ = await asyncio.wait({retry}, timeout=0.3)
    assert not done, f"the retry was answered while the first waited: {retry.result()}"
    gate.set()

    assert _error(await first) == "drone-rejected"
    # the retry is then handled as usual: the drone is asked again (and refuses again)
    assert _error(await retry) == "drone-rejected"
    assert len(drone.events("requestSessionLock")) == 2
    doc = await _registration(db, ids.drone.id)
    assert (doc["status"], doc["lockedBy"]) == ("online", None)
