"""Live: drone -> relay stream forwarding, order, isolation, completion and bad payloads."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from _raw_clients import Clients, RawClient, http
from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase

from harness.env import LocalEnvironment
from seed.world import World

END = 9999  # the seq of the barrier item


class Stage:
    """A locked drone with a running work order, watched by IDEs in different places."""

    ide: RawClient  # the owner's IDE on the locked chat session
    ide_twin: RawClient  # another IDE of the owner on the same chat session
    ide_elsewhere: RawClient  # the owner's IDE on the other chat session only
    ide_foreign: RawClient  # another user's IDE on their own chat session
    drone: RawClient
    registration_id: str
    chat_id: str
    other_chat_id: str
    work_order_id: str

    def watchers(self) -> list[RawClient]:
        return [self.ide, self.ide_twin, self.ide_elsewhere, self.ide_foreign]

    def item(self, event: str, seq: int, **extra: Any) -> dict[str, Any]:
        base = {"workOrderId": self.work_order_id, "chatSessionId": self.chat_id, "seq": seq}
        fields = {"toolCall": {"toolCallId": f"t{seq}", "name": "ls",
                               "arguments": {"path": "."}}}.get(event, {"text": f"#{seq}"})
        return {**base, **fields, **extra}


@pytest.fixture
async def stage(clients: Clients, wide_world: World) -> Stage:
    me, other = wide_world.users
    chat, other_chat = wide_world.chat_sessions_of(me.id)
    drone = wide_world.drones_of(me.id)[0]
    s = Stage()
    s.registration_id, s.chat_id, s.other_chat_id = drone.id, chat.id, other_chat.id
    s.ide = await clients.ide(me.token, "ide")
    s.ide_twin = await clients.ide(me.token, "ide-twin")
    s.ide_elsewhere = await clients.ide(me.token, "ide-elsewhere")
    s.ide_foreign = await clients.ide(other.token, "ide-foreign")
    for ide, chat_id in ((s.ide, chat.id), (s.ide_twin, chat.id),
                         (s.ide_elsewhere, other_chat.id),
                         (s.ide_foreign, wide_world.chat_sessions_of(other.id)[0].id)):
        assert await ide.call("openChatSession", {"chatSessionId": chat_id}) == {"ok": True}
    s.drone = await clients.drone(drone.id, drone.token)
    lock = {"registrationId": drone.id, "chatSessionId": chat.id}
    assert await s.ide.call("requestSessionLock", lock) == {"ok": True}
    s.work_order_id = (await s.ide.call("submitPrompt", {**lock, "prompt": "go"}))["workOrderId"]
    return s


async def _settle(stage: Stage) -> None:
    """Barrier: the drone's last item reached the watching IDE, then every IDE round-trips."""
    await stage.drone.emit("response", stage.item("response", END))
    await stage.ide.wait_for("response", lambda e: e["seq"] == END)
    for ide in stage.watchers():
        await ide.barrier()


async def test_each_stream_kind_is_forwarded_with_the_registration_id(stage: Stage) -> None:
    sent = [stage.item("thinking", 0), stage.item("response", 1), stage.item("toolCall", 2)]
    for payload, event in zip(sent, ("thinking", "response", "toolCall"), strict=True):
        await stage.drone.emit(event, payload)
    for ide in (stage.ide, stage.ide_twin):
        for payload, event in zip(sent, ("thinking", "response", "toolCall"), strict=True):
            [got] = await ide.wait_for(event)
            assert got == {**payload, "registrationId": stage.registration_id}


async def test_stream_reaches_only_code_sessions_of_that_chat_session(stage: Stage) -> None:
    for seq in range(5):
        await stage.drone.emit("thinking", stage.item("thinking", seq))
    await _settle(stage)
    streamed = ("thinking", "response", "toolCall", "workOrderComplete")
    for outsider in (stage.ide_elsewhere, stage.ide_foreign):
        assert [e for e, _ in outsider.received if e in streamed] == []


async def test_order_is_kept_and_nothing_is_delivered_twice(stage: Stage) -> None:
    kinds = ("thinking", "response", "toolCall")
    for seq in range(300):
        await stage.drone.emit(kinds[seq % 3], stage.item(kinds[seq % 3], seq))
    for ide in (stage.ide, stage.ide_twin):
        await ide.wait_for("toolCall", lambda e: e["seq"] == 299)
        seqs = [data["seq"] for event, data in ide.received if event in kinds]
        assert seqs == list(range(300))


async def test_work_order_complete_is_recorded_then_forwarded(
        stage: Stage, db: AsyncDatabase[Any]) -> None:
    await stage.drone.emit("thinking", stage.item("thinking", 0))
    done = {"workOrderId": stage.work_order_id, "chatSessionId": stage.chat_id,
            "status": "complete", "summary": "all good"}
    await stage.drone.emit("workOrderComplete", done)

    [got] = await stage.ide.wait_for("workOrderComplete")
    assert got == {**done, "registrationId": stage.registration_id}
    assert [e for e, _ in stage.ide.received][-2:] == ["thinking", "workOrderComplete"]
    order = await db.workOrders.find_one({"_id": ObjectId(stage.work_order_id)})
    assert order is not None
    assert order["status"] == "complete" and order["completedAt"] is not None


