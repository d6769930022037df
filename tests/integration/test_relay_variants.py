"""Live: each ``--variant`` gives the other answer the contract allows, and the reference its own.

Every test runs the same steps twice, on a private in-process relay without the variant
(``reference``) and with it (``variant``), each on its own database of the shared server,
and asserts what each must answer. The shapes and texts of what the relay sends are in
``test_relay_variants_wire.py``; this file holds the variants that change what it does.

Absence of an ack is checked with a barrier that works under every variant: an acked event
of the right side, sent after the one that must stay unanswered (see ``acked``).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from _raw_clients import TIMEOUT, Clients, RawClient
from bson import ObjectId
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from harness.env import LocalEnvironment
from harness.relay import Relay
from harness.settings import VARIANTS, RelaySettings
from seed import build_world
from seed.world import SeededChatSession, SeededDrone, World, WorldSpec

ADMIN_TOKEN = "variants-admin"
UNKNOWN = "e" * 24
MODES = pytest.mark.parametrize("on", [False, True], ids=["reference", "variant"])


@dataclass
class Private:
    """A private relay, its database and a wide world: two users, two chats, two drones."""

    relay: Relay
    db: AsyncDatabase[Any]
    world: World
    clients: Clients
    token: str = field(init=False)
    other_token: str = field(init=False)
    drone: SeededDrone = field(init=False)
    drone2: SeededDrone = field(init=False)
    foreign_drone: SeededDrone = field(init=False)
    chat: SeededChatSession = field(init=False)
    chat2: SeededChatSession = field(init=False)
    foreign_chat: SeededChatSession = field(init=False)

    def __post_init__(self) -> None:
        me, other = self.world.users
        self.token, self.other_token = me.token, other.token
        self.drone, self.drone2 = self.world.drones_of(me.id)
        self.chat, self.chat2 = self.world.chat_sessions_of(me.id)
        self.foreign_drone = self.world.drones_of(other.id)[0]
        self.foreign_chat = self.world.chat_sessions_of(other.id)[0]

    @property
    def url(self) -> str:
        return self.relay.url

    def lock(self, registration_id: str | None = None,
             chat_id: str | None = None) -> dict[str, str]:
        return {"registrationId": registration_id or self.drone.id,
                "chatSessionId": chat_id or self.chat.id}

    async def ide(self, name: str = "ide", chat_id: str | None = None) -> RawClient:
        """The first user's IDE, with ``chat_id`` (default: the first chat) opened."""
        ide = await self.clients.ide(self.token, name)
        ack = await ide.call("openChatSession", {"chatSessionId": chat_id or self.chat.id})
        assert ack["ok"] is True, ack
        return ide

    async def drone_client(self, name: str = "drone", **answers: Any) -> RawClient:
        return await self.clients.drone(self.drone.id, self.drone.token, name, answers)

    async def locked(self, **answers: Any) -> tuple[RawClient, RawClient]:
        """An IDE on the first chat and the first drone, locked by that chat."""
        ide = await self.ide()
        drone = await self.drone_client(**answers)
        assert (await ide.call("requestSessionLock", self.lock()))["ok"] is True
        return ide, drone

    async def work_order(self, ide: RawClient) -> str:
        ack = await ide.call("submitPrompt", {**self.lock(), "prompt": "go"})
        assert ack["ok"] is True, ack
        return str(ack["workOrderId"])


MakePrivate = Callable[..., Awaitable[Private]]


@pytest.fixture
async def private(relay_env: LocalEnvironment) -> AsyncIterator[MakePrivate]:
    """``await private(*variants)``: a started relay with those variants and a seeded world."""
    mongo: AsyncMongoClient[Any] = AsyncMongoClient(relay_env.mongo_uri, tz_aware=True)
    made: list[Private] = []

    async def make(*variants: str) -> Private:
        database = "variants_" + secrets.token_hex(6)
        relay = Relay(RelaySettings(port=0, mongo_uri=relay_env.mongo_uri, database=database,
                                    admin_token=ADMIN_TOKEN, drone_ack_timeout=1.0,
                                    termination_ack_timeout=1.0, termination_poll_timeout=2.0,
                                    variants=frozenset(variants)))
        await relay.start()
        db = mongo[database]
        world = await build_world(db, WorldSpec(users=2, chat_sessions_per_project=2,
                                                drones_per_user=2))
        made.append(Private(relay, db, world, Clients(relay.url)))
        return made[-1]

    yield make
    for each in made:
        await each.clients.close()
        # Let the relay see its clients go before it stops (else it waits for their
        # half-closed transports); relay state has no event to await.
        deadline = time.monotonic() + TIMEOUT
        while len(each.relay.registry) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        await each.relay.stop()
        await mongo.drop_database(each.db.name)
    await mongo.close()


