"""``harness record`` over loopback: real clients -> Recorder -> the reference relay (or a raw
python-socketio server), and the trace it writes. Waits are on events; timeouts are bounds."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio
from _harness_cli import REPO, run_harness
from aiohttp import web

from harness.env import LocalEnvironment
from harness.host import free_port
from harness.protocol import STREAM_EVENTS, Event, Route
from harness.record import Recorder
from harness.report.trace import Trace, read_trace
from harness.sim import DroneBehaviour, HttpActor, MessageHistory, SimDrone, SimIDE, StreamScript
from seed.world import World

WAIT = 15.0


@contextlib.asynccontextmanager
async def raw_server(port: int = 0) -> AsyncIterator[tuple[str, socketio.AsyncServer]]:
    """A bare python-socketio server: ``echo`` acks its arguments; auth token must be 's3cret'."""
    sio = socketio.AsyncServer(async_mode="aiohttp")
    app = web.Application()
    sio.attach(app)

    @sio.event
    async def connect(sid: str, environ: Any, auth: Any) -> None:
        if not isinstance(auth, dict) or auth.get("token") != "s3cret-raw-token":
            raise socketio.exceptions.ConnectionRefusedError("auth-denied")

    @sio.on("echo")
    async def echo(sid: str, *args: Any) -> Any:
        return list(args)

    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", sio
    finally:
        await runner.cleanup()


def _of(trace: Trace, actor: str, direction: str, event: str | None = None) -> list[Any]:
    return [m for m in trace.messages if m.actor == actor and m.direction == direction
            and (event is None or m.event == event)]


async def test_sim_clients_through_the_recorder(relay_env: LocalEnvironment, world: World,
                                                tmp_path: Path) -> None:
    out = tmp_path / "rec.trace.jsonl"
    history = MessageHistory()
    script = StreamScript(thinking=2, responses=3, tool_calls=1, text_size=32)
    request = {"registrationId": world.drones[0].id, "chatSessionId": world.chat_sessions[0].id}
    async with Recorder(upstream=relay_env.relay_url, out=out) as rec:
        drone = SimDrone("d", rec.url, registration_id=world.drones[0].id,
                         token=world.drones[0].token, history=history,
                         behaviour=DroneBehaviour(script=script))
        ide = SimIDE("i", rec.url, token=world.users[0].token, history=history,
                     transport="polling")
        http = HttpActor("h", rec.url, history)
        try:
            await drone.connect()
            await ide.connect()
            await ide.emit(Event.OPEN_CHAT_SESSION, {"chatSessionId": request["chatSessionId"]})
            assert await ide.emit(Event.REQUEST_SESSION_LOCK, request) == {"ok": True}
            answer = await ide.emit(Event.SUBMIT_PROMPT, {**request, "prompt": "hi"})
            assert answer["ok"] is True
            await drone.wait_idle(WAIT)
            await history.wait_for(lambda ms: [m for m in ms if m.actor == "i" and m.event
                                               == Event.WORK_ORDER_COMPLETE], WAIT)
            result = await http.request("POST", Route.TERMINATE.format(id=request[
                "registrationId"]), token=world.users[0].token)
            assert (result.status, result.body) == (200, {"ok": True, "terminated": True})
        finally:
            for actor in (ide, drone, http):
                await actor.close()
    trace = read_trace(out)
    assert trace.header["status"] == "recorded" and trace.header["steps"] == []
    assert trace.header["messages"] == len(trace.messages) > 20
    assert {n: a.kind for n, a in trace.actors.items()} == {
        "drone1": "drone", "ide1": "ide", "http": "http"}
    assert trace.actors["drone1"].registration_id == request["registrationId"]
    [connect] = _of(trace, "ide1", "connect")
    assert connect.meta["transport"] == "polling" and connect.socket_id
    assert connect.meta["auth"]["type"] == "code"
    assert connect.meta["auth"]["token"].startswith("<redacted:")
    [lock] = _of(trace, "ide1", "sent", Event.REQUEST_SESSION_LOCK)
    assert lock.payload == request and "ack_id" in lock.meta
    [locked] = _of(trace, "ide1", "ack", Event.REQUEST_SESSION_LOCK)
    assert locked.ack == {"ok": True} and locked.meta["sent_seq"] == lock.seq
    [asked] = _of(trace, "drone1", "received", Event.REQUEST_SESSION_LOCK)
    assert asked.meta["wants_ack"] is True
    [agreed] = _of(trace, "drone1", "acked", Event.REQUEST_SESSION_LOCK)
    assert agreed.ack is True and agreed.meta["received_seq"] == asked.seq
    # The IDE's side of the stream is what the IDE itself saw, in the same order.
    streamed = (*STREAM_EVENTS, Event.WORK_ORDER_COMPLETE)
    seen = [(m.event, m.payload) for m in history.messages
            if m.actor == "i" and m.direction == "received" and m.event in streamed]
    recorded = [(m.event, m.payload) for m in _of(trace, "ide1", "received")
                if m.event in streamed]
    assert recorded == seen and len(seen) == 7
    assert [p["seq"] for _, p in recorded] == list(range(7))
    [post] = _of(trace, "http", "sent")
    assert post.event == f"POST {Route.TERMINATE.format(id=request['registrationId'])}"
    assert post.meta["auth"].startswith("<redacted:")
    [got] = _of(trace, "http", "received")
    assert got.meta["status"] == 200 and got.meta["sent_seq"] == post.seq
    assert got.payload == {"ok": True, "terminated": True}
    assert _of(trace, "drone1", "acked", Event.REQUEST_TERMINATION)[0].ack is True
    assert _of(trace, "drone1", "disconnect")
    text = out.read_text(encoding="utf-8")
    for secret in (world.users[0].token, world.drones[0].token):
        assert secret not in text


async def test_polling_then_upgrade_is_one_actor(relay_env: LocalEnvironment, world: World,
                                                 tmp_path: Path) -> None:
    out = tmp_path / "upgrade.jsonl"
    async with Recorder(upstream=relay_env.relay_url, out=out) as rec:
        client = socketio.AsyncClient(reconnection=False)
        try:
            await client.connect(rec.url, auth={"type": "code", "token": world.users[0].token},
                                 transports=["polling", "websocket"], wait_timeout=WAIT)
            assert client.transport() == "websocket"
            answer = await client.call(Event.OPEN_CHAT_SESSION,
                                       {"chatSessionId": world.chat_sessions[0].id},
                                       timeout=WAIT)
            assert answer == {"ok": True}
        finally:
            await client.disconnect()
    trace = read_trace(out)
    assert set(trace.actors) == {"ide1"}
    directions = [m.direction for m in trace.messages]
    assert directions[:4] == ["note", "connect", "sent", "ack"], directions
    assert trace.messages[0].event == "upgrade"
    assert trace.messages[3].ack == {"ok": True}
    assert directions[-1] == "disconnect"
    assert world.users[0].token not in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_binary_attachments_and_many_arguments(tmp_path: Path, transport: str) -> None:
    out = tmp_path / "binary.jsonl"
    async with raw_server() as (url, _sio), Recorder(upstream=url, out=out) as rec:
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(rec.url, auth={"type": "drone", "token": "s3cret-raw-token"},
                             transports=[transport], wait_timeout=WAIT)
        try:
            got = await client.call("echo", (b"\x00\xffraw", {"k": 1}), timeout=WAIT)
            assert got == [b"\x00\xffraw", {"k": 1}]
        finally:
            await client.eio.disconnect(abort=True)
    trace = read_trace(out)
    [sent] = _of(trace, "drone1", "sent", "echo")
    binary = {"_binary": 5, "base64": "AP9yYXc="}
    assert sent.payload == [binary, {"k": 1}] and sent.meta["args"] == 2
    [ack] = _of(trace, "drone1", "ack", "echo")
    assert ack.ack == [binary, {"k": 1}] and ack.meta["sent_seq"] == sent.seq
    assert "s3cret-raw-token" not in out.read_text(encoding="utf-8")


async def test_upstream_down_then_back(tmp_path: Path) -> None:
    out = tmp_path / "down.jsonl"
    port = free_port()
    notices: list[str] = []
    async with Recorder(upstream=f"http://127.0.0.1:{port}", out=out,
                        on_notice=notices.append) as rec:
        for transports in (["websocket"], ["polling"], ["websocket"]):
            client = socketio.AsyncClient(reconnection=False)
            with pytest.raises(socketio.exceptions.ConnectionError):
                await client.connect(rec.url, auth={"token": "s3cret-raw-token"},
                                     transports=transports, wait_timeout=5)
            if client.eio.http is not None:  # a failed connect leaves its session open
                await client.eio.http.close()
        async with aiohttp.ClientSession() as session, \
                session.get(rec.url + "/healthz") as answer:
            assert answer.status == 502
        async with raw_server(port):
            client = socketio.AsyncClient(reconnection=False)
            await client.connect(rec.url, auth={"token": "s3cret-raw-token"},
                                 transports=["websocket"], wait_timeout=WAIT)
            assert await client.call("echo", "back", timeout=WAIT) == ["back"]
            await client.disconnect()
    trace = read_trace(out)
    errors = [m for m in trace.messages if m.event == "upstream-error"]
    assert len(errors) == 1 and errors[0].direction == "note"
    assert any("answers again" in n for n in notices)
    assert _of(trace, "client1", "ack", "echo")[0].ack == ["back"]


async def test_command_records_until_sigterm_and_show_prints_it(tmp_path: Path) -> None:
    out = tmp_path / "cli.jsonl"
    async with raw_server() as (url, _sio):
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "harness.cli", "record", "--listen", "127.0.0.1:0",
            "--upstream", url, "--out", str(out), cwd=REPO,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            assert process.stdout is not None
            first = (await asyncio.wait_for(process.stdout.readline(), WAIT)).decode()
            assert first.startswith("recording: listening on http://127.0.0.1:"), first
            listen = first.split("listening on ")[1].split(",")[0]
            client = socketio.AsyncClient(reconnection=False)
            await client.connect(listen, auth={"type": "code", "token": "s3cret-raw-token"},
                                 transports=["websocket"], wait_timeout=WAIT)
            assert await client.call("echo", {"a": 1}, timeout=WAIT) == [{"a": 1}]
            await client.disconnect()
            process.send_signal(signal.SIGTERM)
            stdout, stderr = await asyncio.wait_for(process.communicate(), WAIT)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert process.returncode == 0, stderr.decode()
    text = stdout.decode()
    assert "sent" in text and "echo" in text and "recorded " in text and "1 ide" in text
    assert "Traceback" not in stderr.decode()
    trace = read_trace(out)
    assert trace.header["messages"] == len(trace.messages) and trace.header["duration"] > 0
    shown = await asyncio.to_thread(run_harness, "show", str(out), "--no-color")
    assert shown.returncode == 0, shown.stderr
    assert "RECORDED recording" in shown.stdout and "echo" in shown.stdout
    assert "ide1" in shown.stdout and "✗" not in shown.stdout  # a recording is no failure


@pytest.mark.parametrize(("args", "expected"), [
    (["--listen", "nowhere", "--upstream", "http://127.0.0.1:1"],
     "error: --listen 'nowhere': expected HOST:PORT"),
    (["--upstream", "ftp://relay"], "error: --upstream 'ftp://relay': expected an http(s) URL"),
])
def test_command_refuses_bad_input_in_one_line(tmp_path: Path, args: list[str],
                                               expected: str) -> None:
    done = run_harness("record", *args, "--out", str(tmp_path / "x.jsonl"), timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == expected


def test_command_refuses_an_unwritable_out() -> None:
    done = run_harness("record", "--upstream", "http://127.0.0.1:1", "--out",
                       "/nonexistent-folder/x.jsonl", timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: --out /nonexistent-folder/x.jsonl:")