async def test_failed_work_order_is_recorded(stage: Stage, db: AsyncDatabase[Any]) -> None:
    await stage.drone.emit("workOrderComplete", {
        "workOrderId": stage.work_order_id, "chatSessionId": stage.chat_id, "status": "failed",
        "summary": None})
    await stage.ide.wait_for("workOrderComplete")
    order = await db.workOrders.find_one({"_id": ObjectId(stage.work_order_id)})
    assert order is not None and order["status"] == "failed"


async def test_streaming_for_a_chat_session_that_does_not_lock_the_drone_is_dropped(
        stage: Stage) -> None:
    stray = stage.item("thinking", 0, chatSessionId=stage.other_chat_id)
    await stage.drone.emit("thinking", stray)
    [error] = await stage.drone.wait_for("protocolError")
    assert (error["event"], error["error"]) == ("thinking", "not-locked")
    await _settle(stage)
    assert stage.ide_elsewhere.events("thinking") == []
    assert stage.ide.events("thinking") == []
    assert stage.ide_elsewhere.events("response") == []


async def test_completing_an_unknown_work_order_is_dropped(stage: Stage) -> None:
    await stage.drone.emit("workOrderComplete", {
        "workOrderId": "e" * 24, "chatSessionId": stage.chat_id, "status": "complete"})
    [error] = await stage.drone.wait_for("protocolError")
    assert (error["event"], error["error"]) == ("workOrderComplete", "not-found")
    await _settle(stage)
    assert stage.ide.events("workOrderComplete") == []


async def test_after_release_the_drone_may_not_stream(stage: Stage) -> None:
    lock = {"registrationId": stage.registration_id, "chatSessionId": stage.chat_id}
    assert await stage.ide.call("releaseSessionLock", lock) == {"ok": True}
    await stage.drone.emit("response", stage.item("response", 0))
    [error] = await stage.drone.wait_for("protocolError")
    assert error["error"] == "not-locked"


BAD_STREAM_PAYLOADS: list[tuple[Any, str]] = [
    (None, "invalid-payload"),
    ("text", "invalid-payload"),
    ([1, 2], "invalid-payload"),
    ({"chatSessionId": "a" * 24, "seq": 0, "text": ""}, "invalid-payload"),
    ({"workOrderId": "a" * 24, "chatSessionId": "a" * 24, "seq": "1", "text": ""},
     "invalid-payload"),
    ({"workOrderId": "zz", "chatSessionId": "a" * 24, "seq": 0, "text": "",
      "toolCallId": "t", "name": "n", "arguments": {}, "status": "complete"}, "invalid-id"),
]


@pytest.mark.parametrize("event", ["thinking", "response", "toolCall", "workOrderComplete"])
async def test_malformed_drone_events_get_a_protocol_error_and_the_relay_serves_on(
        stage: Stage, event: str) -> None:
    for payload, code in BAD_STREAM_PAYLOADS:
        await stage.drone.emit(event, payload)
        [*_, error] = await stage.drone.wait_for(
            "protocolError", count=len(stage.drone.events("protocolError")) + 1)
        assert (error["event"], error["error"]) == (event, code), payload
        assert error["message"]
    await _settle(stage)
    assert [e for e in stage.ide.events(event) if e["seq"] != END] == []


async def test_bad_input_of_every_kind_never_stops_the_relay(
        stage: Stage, relay_env: LocalEnvironment) -> None:
    ides = ("openChatSession", "requestSessionLock", "releaseSessionLock", "submitPrompt")
    for event in ides:
        bad: tuple[Any, ...] = (None, 1, "x", [], {"registrationId": 5}, {"chatSessionId": None})
        for payload in bad:
            ack = await stage.ide.call(event, payload)
            assert ack["ok"] is False and ack["error"] in ("invalid-payload", "invalid-id")
    # several arguments, unknown events, events of the other side, a huge payload
    assert (await stage.ide.sio.call("openChatSession", ("a", "b")))["error"] == (
        "invalid-payload")
    await stage.ide.emit("noSuchEvent", {"x": 1})
    assert (await stage.ide.call("noSuchEvent", {"x": 1}))["error"] == "forbidden"
    await stage.ide.emit("thinking", stage.item("thinking", 0))
    assert (await stage.ide.call("thinking", stage.item("thinking", 0)))["error"] == "forbidden"
    await stage.drone.emit("requestTermination", {})
    assert (await stage.drone.call("requestTermination", {}))["error"] == "forbidden"
    crash = await stage.ide.call("requestCrashRecovery")
    assert crash["error"] == "forbidden"
    await stage.drone.emit("thinking", stage.item("thinking", 1, text="x" * 200_000))
    await stage.ide.wait_for("thinking", lambda e: e["seq"] == 1)
    # still serving: a socket event and an HTTP request
    await _settle(stage)
    assert stage.ide.events("thinking") == [
        {**stage.item("thinking", 1, text="x" * 200_000),
         "registrationId": stage.registration_id}]
    status, body = await http("GET", relay_env.relay_url + "/healthz")
    assert (status, body) == (200, {"ok": True})


async def test_a_message_over_the_buffer_limit_drops_only_that_socket(
        stage: Stage, relay_env: LocalEnvironment) -> None:
    await stage.drone.emit("thinking", stage.item("thinking", 0, text="y" * 1_100_000))
    await stage.drone.disconnected.wait()
    await stage.ide.wait_for("droneStatus", lambda e: e["status"] == "offline")
    assert await stage.ide.call("openChatSession", {"chatSessionId": stage.chat_id}) == {
        "ok": True}
    async with aiohttp.ClientSession() as session, session.get(
            relay_env.relay_url + "/healthz") as response:
        assert response.status == 200