def relay_for(on: bool, variant: str) -> tuple[str, ...]:
    return (variant,) if on else ()


def error_of(ack: Any) -> str:
    assert isinstance(ack, dict) and ack.get("ok") is False, ack
    return str(ack["error"])


async def acked(client: RawClient, event: str, data: Any,
                barrier: Callable[[], Awaitable[Any]]) -> list[Any]:
    """Emit ``event`` asking for an ack, then run ``barrier``; the acks that came meanwhile.

    The relay handles a wrong-side or unknown event without awaiting anything, so its ack
    (if any) is queued before the barrier's, which needs the database.
    """
    answers: list[Any] = []
    await client.sio.emit(event, data, callback=lambda *args: answers.append(args))
    await barrier()
    return answers


async def recorded_call(client: RawClient, event: str, data: Any) -> Any:
    """``call``, with the ack recorded in ``client.received`` (as ``"<ack>"``) in arrival
    order among the events."""
    done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def on_ack(*args: Any) -> None:
        value = args[0] if len(args) == 1 else list(args)
        client.received.append(("<ack>", value))
        done.set_result(value)

    await client.sio.emit(event, data, callback=on_ack)
    return await asyncio.wait_for(done, TIMEOUT)


def names(client: RawClient) -> list[str]:
    return [event for event, _ in client.received]


# -- error-precedence (11.1) ------------------------------------------------------------------


@MODES
async def test_error_precedence(private: MakePrivate, on: bool) -> None:
    p = await private(*relay_for(on, "error-precedence"))
    ide = await p.ide()
    # a missing field and a malformed id
    assert error_of(await ide.call("requestSessionLock", {"registrationId": "bad"})) == (
        "invalid-id" if on else "invalid-payload")
    # an id that is not a string
    for not_a_string in (42, None, ["a"]):
        for event, payload in (("openChatSession", {"chatSessionId": not_a_string}),
                               ("requestSessionLock",
                                {"registrationId": not_a_string, "chatSessionId": p.chat.id})):
            assert error_of(await ide.call(event, payload)) == (
                "invalid-id" if on else "invalid-payload"), (event, payload)
    # another user's resource is forbidden whatever else is wrong, in both
    for payload in (p.lock(p.foreign_drone.id, UNKNOWN), p.lock(UNKNOWN, p.foreign_chat.id)):
        assert error_of(await ide.call("requestSessionLock", payload)) == "forbidden"
    # state: an offline drone that this chat session does not lock
    prompt = {**p.lock(p.drone2.id), "prompt": "p"}
    assert error_of(await ide.call("submitPrompt", prompt)) == (
        "not-locked" if on else "drone-offline")
    # state: locked by another chat session in the database, but no live socket
    await p.db.droneRegistrations.update_one(
        {"_id": ObjectId(p.drone2.id)},
        {"$set": {"status": "busy", "lockedBy": ObjectId(p.chat2.id)}})
    assert error_of(await ide.call("requestSessionLock", p.lock(p.drone2.id))) == (
        "drone-locked" if on else "drone-offline")


@MODES
async def test_error_precedence_on_drone_events(private: MakePrivate, on: bool) -> None:
    p = await private(*relay_for(on, "error-precedence"))
    _, drone = await p.locked()
    await drone.emit("thinking", {"workOrderId": "zz", "chatSessionId": p.chat.id, "seq": 0})
    [error] = await drone.wait_for("protocolError")
    assert (error["event"], error["error"]) == ("thinking", "invalid-id" if on
                                                else "invalid-payload")


# -- ack-after-stream (11.4) -----------------------------------------------------------------


