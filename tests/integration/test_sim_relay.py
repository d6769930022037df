"""The simulated IDE and drones against the live reference relay and its database.

Every wait is on an event (the history, an ack); none is a sleep. Timeouts are upper bounds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Literal

import pytest
from bson import ObjectId
from pymongo import AsyncMongoClient

from harness.env import LocalEnvironment
from harness.protocol import (
    STREAM_EVENTS,
    Collection,
    DroneStatus,
    ErrorCode,
    Event,
    Route,
    WorkOrderStatus,
)
from harness.sim import (
    DroneBehaviour,
    HttpActor,
    Message,
    MessageHistory,
    SimClient,
    SimDrone,
    SimIDE,
    StreamScript,
    Transport,
)
from seed.world import World

WAIT = 15.0  # upper bound for awaited conditions on a loaded machine


@pytest.fixture
async def actors() -> AsyncIterator[list[SimClient | HttpActor]]:
    made: list[SimClient | HttpActor] = []
    yield made
    for actor in made:
        await actor.close()


@pytest.fixture
def history() -> MessageHistory:
    return MessageHistory()


async def _ide(
    env: LocalEnvironment,
    world: World,
    history: MessageHistory,
    actors: list[Any],
    transport: Transport = "websocket",
) -> SimIDE:
    ide = SimIDE(
        "ide",
        env.relay_url,
        token=world.users[0].token,
        history=history,
        transport=transport,
        user_id=world.users[0].id,
    )
    actors.append(ide)
    await ide.connect()
    assert await ide.emit(
        Event.OPEN_CHAT_SESSION, {"chatSessionId": world.chat_sessions[0].id}
    ) == {"ok": True}
    return ide


async def _drone(
    env: LocalEnvironment,
    world: World,
    history: MessageHistory,
    actors: list[Any],
    index: int = 0,
    **kwargs: Any,
) -> SimDrone:
    seeded = world.drones[index]
    drone = SimDrone(
        f"drone{index}",
        env.relay_url,
        registration_id=seeded.id,
        token=seeded.token,
        history=history,
        user_id=seeded.user_id,
        **kwargs,
    )
    actors.append(drone)
    await drone.connect()
    return drone


def _lock_request(world: World, index: int = 0) -> dict[str, str]:
    return {"registrationId": world.drones[index].id, "chatSessionId": world.chat_sessions[0].id}


async def _registration(
    env: LocalEnvironment, mongo: AsyncMongoClient[Any], registration_id: str
) -> dict[str, Any]:
    doc = await mongo[env.database][Collection.DRONE_REGISTRATIONS].find_one(
        {"_id": ObjectId(registration_id)}
    )
    assert doc is not None
    return dict(doc)


async def _received(
    history: MessageHistory, actor: str, event: str, count: int = 1
) -> list[Message]:
    def enough(messages: tuple[Message, ...]) -> list[Message]:
        found = [
            m
            for m in messages
            if m.actor == actor and m.direction == "received" and m.event == event
        ]
        return found if len(found) >= count else []

    result: list[Message] = await history.wait_for(enough, WAIT)
    return result


async def _drone_status(history: MessageHistory, registration_id: str, status: str) -> Message:
    def seen(messages: tuple[Message, ...]) -> Message | None:
        for m in messages:
            if (
                m.actor == "ide"
                and m.event == Event.DRONE_STATUS
                and m.payload == {"registrationId": registration_id, "status": status}
            ):
                return m
        return None

    found: Message = await history.wait_for(seen, WAIT)
    return found


async def test_full_work_order_round_trip(
    relay_env: LocalEnvironment,
    world: World,
    relay_mongo: AsyncMongoClient[Any],
    history: MessageHistory,
    actors: list[Any],
) -> None:
    script = StreamScript(thinking=3, responses=4, tool_calls=2, text_size=64)
    drone = await _drone(relay_env, world, history, actors, behaviour=DroneBehaviour(script=script))
    ide = await _ide(relay_env, world, history, actors)
    assert await ide.emit(Event.REQUEST_SESSION_LOCK, _lock_request(world)) == {"ok": True}
    answer = await ide.emit(Event.SUBMIT_PROMPT, {**_lock_request(world), "prompt": "hi"})
    assert answer["ok"] is True
    work_order_id = answer["workOrderId"]
    await drone.wait_idle(WAIT)
    [done] = await _received(history, "ide", Event.WORK_ORDER_COMPLETE)

    chat_id = world.chat_sessions[0].id
    assert drone.work_orders == {work_order_id: chat_id}
    assert done.payload == {
        "workOrderId": work_order_id,
        "chatSessionId": chat_id,
        "seq": 9,
        "status": "complete",
        "summary": "done",
        "registrationId": drone.registration_id,
    }
    sent = [m for m in history.select(actor="drone0", direction="sent")]
    got = [
        m
        for m in history.select(actor="ide", direction="received")
        if m.event in (*STREAM_EVENTS, Event.WORK_ORDER_COMPLETE)
    ]
    # Everything the drone streamed arrived once, in order, with registrationId added.
    assert [(m.event, m.payload) for m in got] == [
        (m.event, {**m.payload, "registrationId": drone.registration_id}) for m in sent
    ]
    assert [m.payload["seq"] for m in got] == list(range(10))
    counts = {e: sum(1 for m in got if m.event == e) for e in STREAM_EVENTS}
    assert counts == {Event.THINKING: 3, Event.RESPONSE: 4, Event.TOOL_CALL: 2}
    # Causal order: the prompt reached the drone, which acked before streaming.
    [prompt_sent] = history.select(actor="ide", direction="sent", event=Event.SUBMIT_PROMPT)
    [prompt_got] = history.select(actor="drone0", direction="received", event=Event.SUBMIT_PROMPT)
    [prompt_acked] = history.select(actor="drone0", direction="acked", event=Event.SUBMIT_PROMPT)
    assert prompt_sent.seq < prompt_got.seq < prompt_acked.seq < sent[0].seq
    assert prompt_got.payload == {
        "workOrderId": work_order_id,
        "chatSessionId": chat_id,
        "prompt": "hi",
    }
    work_order = await relay_mongo[relay_env.database][Collection.WORK_ORDERS].find_one(
        {"_id": ObjectId(work_order_id)}
    )
    assert work_order is not None and work_order["status"] == WorkOrderStatus.COMPLETE


async def test_polling_ide_receives_a_burst_of_200(
    relay_env: LocalEnvironment, world: World, history: MessageHistory, actors: list[Any]
) -> None:
    script = StreamScript(thinking=100, responses=100, text_size=16)
    drone = await _drone(relay_env, world, history, actors, behaviour=DroneBehaviour(script=script))
    ide = await _ide(relay_env, world, history, actors, transport="polling")
    assert await ide.emit(Event.REQUEST_SESSION_LOCK, _lock_request(world)) == {"ok": True}
    answer = await ide.emit(Event.SUBMIT_PROMPT, {**_lock_request(world), "prompt": "burst"})
    assert answer["ok"] is True
    await drone.wait_idle(WAIT)
    await _received(history, "ide", Event.WORK_ORDER_COMPLETE)
    got = [
        m
        for m in history.select(actor="ide", direction="received")
        if m.event in (*STREAM_EVENTS, Event.WORK_ORDER_COMPLETE)
    ]
    assert [m.payload["seq"] for m in got] == list(range(201))
    assert ide.connected
    assert history.select(actor="ide", direction="disconnect") == []


@pytest.mark.parametrize(
    ("on_lock", "code"), [("refuse", ErrorCode.DRONE_REJECTED), ("ignore", ErrorCode.DRONE_TIMEOUT)]
)
async def test_lock_refused_or_ignored(
    relay_env: LocalEnvironment,
    world: World,
    relay_mongo: AsyncMongoClient[Any],
    history: MessageHistory,
    actors: list[Any],
    on_lock: Literal["refuse", "ignore"],
    code: str,
) -> None:
    behaviour = DroneBehaviour(on_lock=on_lock)
    drone = await _drone(relay_env, world, history, actors, behaviour=behaviour)
    ide = await _ide(relay_env, world, history, actors)
    answer = await ide.emit(Event.REQUEST_SESSION_LOCK, _lock_request(world), timeout=WAIT)
    assert answer["ok"] is False and answer["error"] == code
    [asked] = history.select(actor="drone0", direction="received", event=Event.REQUEST_SESSION_LOCK)
    assert asked.meta["answer"] == on_lock
    acked = history.select(actor="drone0", direction="acked", event=Event.REQUEST_SESSION_LOCK)
    assert [m.ack for m in acked] == ([False] if on_lock == "refuse" else [])
    registration = await _registration(relay_env, relay_mongo, drone.registration_id)
    assert registration["lockedBy"] is None
    assert registration["status"] == DroneStatus.ONLINE


async def test_termination_accepted_drone_exits(
    relay_env: LocalEnvironment,
    world: World,
    relay_mongo: AsyncMongoClient[Any],
    history: MessageHistory,
    actors: list[Any],
) -> None:
    drone = await _drone(relay_env, world, history, actors)
    sid = drone.sid
    http = HttpActor("http", relay_env.relay_url, history)
    actors.append(http)
    result = await http.request(
        "POST", Route.TERMINATE.format(id=drone.registration_id), token=world.users[0].token
    )
    assert (result.status, result.body) == (200, {"ok": True, "terminated": True})
    [gone] = await history.wait_for(
        lambda ms: [m for m in ms if m.actor == "drone0" and m.direction == "disconnect"], WAIT
    )
    assert gone.meta["reason"] == "exit" and gone.socket_id == sid
    assert [
        m.ack
        for m in history.select(actor="drone0", direction="acked", event=Event.REQUEST_TERMINATION)
    ] == [True]
    assert not drone.connected
    registration = await _registration(relay_env, relay_mongo, drone.registration_id)
    assert registration["status"] == DroneStatus.OFFLINE


async def test_crash_marks_the_registration_offline(
    relay_env: LocalEnvironment,
    world: World,
    relay_mongo: AsyncMongoClient[Any],
    history: MessageHistory,
    actors: list[Any],
) -> None:
    drone = await _drone(relay_env, world, history, actors)
    ide = await _ide(relay_env, world, history, actors)
    assert await ide.emit(Event.REQUEST_SESSION_LOCK, _lock_request(world)) == {"ok": True}
    registration = await _registration(relay_env, relay_mongo, drone.registration_id)
    assert registration["status"] == DroneStatus.BUSY
    await drone.crash()
    [gone] = history.select(actor="drone0", direction="disconnect")
    assert gone.meta["reason"] == "crash"
    # The relay tells the owner's IDE once it has processed the disconnect.
    await _drone_status(history, drone.registration_id, DroneStatus.OFFLINE)
    registration = await _registration(relay_env, relay_mongo, drone.registration_id)
    assert registration["status"] == DroneStatus.OFFLINE
    assert registration["lockedBy"] is None


async def test_restart_recovers_the_lock(
    relay_env: LocalEnvironment,
    world: World,
    relay_mongo: AsyncMongoClient[Any],
    history: MessageHistory,
    actors: list[Any],
) -> None:
    drone = await _drone(relay_env, world, history, actors)
    ide = await _ide(relay_env, world, history, actors)
    assert await ide.emit(Event.REQUEST_SESSION_LOCK, _lock_request(world)) == {"ok": True}
    old_sid = drone.sid
    answer = await drone.restart(timeout=WAIT)
    chat_id = world.chat_sessions[0].id
    assert answer["ok"] is True and answer["chatSessionId"] == chat_id
    assert drone.locked_by == chat_id
    [replaced] = history.select(actor="drone0", direction="disconnect")
    assert (replaced.socket_id, replaced.meta["reason"]) == (old_sid, "replaced")
    assert drone.sid not in (None, old_sid)
    [recovered] = await _received(history, "ide", Event.DRONE_RECOVERED)
    assert recovered.payload == {"registrationId": drone.registration_id, "chatSessionId": chat_id}
    registration = await _registration(relay_env, relay_mongo, drone.registration_id)
    assert registration["status"] == DroneStatus.BUSY
    assert str(registration["lockedBy"]) == chat_id
    # The relay's indexes must now point at the new socket: a prompt reaches it.
    answer = await ide.emit(Event.SUBMIT_PROMPT, {**_lock_request(world), "prompt": "again"})
    assert answer["ok"] is True, answer
    await drone.wait_idle(WAIT)
    [done] = await _received(history, "ide", Event.WORK_ORDER_COMPLETE)
    assert done.payload["workOrderId"] == answer["workOrderId"]
    [prompt] = history.select(actor="drone0", direction="received", event=Event.SUBMIT_PROMPT)
    assert prompt.socket_id == drone.sid
