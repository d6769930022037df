"""The ceiling of this stack: a minimal python-socketio server that forwards like the relay.

No database, no ownership checks, no validation: an IDE joins a room per chat session it
opens, a lock and a prompt are forwarded to the drone by registration id (the drone's ack
is awaited, like the relay does), and every stream event goes to the chat session's room
with ``registrationId`` added. The same simulated clients drive it as drive the relay, so
the ratio of the two throughputs is the relay's cost over the bare transport.

    python -m harness.bench.forwarder --port-file PATH   # binds 127.0.0.1 on a free port
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import signal
from pathlib import Path
from typing import Any

import socketio
from aiohttp import web

from harness.protocol import FORWARDED_DRONE_EVENTS, SOCKETIO_PATH, Event, error, ok

__all__ = ["build_forwarder", "main"]

_ACK_TIMEOUT = 5.0


def build_forwarder() -> tuple[socketio.AsyncServer, web.Application]:
    """The forwarding server and the aiohttp app it is attached to."""
    sio = socketio.AsyncServer(async_mode="aiohttp", logger=False, engineio_logger=False)
    drones: dict[str, str] = {}  # registration id -> sid

    @sio.event  # type: ignore[untyped-decorator]
    async def connect(sid: str, environ: Any, auth: Any) -> None:
        if isinstance(auth, dict) and auth.get("type") == "drone":
            registration = str(auth.get("registrationId"))
            await sio.save_session(sid, {"registration": registration})
            drones[registration] = sid

    @sio.event  # type: ignore[untyped-decorator]
    async def disconnect(sid: str, *args: Any) -> None:
        session = await sio.get_session(sid)
        registration = session.get("registration")
        if registration is not None and drones.get(registration) == sid:
            del drones[registration]

    async def ask(registration: Any, event: str, payload: dict[str, Any]) -> bool:
        sid = drones.get(str(registration))
        if sid is None:
            return False
        try:
            answer = await sio.call(event, payload, to=sid, timeout=_ACK_TIMEOUT)
        except (TimeoutError, socketio.exceptions.TimeoutError):
            return False
        return answer is True

    @sio.on(Event.OPEN_CHAT_SESSION)  # type: ignore[untyped-decorator]
    async def open_chat(sid: str, data: Any) -> dict[str, object]:
        await sio.enter_room(sid, str(data.get("chatSessionId")))
        return ok()

    @sio.on(Event.REQUEST_SESSION_LOCK)  # type: ignore[untyped-decorator]
    async def lock(sid: str, data: Any) -> dict[str, object]:
        chat = data.get("chatSessionId")
        if await ask(data.get("registrationId"), Event.REQUEST_SESSION_LOCK,
                     {"chatSessionId": chat, "projectId": None}):
            return ok()
        return error("drone-rejected", "the drone did not accept the lock")

    @sio.on(Event.RELEASE_SESSION_LOCK)  # type: ignore[untyped-decorator]
    async def release(sid: str, data: Any) -> dict[str, object]:
        return ok()

    @sio.on(Event.SUBMIT_PROMPT)  # type: ignore[untyped-decorator]
    async def submit(sid: str, data: Any) -> dict[str, object]:
        work_order = secrets.token_hex(12)
        payload = {"workOrderId": work_order, "chatSessionId": data.get("chatSessionId"),
                   "prompt": data.get("prompt")}
        if await ask(data.get("registrationId"), Event.SUBMIT_PROMPT, payload):
            return ok(workOrderId=work_order)
        return error("drone-rejected", "the drone did not accept the prompt")

    def forwarder(event: str) -> Any:
        async def forward(sid: str, data: Any) -> None:
            session = await sio.get_session(sid)
            await sio.emit(event, {**data, "registrationId": session.get("registration")},
                           room=str(data.get("chatSessionId")))

        return forward

    for event in FORWARDED_DRONE_EVENTS:
        sio.on(event, forwarder(event))
    app = web.Application()
    sio.attach(app, socketio_path=SOCKETIO_PATH.strip("/"))
    return sio, app


async def _serve(port_file: Path) -> None:
    _, app = build_forwarder()
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = int(runner.addresses[0][1])
    tmp = port_file.with_suffix(".tmp")
    tmp.write_text(str(port))
    tmp.replace(port_file)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stopped.set)
    await stopped.wait()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    """Serve until SIGINT/SIGTERM, after writing the bound port to ``--port-file``."""
    parser = argparse.ArgumentParser(prog="python -m harness.bench.forwarder")
    parser.add_argument("--port-file", type=Path, required=True)
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.port_file))


if __name__ == "__main__":
    main()