@MODES
async def test_lock_ack_and_drone_status_busy_order(private: MakePrivate, on: bool) -> None:
    p = await private(*relay_for(on, "ack-after-stream"))
    ide = await p.ide()
    await p.drone_client()
    await ide.wait_for("droneStatus", lambda e: e["status"] == "online")

    assert await recorded_call(ide, "requestSessionLock", p.lock()) == {"ok": True}

    await ide.wait_for("droneStatus", lambda e: e["status"] == "busy")
    order = [e for e in names(ide) if e in ("<ack>", "droneStatus")][-2:]
    assert order == (["<ack>", "droneStatus"] if on else ["droneStatus", "<ack>"])


@MODES
async def test_submit_prompt_ack_and_first_stream_event_order(private: MakePrivate,
                                                              on: bool) -> None:
    p = await private(*relay_for(on, "ack-after-stream"))
    ide, drone = await p.locked()
    submitted = asyncio.create_task(recorded_call(ide, "submitPrompt",
                                                  {**p.lock(), "prompt": "go"}))
    [order] = await drone.wait_for("submitPrompt")
    if not on:
        ack = await submitted  # before any stream event: the drone has not streamed
        assert ack == {"ok": True, "workOrderId": order["workOrderId"]}
    await drone.emit("thinking", {"workOrderId": order["workOrderId"],
                                  "chatSessionId": p.chat.id, "seq": 0, "text": "hm"})
    assert (await submitted)["ok"] is True
    await ide.wait_for("thinking")
    order_seen = [e for e in names(ide) if e in ("<ack>", "thinking")]
    assert order_seen == (["thinking", "<ack>"] if on else ["<ack>", "thinking"])


async def test_ack_after_stream_never_hangs(private: MakePrivate) -> None:
    p = await private("ack-after-stream")
    ide, _ = await p.locked()
    started = time.monotonic()
    ack = await ide.call("submitPrompt", {**p.lock(), "prompt": "go"})
    waited = time.monotonic() - started
    assert ack["ok"] is True
    assert 0.8 <= waited < 3.0, waited  # the bounded wait (1 s) for a drone that never streams


# -- recovered-null (11.5) -------------------------------------------------------------------


@MODES
async def test_crash_recovery_without_a_lock(private: MakePrivate, on: bool) -> None:
    p = await private(*relay_for(on, "recovered-null"))
    ide = await p.ide()
    foreign = await p.clients.ide(p.other_token, "foreign")
    drone = await p.drone_client()

    assert await drone.call("requestCrashRecovery") == {"ok": True, "chatSessionId": None}

    await ide.barrier()
    await foreign.barrier()
    expected = [{"registrationId": p.drone.id, "chatSessionId": None}] if on else []
    assert ide.events("droneRecovered") == expected
    assert foreign.events("droneRecovered") == []


# -- wrong-side-ignored (11.6) ---------------------------------------------------------------


@MODES
async def test_wrong_side_and_unknown_events(private: MakePrivate, on: bool) -> None:
    p = await private(*relay_for(on, "wrong-side-ignored"))
    ide = await p.ide()
    watcher = await p.ide("watcher")
    drone = await p.drone_client()

    async def ide_barrier() -> None:
        assert (await ide.call("openChatSession", {"chatSessionId": p.chat.id}))["ok"]

    async def drone_barrier() -> None:
        assert (await drone.call("requestCrashRecovery"))["ok"]

    stray = {"workOrderId": UNKNOWN, "chatSessionId": p.chat.id, "seq": 0, "text": "x"}
    cases = [
        (ide, "requestCrashRecovery", {}, ide_barrier),
        (ide, "thinking", stray, ide_barrier),
        (ide, "workOrderComplete", {**stray, "status": "complete"}, ide_barrier),
        (ide, "noSuchEvent", {"x": 1}, ide_barrier),
        (ide, "connect", {"type": "code", "token": p.token}, ide_barrier),
        (drone, "openChatSession", {"chatSessionId": p.chat.id}, drone_barrier),
        (drone, "requestSessionLock", p.lock(), drone_barrier),
        (drone, "submitPrompt", {**p.lock(), "prompt": "p"}, drone_barrier),
        (drone, "requestTermination", {}, drone_barrier),
        (drone, "noSuchEvent", {}, drone_barrier),
    ]
    for client, event, payload, barrier in cases:
        answers = await acked(client, event, payload, barrier)
        if on:
            assert answers == [], (client.name, event, answers)
        else:
            assert len(answers) == 1, (client.name, event, answers)
            assert error_of(answers[0][0]) == "forbidden", (client.name, event)
    # never acted on
    assert (await watcher.call("openChatSession", {"chatSessionId": p.chat.id}))["ok"]
    assert watcher.events("thinking") == [] and watcher.events("workOrderComplete") == []
    assert drone.events("requestSessionLock") == []
    doc = await p.db.droneRegistrations.find_one({"_id": ObjectId(p.drone.id)})
    assert doc is not None and doc["lockedBy"] is None


