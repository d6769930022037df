"""Live: a long-polling drone's burst arrives whole (one POST carries hundreds of kB)."""

from __future__ import annotations

from _raw_clients import Clients

from seed.world import World

BURST = 600


async def test_a_polling_burst_is_forwarded_whole_and_in_order(clients: Clients,
                                                                wide_world: World) -> None:
    me = wide_world.users[0]
    chat = wide_world.chat_sessions_of(me.id)[0]
    drone = wide_world.drones_of(me.id)[0]
    ide = await clients.ide(me.token)
    assert await ide.call("openChatSession", {"chatSessionId": chat.id}) == {"ok": True}
    poller = await clients.drone(drone.id, drone.token, transports=["polling"])
    lock = {"registrationId": drone.id, "chatSessionId": chat.id}
    assert await ide.call("requestSessionLock", lock) == {"ok": True}
    work_order = (await ide.call("submitPrompt", {**lock, "prompt": "burst"}))["workOrderId"]
    text = "x" * 500  # 600 events of ~650 bytes: far more than one network read per POST
    for seq in range(BURST):
        await poller.emit("thinking", {"workOrderId": work_order, "chatSessionId": chat.id,
                                       "seq": seq, "text": f"{seq}:{text}"})
    got = await ide.wait_for("thinking", count=BURST, timeout=15)
    assert [event["seq"] for event in got] == list(range(BURST))
    assert all(event["text"] == f"{event['seq']}:{text}" for event in got)
