"""The simulated clients' automatic reconnection against the reference relay, over real
sockets: what they do after it (an IDE's ``reopen``, a drone's ``recover``), what they do
with emits while away (``volatile`` dropped, the rest buffered and sent once, in order,
at most ``SEND_BUFFER_LIMIT``), and how it ends (attempts exhausted; ``close()`` or
``crash()`` while it is pending).

The actor under test reaches a private relay (1 s + 1 s heartbeat) through its own
``FaultProxy``; the other actor, if any, connects directly. Reconnection waits 100-500 ms.
Every wait is on a condition with a timeout; none is a sleep.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
from bson import ObjectId
from conftest import MakeRelayEnv, seeded_world

from harness.env import LocalEnvironment
from harness.errors import ExpectationFailed
from harness.faults import FaultProxy
from harness.protocol import STREAM_EVENTS, Event
from harness.sim import (
    AckTimeout,
    DroneBehaviour,
    Message,
    MessageHistory,
    Reconnection,
    SimClient,
    SimDrone,
    SimIDE,
    StreamScript,
)
from harness.sim._outbox import SEND_BUFFER_LIMIT
from seed.world import World, WorldSpec

pytestmark = [pytest.mark.timeout(90)]

FAST = Reconnection(delay=0.1, delay_max=0.5)
WAIT = 15.0  # s: upper bound of each awaited condition on a loaded machine
ACCEPT_PROMPTS = DroneBehaviour(on_prompt="accept")  # acks a prompt, streams nothing


@dataclass
class Stage:
    """A private relay, a seeded user (two chat sessions, one drone), the shared history,
    and what each test made (closed afterwards)."""

    env: LocalEnvironment
    world: World
    history: MessageHistory = field(default_factory=MessageHistory)
    actors: list[SimClient] = field(default_factory=list)
    proxies: list[FaultProxy] = field(default_factory=list)

    async def proxy(self) -> FaultProxy:
        """A started fault proxy in front of the relay."""
        port = int(self.env.relay_url.rsplit(":", 1)[1])
        proxy = FaultProxy("127.0.0.1", port)
        await proxy.start()
        self.proxies.append(proxy)
        return proxy

    async def ide(self, url: str | None = None, *, name: str = "ide",
                  reconnection: Reconnection = FAST, reopen: bool = False) -> SimIDE:
        """A connected IDE of the user, through ``url`` (default: straight to the relay)."""
        user = self.world.users[0]
        ide = SimIDE(name, url or self.env.relay_url, token=user.token, history=self.history,
                     user_id=user.id, reconnection=reconnection, reopen=reopen)
        self.actors.append(ide)
        await ide.connect()
        return ide

    async def drone(self, url: str | None = None, *, recover: bool = False,
                    behaviour: DroneBehaviour = ACCEPT_PROMPTS) -> SimDrone:
        """The user's connected drone, through ``url`` (default: straight to the relay)."""
        seeded = self.world.drones[0]
        drone = SimDrone("drone", url or self.env.relay_url, registration_id=seeded.id,
                         token=seeded.token, history=self.history, user_id=seeded.user_id,
                         behaviour=behaviour, reconnection=FAST, recover=recover)
        self.actors.append(drone)
        await drone.connect()
        return drone

    async def locked_drone_behind(self, net: FaultProxy, *,
                                  recover: bool = False) -> tuple[SimIDE, SimDrone]:
        """An IDE (straight to the relay) with chat session 0 open, and the drone behind
        ``net``, locked by that chat session."""
        ide = await self.ide()
        assert await ide.emit(Event.OPEN_CHAT_SESSION,
                              {"chatSessionId": self.chat()}) == {"ok": True}
        drone = await self.drone(net.url_for(), recover=recover)
        assert await ide.emit(Event.REQUEST_SESSION_LOCK, self.lock()) == {"ok": True}
        return ide, drone

    def chat(self, index: int = 0) -> str:
        return self.world.chat_sessions[index].id

    def lock(self, index: int = 0) -> dict[str, str]:
        return {"registrationId": self.world.drones[0].id, "chatSessionId": self.chat(index)}

    def of(self, actor: str, direction: str | None = None,
           event: str | None = None) -> list[Message]:
        return self.history.select(actor=actor, direction=direction, event=event)

    async def until(self, holds: Callable[[], Any], what: str) -> Any:
        """Wait until ``holds()`` is truthy (re-checked on every new record) and return it."""
        try:
            return await self.history.wait_for(lambda _: holds(), WAIT)
        except TimeoutError:
            pytest.fail(f"not within {WAIT:g} s: {what}; the history:\n" + "\n".join(
                f"{m.seq} {m.actor} {m.direction} {m.event} {m.payload} {m.meta} "
                f"{m.socket_id}" for m in self.history))

    async def reconnected(self, actor: str) -> Message:
        """The actor's next automatic reconnection (``connect`` with ``reconnect=True``)."""
        found: Message = (await self.until(
            lambda: [m for m in self.of(actor, "connect") if m.meta.get("reconnect")],
            f"{actor} reconnects"))[-1]
        return found


