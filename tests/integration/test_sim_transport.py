"""The simulated clients' Socket.IO mechanics, against a small in-process Socket.IO server.

Real python-socketio server and clients over TCP on 127.0.0.1 (port 0), no relay logic:
these pin what the relay tests rely on — exact auth payloads, acks and *no* acks, clean
goodbye vs. crash as the server sees them, handover on restart, the polling burst trap.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import engineio.packet
import pytest
import socketio
from aiohttp import web

from harness.errors import EnvError, ExpectationFailed
from harness.protocol import Event
from harness.scenario.invariants import check_history
from harness.sim import (
    AckTimeout,
    ConnectRefused,
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

REG = "d" * 24
CHAT = "c" * 24
WO = "e" * 24
WAIT = 10.0  # generous upper bound for awaited conditions; never a sleep


class MiniServer:
    """A Socket.IO server that records everything and answers like a tiny relay."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncServer(async_mode="aiohttp", logger=False, engineio_logger=False)
        self.app = web.Application()
        self.sio.attach(self.app)
        self.app.router.add_post("/api/v1/echo", self._echo)
        self.auths: dict[str, Any] = {}
        self.events: list[tuple[str, str, Any]] = []
        self.disconnects: dict[str, str] = {}
        self.drones: dict[str, str] = {}
        self.release = asyncio.Event()
        self._changed = asyncio.Event()
        self.sio.on("connect", self._connect)
        self.sio.on("disconnect", self._disconnect)
        self.sio.on("*", self._any)
        # Cancel a handler when its client goes: a dropped long-poll GET must not hold
        # the server for its 45 s poll timeout at shutdown.
        self.runner = web.AppRunner(self.app, handler_cancellation=True)
        self.url = ""

    async def start(self) -> None:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        host, port = self.runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    async def stop(self) -> None:
        self.release.set()
        await self.runner.cleanup()

    def _touch(self) -> None:
        self._changed.set()

    async def wait(self, predicate: Callable[[], Any], timeout: float = WAIT) -> Any:
        async with asyncio.timeout(timeout):
            while True:
                self._changed.clear()
                if result := predicate():
                    return result
                await self._changed.wait()

    async def _connect(self, sid: str, environ: Any, auth: Any) -> None:
        if not isinstance(auth, dict) or auth.get("token") == "bad":
            raise socketio.exceptions.ConnectionRefusedError("auth-denied")
        self.auths[sid] = auth
        if auth.get("type") == "drone":
            old = self.drones.get(auth["registrationId"])
            self.drones[auth["registrationId"]] = sid
            if old is not None:
                await self.sio.disconnect(old)
        self._touch()

    async def _disconnect(self, sid: str, reason: str) -> None:
        self.disconnects[sid] = reason
        self._touch()

    async def _any(self, event: str, sid: str, data: Any = None) -> Any:
        self.events.append((sid, event, data))
        self._touch()
        if event == "hold":
            await self.release.wait()
        if event == Event.REQUEST_CRASH_RECOVERY:
            return {"ok": True, "chatSessionId": CHAT, "workOrder": None}
        return {"ok": True, "echo": data}

    async def _echo(self, request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response(
            {"ok": True, "auth": request.headers.get("Authorization"), "body": body}, status=201
        )

    def received(self, event: str) -> list[Any]:
        return [data for _, e, data in self.events if e == event]


@pytest.fixture
async def server() -> AsyncIterator[MiniServer]:
    mini = MiniServer()
    await mini.start()
    yield mini
    await mini.stop()


@pytest.fixture
async def actors() -> AsyncIterator[list[SimClient | HttpActor]]:
    made: list[SimClient | HttpActor] = []
    yield made
    for actor in made:
        await actor.close()


def _select(history: MessageHistory, direction: str, event: str | None = None) -> list[Message]:
    return history.select(direction=direction, event=event)


async def _connected_drone(
    server: MiniServer, actors: list[Any], history: MessageHistory, **kwargs: Any
) -> SimDrone:
    drone = SimDrone(
        "drone", server.url, registration_id=REG, token="drone-token", history=history, **kwargs
    )
    actors.append(drone)
    await drone.connect()
    return drone


async def test_ide_connects_with_the_protocol_auth(server: MiniServer, actors: list[Any]) -> None:
    history = MessageHistory()
    ide = SimIDE("ide", server.url, token="user-token", history=history)
    actors.append(ide)
    await ide.connect()
    assert ide.connected and ide.sid is not None
    assert server.auths == {ide.sid: {"type": "code", "token": "user-token"}}
    [connect] = _select(history, "connect")
    assert (connect.actor, connect.kind, connect.socket_id) == ("ide", "ide", ide.sid)


async def test_drone_connects_with_the_protocol_auth(server: MiniServer, actors: list[Any]) -> None:
    drone = await _connected_drone(server, actors, MessageHistory())
    assert server.auths[drone.sid or ""] == {
        "type": "drone",
        "registrationId": REG,
        "token": "drone-token",
    }


async def test_refused_connect_raises_with_the_reason(
    server: MiniServer, actors: list[Any]
) -> None:
    history = MessageHistory()
    ide = SimIDE("ide", server.url, token="bad", history=history)
    actors.append(ide)
    with pytest.raises(ConnectRefused) as info:
        await ide.connect()
    assert info.value.reason == "auth-denied"
    assert "auth-denied" in str(info.value) and "bad" not in str(info.value)
    assert not ide.connected
    [refusal] = _select(history, "connect-error")
    assert refusal.payload == "auth-denied"
    assert _select(history, "connect") == []


async def test_unreachable_relay_is_an_env_error(actors: list[Any]) -> None:
    ide = SimIDE("ide", "http://127.0.0.1:9", token="t", history=MessageHistory())
    actors.append(ide)
    with pytest.raises(EnvError, match="cannot reach the relay"):
        await ide.connect(timeout=5.0)


async def test_emit_returns_the_ack_and_records_it(server: MiniServer, actors: list[Any]) -> None:
    history = MessageHistory()
    ide = SimIDE("ide", server.url, token="t", history=history)
    actors.append(ide)
    await ide.connect()
    answer = await ide.emit(Event.OPEN_CHAT_SESSION, {"chatSessionId": CHAT})
    assert answer == {"ok": True, "echo": {"chatSessionId": CHAT}}
    [sent] = _select(history, "sent", Event.OPEN_CHAT_SESSION)
    [ack] = _select(history, "ack", Event.OPEN_CHAT_SESSION)
    assert sent.payload == {"chatSessionId": CHAT} and "negative" not in sent.meta
    assert ack.ack == answer and ack.seq > sent.seq
    assert ack.meta["rtt"] == pytest.approx(ack.t - sent.t) and ack.meta["rtt"] >= 0
    assert sent.socket_id == ack.socket_id == ide.sid


async def test_missing_ack_raises_ack_timeout(server: MiniServer, actors: list[Any]) -> None:
    history = MessageHistory()
    ide = SimIDE("ide", server.url, token="t", history=history)
    actors.append(ide)
    await ide.connect()
    with pytest.raises(AckTimeout) as info:
        await ide.emit("hold", {"x": 1}, timeout=0.2, negative=True)
    assert (info.value.event, info.value.actor, info.value.timeout) == ("hold", "ide", 0.2)
    [sent] = _select(history, "sent", "hold")
    assert sent.meta["negative"] is True
    [timeout] = _select(history, "ack-timeout", "hold")
    assert timeout.meta["reason"] == "timeout"


async def test_emit_when_not_connected_is_a_clear_error(
    server: MiniServer, actors: list[Any]
) -> None:
    ide = SimIDE("ide", server.url, token="t", history=MessageHistory())
    actors.append(ide)
    with pytest.raises(ExpectationFailed, match="cannot emit 'openChatSession': not connected"):
        await ide.emit(Event.OPEN_CHAT_SESSION, {})


async def test_drone_answers_lock_per_behaviour_and_ignore_sends_no_ack(
    server: MiniServer, actors: list[Any]
) -> None:
    history = MessageHistory()
    drone = await _connected_drone(server, actors, history)
    sid = drone.sid
    payload = {"chatSessionId": CHAT, "projectId": "f" * 24}
    assert await server.sio.call(Event.REQUEST_SESSION_LOCK, payload, to=sid) is True
    assert drone.locked_by == CHAT
    drone.behaviour = DroneBehaviour(on_lock="refuse")
    assert await server.sio.call(Event.REQUEST_SESSION_LOCK, payload, to=sid) is False

    drone.behaviour = DroneBehaviour(on_lock="ignore")
    ignored: list[Any] = []
    await server.sio.emit(
        Event.REQUEST_SESSION_LOCK, payload, to=sid, callback=lambda *args: ignored.append(args)
    )
    await history.wait_for(lambda ms: len([m for m in ms if m.direction == "received"]) == 3, WAIT)
    drone.behaviour = DroneBehaviour()
    # Acks travel in order on one socket: once this one is back, an ack of the ignored
    # request would have arrived before it.
    assert (
        await server.sio.call(Event.RELEASE_SESSION_LOCK, {"chatSessionId": CHAT}, to=sid) is True
    )
    assert ignored == []
    answers = [
        m.meta.get("answer") for m in _select(history, "received", Event.REQUEST_SESSION_LOCK)
    ]
    assert answers == ["accept", "refuse", "ignore"]
    assert [m.ack for m in _select(history, "acked", Event.REQUEST_SESSION_LOCK)] == [True, False]
    assert [m.ack for m in _select(history, "acked", Event.RELEASE_SESSION_LOCK)] == [True]


async def test_submit_prompt_acks_then_streams_in_order(
    server: MiniServer, actors: list[Any]
) -> None:
    history = MessageHistory()
    script = StreamScript(thinking=3, responses=2, tool_calls=2, text_size=48)
    drone = await _connected_drone(server, actors, history, behaviour=DroneBehaviour(script=script))
    prompt = {"workOrderId": WO, "chatSessionId": CHAT, "prompt": "hello"}
    assert await server.sio.call(Event.SUBMIT_PROMPT, prompt, to=drone.sid) is True
    await drone.wait_idle(WAIT)
    done = await server.wait(lambda: server.received(Event.WORK_ORDER_COMPLETE))
    assert done == [
        {
            "workOrderId": WO,
            "chatSessionId": CHAT,
            "seq": 7,
            "status": "complete",
            "summary": "done",
        }
    ]
    streamed = [(e, d["seq"]) for _, e, d in server.events if e != Event.SUBMIT_PROMPT]
    assert [seq for _, seq in streamed] == list(range(8))
    assert drone.work_orders == {WO: CHAT}
    acked = _select(history, "acked", Event.SUBMIT_PROMPT)[0]
    first_stream = _select(history, "sent")[0]
    assert acked.seq < first_stream.seq  # the ack is queued before any stream event


async def test_prompt_refused_or_ignored_streams_nothing(
    server: MiniServer, actors: list[Any]
) -> None:
    history = MessageHistory()
    drone = await _connected_drone(
        server, actors, history, behaviour=DroneBehaviour(on_prompt="refuse")
    )
    prompt = {"workOrderId": WO, "chatSessionId": CHAT, "prompt": "p"}
    assert await server.sio.call(Event.SUBMIT_PROMPT, prompt, to=drone.sid) is False
    await drone.wait_idle(WAIT)
    assert _select(history, "sent") == []
    assert drone.work_orders == {WO: CHAT}


async def test_termination_accept_acks_then_exits(server: MiniServer, actors: list[Any]) -> None:
    history = MessageHistory()
    drone = await _connected_drone(server, actors, history)
    sid = drone.sid or ""
    assert await server.sio.call(Event.REQUEST_TERMINATION, {}, to=sid) is True
    reason = await server.wait(lambda: server.disconnects.get(sid))
    assert reason == server.sio.reason.CLIENT_DISCONNECT  # a goodbye, not a dropped socket
    await history.wait_for(lambda ms: [m for m in ms if m.direction == "disconnect"], WAIT)
    [gone] = _select(history, "disconnect")
    assert gone.meta["reason"] == "exit" and gone.socket_id == sid
    assert not drone.connected


async def test_termination_refused_keeps_the_drone(server: MiniServer, actors: list[Any]) -> None:
    drone = await _connected_drone(
        server, actors, MessageHistory(), behaviour=DroneBehaviour(on_termination="refuse")
    )
    assert await server.sio.call(Event.REQUEST_TERMINATION, {}, to=drone.sid) is False
    assert drone.connected


@pytest.mark.parametrize("how", ["disconnect", "crash"])
async def test_goodbye_versus_crash_as_the_server_sees_it(
    server: MiniServer, actors: list[Any], how: str
) -> None:
    history = MessageHistory()
    drone = await _connected_drone(server, actors, history)
    sid = drone.sid or ""
    await getattr(drone, how)()
    reason = await server.wait(lambda: server.disconnects.get(sid))
    expected = {
        "disconnect": server.sio.reason.CLIENT_DISCONNECT,
        "crash": server.sio.reason.TRANSPORT_CLOSE,
    }[how]
    assert reason == expected
    [gone] = _select(history, "disconnect")
    assert gone.meta["reason"] == {"disconnect": "client", "crash": "crash"}[how]
    assert gone.socket_id == sid
    assert not drone.connected and drone.sid is None
    assert len(server.auths) == 1  # no reconnection


async def test_server_disconnect_is_recorded(server: MiniServer, actors: list[Any]) -> None:
    history = MessageHistory()
    ide = SimIDE("ide", server.url, token="t", history=history)
    actors.append(ide)
    await ide.connect()
    sid = ide.sid
    await server.sio.disconnect(sid)
    [gone] = await history.wait_for(lambda ms: [m for m in ms if m.direction == "disconnect"], WAIT)
    assert gone.meta["reason"] == "server" and gone.socket_id == sid


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_restart_hands_over_and_recovers(
    server: MiniServer, actors: list[Any], transport: Transport
) -> None:
    history = MessageHistory()
    drone = await _connected_drone(server, actors, history, transport=transport)
    old_sid = drone.sid
    answer = await drone.restart()
    assert answer == {"ok": True, "chatSessionId": CHAT, "workOrder": None}
    assert drone.sid is not None and drone.sid != old_sid
    assert drone.locked_by == CHAT
    disconnects = _select(history, "disconnect")
    assert [(m.socket_id, m.meta["reason"]) for m in disconnects] == [(old_sid, "replaced")]
    assert server.disconnects[old_sid or ""] == server.sio.reason.SERVER_DISCONNECT
    assert [m.socket_id for m in _select(history, "connect")] == [old_sid, drone.sid]
    [recovery] = _select(history, "sent", Event.REQUEST_CRASH_RECOVERY)
    assert recovery.socket_id == drone.sid


async def test_restart_without_recovery_returns_none(server: MiniServer, actors: list[Any]) -> None:
    drone = await _connected_drone(
        server, actors, MessageHistory(), behaviour=DroneBehaviour(recover_after_restart=False)
    )
    assert await drone.restart() is None
    assert server.received(Event.REQUEST_CRASH_RECOVERY) == []


async def test_polling_ide_survives_a_burst_of_200_events(
    server: MiniServer, actors: list[Any]
) -> None:
    history = MessageHistory()
    ide = SimIDE("ide", server.url, token="t", history=history, transport="polling")
    actors.append(ide)
    await ide.connect()
    # Started together, the 200 emits queue their packets before the pending poll wakes,
    # so one poll response carries all of them (awaited one by one, they trickle out).
    await asyncio.gather(
        *(server.sio.emit(Event.THINKING, {"seq": seq}, to=ide.sid) for seq in range(200))
    )
    received = await history.wait_for(
        lambda ms: (r := [m for m in ms if m.direction == "received"]) and len(r) >= 200 and r, WAIT
    )
    assert [m.payload["seq"] for m in received] == list(range(200))
    assert ide.connected and _select(history, "disconnect") == []


async def test_http_actor_records_without_the_token(server: MiniServer, actors: list[Any]) -> None:
    history = MessageHistory()
    http = HttpActor("http", server.url, history)
    actors.append(http)
    result = await http.request(
        "POST", "/api/v1/echo", token="secret-token", headers={"X-Trace": "1"}, json={"a": 1}
    )
    assert result.status == 201
    assert result.body == {"ok": True, "auth": "Bearer secret-token", "body": {"a": 1}}
    sent, received = history.messages
    assert (sent.kind, sent.direction, sent.event, sent.payload) == (
        "http",
        "sent",
        "POST /api/v1/echo",
        {"a": 1},
    )
    assert sent.meta["headers"] == {"X-Trace": "1"}
    assert "secret-token" not in repr(sent)
    assert (received.direction, received.meta["status"]) == ("received", 201)
    assert received.payload == result.body and received.meta["elapsed"] >= 0


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_events_read_with_the_close_are_recorded_before_the_disconnect(
    server: MiniServer, actors: list[Any], transport: Transport
) -> None:
    # Engine.IO hands each received message to a task of its own but runs the disconnect
    # at once. One read that carries events and then the engine CLOSE (a poll response, a
    # relay shutting down) used to record the disconnect first and the events after it with
    # no socket id: a false after-disconnect on a correct relay (CI, termination/refuse).
    # The read loop's own steps are replayed here on the live client, in one go.
    history = MessageHistory()
    ide = SimIDE("ide", server.url, token="t", history=history, transport=transport)
    actors.append(ide)
    await ide.connect()
    sid = ide.sid
    eio = ide._link.sio.eio  # type: ignore[union-attr]
    for seq in range(3):
        await eio._receive_packet(
            engineio.packet.Packet(engineio.packet.MESSAGE, f'2["thinking",{{"seq":{seq}}}]')
        )
    await eio._receive_packet(engineio.packet.Packet(engineio.packet.CLOSE))
    await history.wait_for(lambda ms: [m for m in ms if m.direction == "disconnect"], WAIT)
    recorded = [
        (m.direction, m.socket_id)
        for m in history.select()
        if m.direction in ("received", "disconnect")
    ]
    assert recorded == [("received", sid)] * 3 + [("disconnect", sid)]
    assert [v for v in check_history(history.select()) if v.invariant == "after-disconnect"] == []