# -- unknown work orders (11.7) --------------------------------------------------------------


@MODES
async def test_completion_of_an_unknown_work_order(private: MakePrivate, on: bool) -> None:
    p = await private(*relay_for(on, "unknown-work-order-forwarded"))
    ide, drone = await p.locked()
    elsewhere = await p.ide("elsewhere", p.chat2.id)
    done = {"workOrderId": UNKNOWN, "chatSessionId": p.chat.id, "status": "complete"}

    await drone.emit("workOrderComplete", done)

    if on:
        [forwarded] = await ide.wait_for("workOrderComplete")
        assert forwarded == {**done, "registrationId": p.drone.id}
    else:
        [error] = await drone.wait_for("protocolError")
        assert (error["event"], error["error"]) == ("workOrderComplete", "not-found")
    await drone.call("requestCrashRecovery")  # the inbox has run everything before it
    await elsewhere.barrier()
    assert elsewhere.events("workOrderComplete") == []
    assert await p.db.workOrders.find_one({"_id": ObjectId(UNKNOWN)}) is None
    if on:
        assert drone.events("protocolError") == []
        await ide.barrier()
        assert len(ide.events("workOrderComplete")) == 1


async def test_completion_of_another_chat_sessions_work_order_is_refused_in_both(
        private: MakePrivate) -> None:
    p = await private("unknown-work-order-forwarded")
    ide, drone = await p.locked()
    theirs = await p.db.workOrders.insert_one({
        "chatSession": ObjectId(p.chat2.id), "registration": ObjectId(p.drone.id),
        "prompt": "x", "status": "running", "completedAt": None})
    await drone.emit("workOrderComplete", {"workOrderId": str(theirs.inserted_id),
                                           "chatSessionId": p.chat.id, "status": "complete"})
    [error] = await drone.wait_for("protocolError")
    assert error["error"] == "not-found"
    await ide.barrier()
    assert ide.events("workOrderComplete") == []


@MODES
async def test_stream_event_of_an_unknown_work_order(private: MakePrivate, on: bool) -> None:
    p = await private(*relay_for(on, "unknown-work-order-refused"))
    ide, drone = await p.locked()
    known = await p.work_order(ide)

    def item(work_order_id: str, seq: int) -> dict[str, Any]:
        return {"workOrderId": work_order_id, "chatSessionId": p.chat.id, "seq": seq,
                "text": f"#{seq}"}

    await drone.emit("thinking", item(UNKNOWN, 0))
    await drone.emit("response", item(known, 1))
    await ide.wait_for("response", lambda e: e["seq"] == 1)
    # a handover keeps the known work orders; recovery hands over the unfinished one
    second = await p.drone_client("second")
    await drone.disconnected.wait()
    await second.emit("toolCall", {**item(known, 2), "toolCallId": "t", "name": "ls",
                                   "arguments": {}})
    await second.emit("response", item(UNKNOWN, 3))
    await second.emit("response", item(known, 4))

    forwarded = await ide.wait_for("response", lambda e: e["seq"] == 4)
    assert forwarded
    seqs = [d["seq"] for e, d in ide.received if e in ("thinking", "response", "toolCall")]
    if on:
        assert seqs == [1, 2, 4]
        assert [(e["event"], e["error"]) for e in drone.events("protocolError")] == [
            ("thinking", "not-found")]
        assert [(e["event"], e["error"]) for e in second.events("protocolError")] == [
            ("response", "not-found")]
    else:
        assert seqs == [0, 1, 2, 3, 4]
        assert drone.events("protocolError") == second.events("protocolError") == []