@pytest.fixture
async def stage(make_relay_env: MakeRelayEnv) -> AsyncIterator[Stage]:
    env = await make_relay_env(ping_interval=1.0, ping_timeout=1.0)
    spec = WorldSpec(users=1, drones_per_user=1, chat_sessions_per_project=2)
    async with seeded_world(env, spec) as world:
        made = Stage(env, world)
        try:
            yield made
        finally:
            for actor in made.actors:
                await actor.close()
            for proxy in made.proxies:
                await proxy.stop()


def _after(messages: Sequence[Message], mark: Message) -> list[Message]:
    return [m for m in messages if m.seq > mark.seq]


async def _disconnected_for_good(stage: Stage, net: FaultProxy, actor: SimClient) -> Message:
    """Refuse the actor's reconnections and cut its connection; its disconnect record
    (a reconnection is then pending)."""
    net.refuse(True)
    await net.cut()
    gone: Message = (await stage.until(
        lambda: stage.of(actor.name, "disconnect"), f"{actor.name} disconnects"))[-1]
    assert gone.meta["reconnects"] is True, gone
    assert not actor.connected
    return gone


async def test_ide_reopen_reopens_its_chat_sessions_and_hears_the_stream_again(
        stage: Stage) -> None:
    script = StreamScript(thinking=2, responses=2)
    drone = await stage.drone(behaviour=DroneBehaviour(script=script))
    net = await stage.proxy()
    ide = await stage.ide(net.url_for(), reopen=True)
    for index in (0, 1):
        assert await ide.emit(Event.OPEN_CHAT_SESSION,
                              {"chatSessionId": stage.chat(index)}) == {"ok": True}
    missing = {"chatSessionId": str(ObjectId())}
    refused = await ide.emit(Event.OPEN_CHAT_SESSION, missing, negative=True)
    assert refused["ok"] is False  # not opened: must not be reopened
    assert await ide.emit(Event.REQUEST_SESSION_LOCK, stage.lock()) == {"ok": True}
    first_sid = ide.sid

    await net.cut()
    back = await stage.reconnected("ide")
    assert back.socket_id not in (None, first_sid)

    def reopened() -> list[Message]:
        acks = [m for m in _after(stage.of("ide", "ack", Event.OPEN_CHAT_SESSION), back)]
        return acks if len(acks) == 2 else []

    acks = await stage.until(reopened, "the IDE reopens both chat sessions")
    resent = _after(stage.of("ide", "sent", Event.OPEN_CHAT_SESSION), back)
    assert [m.payload for m in resent] == [{"chatSessionId": stage.chat(0)},
                                           {"chatSessionId": stage.chat(1)}]
    assert {m.socket_id for m in resent} == {back.socket_id}
    assert [m.ack for m in acks] == [{"ok": True}, {"ok": True}]

    # The relay indexes the new socket under the chat session again: the stream reaches it.
    answer = await ide.emit(Event.SUBMIT_PROMPT, {**stage.lock(), "prompt": "again"})
    assert answer["ok"] is True, answer
    await drone.wait_idle(WAIT)
    done = await stage.until(lambda: _after(stage.of("ide", "received",
                                                     Event.WORK_ORDER_COMPLETE), back),
                             "the IDE hears the work order complete")
    assert done[0].payload["workOrderId"] == answer["workOrderId"]
    heard = [m for m in _after(stage.of("ide", "received"), back) if m.event in STREAM_EVENTS]
    assert [m.payload["seq"] for m in heard] == [0, 1, 2, 3]
    assert {m.socket_id for m in heard} == {back.socket_id}


async def test_drone_recover_asks_for_crash_recovery_and_gets_its_lock_back(
        stage: Stage) -> None:
    net = await stage.proxy()
    _, drone = await stage.locked_drone_behind(net, recover=True)
    assert drone.locked_by == stage.chat()
    first_sid = drone.sid

    # Half-open: the relay keeps the old socket (and the lock) until the new one replaces it.
    await net.cut("client")
    back = await stage.reconnected("drone")
    assert back.socket_id not in (None, first_sid)
    [gone] = stage.of("drone", "disconnect")
    assert (gone.socket_id, gone.meta["reconnects"]) == (first_sid, True)

    acked = await stage.until(lambda: _after(stage.of("drone", "ack",
                                                      Event.REQUEST_CRASH_RECOVERY), back),
                              "the drone's requestCrashRecovery is answered")
    loop = drone._reconnect_task  # ends once the recovery's answer is taken in
    if loop is not None:
        await asyncio.wait_for(loop, WAIT)
    [asked] = _after(stage.of("drone", "sent", Event.REQUEST_CRASH_RECOVERY), back)
    assert (asked.payload, asked.socket_id) == ({}, back.socket_id)
    assert acked[0].ack["ok"] is True and acked[0].ack["chatSessionId"] == stage.chat()
    assert drone.locked_by == stage.chat()
    [recovered] = await stage.until(lambda: stage.of("ide", "received", Event.DRONE_RECOVERED),
                                    "the IDE hears droneRecovered")
    assert recovered.payload == {"registrationId": drone.registration_id,
                                 "chatSessionId": stage.chat()}


async def test_volatile_emit_is_dropped_and_buffered_ones_go_once_in_order(
        stage: Stage) -> None:
    # The drone's stream events: the relay forwards them one by one (its inbox), so the
    # order the IDE hears is the order they left the drone.
    net = await stage.proxy()
    ide, drone = await stage.locked_drone_behind(net)
    work_order = (await ide.emit(Event.SUBMIT_PROMPT,
                                 {**stage.lock(), "prompt": "hi"}))["workOrderId"]

    def thinking(seq: int, text: str) -> dict[str, Any]:
        return {"workOrderId": work_order, "chatSessionId": stage.chat(), "seq": seq,
                "text": text}

    # Half-open: the relay keeps the drone's old socket, so the new one takes over its
    # work order (a handover) instead of the relay aborting it.
    await net.cut("client")
    gone: Message = (await stage.until(lambda: stage.of("drone", "disconnect"),
                                       "the drone disconnects"))[-1]
    assert gone.meta["reconnects"] is True and not drone.connected
    # All emitted before the first reconnection attempt (>= 50 ms away): emits that
    # need no ack do not wait on the network. The work order's completion goes last.
    await drone.emit(Event.THINKING, thinking(0, "volatile"), ack=False, volatile=True)
    for seq, text in enumerate(["one", "two", "three"], start=1):
        await drone.emit(Event.THINKING, thinking(seq, text), ack=False)
    await drone.emit(Event.WORK_ORDER_COMPLETE, {"workOrderId": work_order,
                                                 "chatSessionId": stage.chat(),
                                                 "status": "complete", "seq": 4}, ack=False)
    dropped, *buffered = _after(stage.of("drone", "sent"), gone)
    assert (dropped.payload["text"], dropped.meta.get("dropped")) == ("volatile", True)
    assert [(m.event, m.payload["seq"], m.meta.get("buffered")) for m in buffered] == [
        (Event.THINKING, 1, True), (Event.THINKING, 2, True), (Event.THINKING, 3, True),
        (Event.WORK_ORDER_COMPLETE, 4, True)]

    back = await stage.reconnected("drone")
    # The relay forwards the completion after whatever came before it.
    await stage.until(lambda: stage.of("ide", "received", Event.WORK_ORDER_COMPLETE),
                      "the IDE hears the work order complete")
    [flush] = stage.of("drone", "note", "send-buffer-flush")
    assert flush.meta["count"] == 4 and flush.seq > back.seq
    heard = stage.of("ide", "received", Event.THINKING)
    assert [m.payload["text"] for m in heard] == ["one", "two", "three"]
    assert [m.payload["seq"] for m in heard] == [1, 2, 3]