async def test_unknown_work_order_refused_knows_a_recovered_work_order(
        private: MakePrivate) -> None:
    p = await private("unknown-work-order-refused")
    ide, drone = await p.locked()
    known = await p.work_order(ide)
    await drone.sio.disconnect()
    await ide.wait_for("droneStatus", lambda e: e["status"] == "offline")
    # a drone restarted by hand: its lock and work order are back in the database
    await p.db.droneRegistrations.update_one(
        {"_id": ObjectId(p.drone.id)},
        {"$set": {"status": "busy", "lockedBy": ObjectId(p.chat.id)}})
    await p.db.workOrders.update_one({"_id": ObjectId(known)}, {"$set": {"status": "running"}})
    again = await p.drone_client("again")
    ack = await again.call("requestCrashRecovery")
    assert ack["workOrder"]["id"] == known
    await again.emit("response", {"workOrderId": known, "chatSessionId": p.chat.id, "seq": 0,
                                  "text": "back"})
    [forwarded] = await ide.wait_for("response")
    assert forwarded["text"] == "back"


# -- blank-prompt-accepted (11.8) ------------------------------------------------------------


@MODES
async def test_blank_prompt(private: MakePrivate, on: bool) -> None:
    p = await private(*relay_for(on, "blank-prompt-accepted"))
    ide, drone = await p.locked()
    for blank in ("", "  \n\t"):
        ack = await ide.call("submitPrompt", {**p.lock(), "prompt": blank})
        if on:
            assert ack["ok"] is True
            [*_, sent] = await drone.wait_for("submitPrompt",
                                              lambda e, b=blank: e["prompt"] == b)
            assert sent["workOrderId"] == ack["workOrderId"]
        else:
            assert error_of(ack) == "invalid-payload"
    if not on:
        await drone.barrier()
        assert drone.events("submitPrompt") == []
    assert error_of(await ide.call("submitPrompt", {**p.lock(), "prompt": 7})) == (
        "invalid-payload")


# -- lock-pending-refused (section 4) --------------------------------------------------------


@MODES
async def test_lock_request_while_another_waits_for_the_drone(private: MakePrivate,
                                                              on: bool) -> None:
    p = await private(*relay_for(on, "lock-pending-refused"))
    gate = asyncio.Event()

    async def slow_yes(_: Any) -> bool:
        await gate.wait()
        return True

    ide = await p.ide()
    drone = await p.drone_client(requestSessionLock=slow_yes)
    first = asyncio.create_task(ide.call("requestSessionLock", p.lock()))
    await drone.wait_for("requestSessionLock")
    other_chat = asyncio.create_task(ide.call("requestSessionLock", p.lock(chat_id=p.chat2.id)))
    retry = asyncio.create_task(ide.call("requestSessionLock", p.lock()))
    if on:  # refused at once, while the drone still holds its answer back
        assert error_of(await retry) == "drone-locked"
        assert error_of(await other_chat) == "drone-locked"
        assert not first.done()
    else:  # they wait for the first to settle
        done, _ = await asyncio.wait({retry, other_chat}, timeout=0.3)
        assert not done
    gate.set()
    assert await first == {"ok": True}
    if not on:  # then handled as usual
        assert await retry == {"ok": True}
        assert error_of(await other_chat) == "drone-locked"
    assert len(drone.events("requestSessionLock")) == 1


# -- every variant at once -------------------------------------------------------------------


async def test_every_variant_at_once_still_serves_a_whole_flow(private: MakePrivate) -> None:
    p = await private(*VARIANTS)
    ide, drone = await p.locked()
    order = await p.work_order(ide)
    await drone.emit("thinking", {"workOrderId": order, "chatSessionId": p.chat.id, "seq": 0,
                                  "text": "hm"})
    await drone.emit("workOrderComplete", {"workOrderId": order, "chatSessionId": p.chat.id,
                                           "status": "complete", "seq": 1})
    [complete] = await ide.wait_for("workOrderComplete")
    assert complete["workOrderId"] == order and complete["registrationId"] == p.drone.id
    doc = await p.db.workOrders.find_one({"_id": ObjectId(order)})
    assert doc is not None and doc["status"] == "complete"
    assert isinstance(doc["completedAt"], str) and doc["completedAt"].endswith("Z")
    assert (await ide.call("releaseSessionLock", p.lock()))["ok"] is True