async def test_reconnection_gives_up_after_its_attempts(stage: Stage) -> None:
    net = await stage.proxy()
    ide = await stage.ide(net.url_for(), reconnection=Reconnection(attempts=2, delay=0.1,
                                                                  delay_max=0.2))
    gone = await _disconnected_for_good(stage, net, ide)
    await stage.until(lambda: stage.of("ide", "note", "reconnect-failed"),
                      "the IDE gives up reconnecting")
    attempts = _after(stage.of("ide", "note", "reconnect-attempt"), gone)
    assert [m.meta["attempt"] for m in attempts] == [1, 2]
    [failed] = stage.of("ide", "note", "reconnect-failed")
    assert failed.meta["attempts"] == 2 and failed.seq > attempts[-1].seq
    # It has stopped: no loop left, nothing more recorded, no connection through the proxy.
    assert not ide.reconnecting and not ide.connected
    assert [m for m in _after(stage.history.messages, failed) if m.actor == "ide"] == []
    assert net.connections == ()
    with pytest.raises(ExpectationFailed, match="not reconnecting"):
        await ide.wait_connected(1.0)


@pytest.mark.parametrize("end", ["close", "crash"])
async def test_close_or_crash_stops_a_pending_reconnection(
        stage: Stage, end: Literal["close", "crash"]) -> None:
    net = await stage.proxy()
    ide = await stage.ide(net.url_for())
    await _disconnected_for_good(stage, net, ide)
    await stage.until(lambda: stage.of("ide", "note", "reconnect-attempt"),
                      "the IDE tries to reconnect")
    task = ide._reconnect_task  # the loop itself: it must be over, not merely forgotten
    assert task is not None and not task.done()
    buffered = asyncio.create_task(ide.emit(Event.OPEN_CHAT_SESSION,
                                            {"chatSessionId": stage.chat()}, timeout=WAIT))
    await stage.until(lambda: stage.of("ide", "sent", Event.OPEN_CHAT_SESSION),
                      "the IDE buffers an emit")

    await (ide.close() if end == "close" else ide.crash())
    assert task.done() and not ide.reconnecting
    assert task not in asyncio.all_tasks()
    # The buffered emit is dropped with the process's state: its ack wait ends at once.
    with pytest.raises(AckTimeout):
        await asyncio.wait_for(buffered, WAIT)
    [dropped] = stage.of("ide", "ack-timeout", Event.OPEN_CHAT_SESSION)
    assert dropped.meta["reason"] == "disconnected"
    net.refuse(False)  # a loop still running would now get through
    assert not [m for m in stage.of("ide", "connect") if m.meta.get("reconnect")]
    assert net.connections == ()
    with pytest.raises(ExpectationFailed):
        await ide.wait_connected(1.0)


async def test_the_send_buffer_holds_at_most_its_limit(stage: Stage) -> None:
    net = await stage.proxy()
    ide = await stage.ide(net.url_for())
    gone = await _disconnected_for_good(stage, net, ide)
    opening = {"chatSessionId": stage.chat()}
    waits = [asyncio.create_task(ide.emit(Event.OPEN_CHAT_SESSION, opening, timeout=WAIT))
             for _ in range(SEND_BUFFER_LIMIT)]
    await stage.until(lambda: len(stage.of("ide", "sent")) == SEND_BUFFER_LIMIT,
                      "the IDE buffers as many emits as its buffer holds")
    with pytest.raises(ExpectationFailed, match=f"{SEND_BUFFER_LIMIT} events"):
        await ide.emit(Event.OPEN_CHAT_SESSION, opening, timeout=WAIT)
    # The refused emit is not in the history as sent: only what was buffered is.
    sent = _after(stage.of("ide", "sent"), gone)
    assert len(sent) == SEND_BUFFER_LIMIT and all(m.meta["buffered"] for m in sent)

    net.refuse(False)
    answers = await asyncio.wait_for(asyncio.gather(*waits), WAIT)
    assert answers == [{"ok": True}] * SEND_BUFFER_LIMIT
    [flush] = stage.of("ide", "note", "send-buffer-flush")
    assert flush.meta["count"] == SEND_BUFFER_LIMIT
    acks = stage.of("ide", "ack", Event.OPEN_CHAT_SESSION)
    assert sorted(m.meta["sent_seq"] for m in acks[-SEND_BUFFER_LIMIT:]) == [
        m.seq for m in sent]
