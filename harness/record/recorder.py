"""``Recorder``: a recording reverse proxy between Socket.IO clients and a relay.

An aiohttp server forwards every request to the upstream relay through one aiohttp
``ClientSession`` (no cookie jar: cookies pass as headers, per client). A websocket
upgrade opens the upstream websocket first, then accepts the client's and pumps both ways;
any other request is read whole, forwarded and answered with the relay's status, headers
and body. On the way, Engine.IO traffic under the Socket.IO path is decoded
(``EngineSession``) and every other call is recorded as an HTTP message; everything goes
to a ``Journal`` that writes the trace as it goes. See docs/record.md.

    async with Recorder(upstream="http://127.0.0.1:8080", out=path) as rec:
        ...  # clients connect to rec.url
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from harness.errors import ConfigError
from harness.record.decode import EngineSession
from harness.record.forward import (
    body_json,
    body_text,
    pump,
    request_headers,
    response_headers,
    websocket_headers,
)
from harness.record.journal import (
    HTTP_ACTOR,
    RECORDER_ACTOR,
    Journal,
    RecordingInfo,
    rewrite_header,
)
from harness.record.redact import PAYLOAD_MODES, PayloadMode, Redactor, Shaper
from harness.sim.history import Message

__all__ = ["Recorder", "check_upstream"]

log = logging.getLogger(__name__)

_MAX_BODY = 256 * 1024 * 1024
_SWEEP_EVERY = 1.0
_POLL_GRACE = 2.0  # seconds past the ping deadline before a silent poller counts as gone
_UPSTREAM_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=10.0)


def check_upstream(upstream: str) -> str:
    """``upstream`` without a trailing slash; raises ``ConfigError`` unless an http(s) URL."""
    parts = urlsplit(upstream)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"--upstream {upstream!r}: expected an http(s) URL")
    return upstream.rstrip("/")


class Recorder:
    """The recording proxy; an async context manager. ``url`` is where clients connect.

    ``listen`` port 0 picks a free port. ``on_message`` sees every recorded message,
    ``on_notice`` every line worth telling the user (upstream down, back). Raises
    ``ConfigError`` for a bad ``upstream``, ``payloads`` or an ``out`` it cannot write.
    """

    def __init__(self, *, upstream: str, out: Path,
                 listen: tuple[str, int] = ("127.0.0.1", 0), payloads: PayloadMode = "full",
                 max_chars: int = 200, socketio_path: str = "/socket.io",
                 on_message: Callable[[Message], None] | None = None,
                 on_notice: Callable[[str], None] | None = None) -> None:
        if payloads not in PAYLOAD_MODES:
            raise ConfigError(f"--payloads {payloads!r}: expected one of "
                              f"{', '.join(PAYLOAD_MODES)}")
        if max_chars < 1:
            raise ConfigError(f"--max-chars {max_chars}: expected at least 1")
        self.upstream = check_upstream(upstream)
        self.out = out
        self.listen = listen
        self.payloads: PayloadMode = payloads
        self.max_chars = max_chars
        self.socketio_path = "/" + socketio_path.strip("/")
        self._on_message = on_message
        self._on_notice = on_notice
        self._redactor = Redactor()
        self._file: TextIO | None = None
        self.journal: Journal | None = None
        self._info: RecordingInfo | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._polling: dict[str, EngineSession] = {}
        self._live: set[EngineSession] = set()
        self._inflight: dict[EngineSession, int] = {}
        self._last_seen: dict[EngineSession, float] = {}
        self._sockets: set[web.WebSocketResponse] = set()
        self._upstream_down = False
        self._stopping = False
        self.url = ""

    # --- lifecycle -----------------------------------------------------------------------

    async def __aenter__(self) -> Recorder:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Open the trace file (header written), bind, and start forwarding."""
        try:
            self._file = self.out.open("w", encoding="utf-8", buffering=1)
        except OSError as exc:
            raise ConfigError(f"--out {self.out}: cannot write: "
                              f"{exc.strerror or exc}") from exc
        self.journal = Journal(self._file, redactor=self._redactor,
                               shaper=Shaper(self.payloads, self.max_chars),
                               on_message=self._on_message)
        app = web.Application(client_max_size=_MAX_BODY)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        host, port = self.listen
        site = web.TCPSite(self._runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            self._file.close()
            raise ConfigError(f"--listen {host}:{port}: cannot listen: "
                              f"{exc.strerror or exc}") from exc
        bound = self._runner.addresses[0]
        self.url = f"http://{host}:{bound[1]}"
        self._info = RecordingInfo(self._redactor.url(self.upstream), f"{host}:{bound[1]}",
                                   self.payloads, self.max_chars, self.socketio_path)
        self._file.write(_line(self.journal.header(self._info)))
        self._file.flush()
        self._session = aiohttp.ClientSession(
            timeout=_UPSTREAM_TIMEOUT, auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar())
        self._sweeper = asyncio.create_task(self._sweep())

    async def stop(self) -> None:
        """Close every connection, end every open session, write the final header."""
        if self._stopping or self.journal is None:
            return
        self._stopping = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        for ws in list(self._sockets):
            await ws.close(code=1001, message=b"recorder stopping")
        if self._session is not None:
            await self._session.close()  # ends long-held polls still waiting upstream
        if self._runner is not None:
            await self._runner.cleanup()
        for session in list(self._live):
            session.transport_closed("still open when the recording stopped")
        if self._file is not None:
            self._file.close()
        if self._info is not None:
            rewrite_header(self.out, self.journal.header(self._info, final=True))

    # --- requests --------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        under_sio = path == self.socketio_path or path.startswith(self.socketio_path + "/")
        if under_sio and request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._websocket(request)
        if under_sio:
            return await self._polling_request(request)
        return await self._http(request)

    async def _forward(self, request: web.Request,
                       body: bytes) -> tuple[int, Any, bytes] | web.Response:
        """Send ``request`` upstream; (status, headers, body), or a 502 when unreachable."""
        assert self._session is not None
        try:
            async with self._session.request(
                    request.method, self.upstream + request.path_qs, data=body or None,
                    headers=request_headers(request.headers), allow_redirects=False) as answer:
                raw = await answer.read()
                self._upstream_ok()
                return answer.status, answer.headers, raw
        except (aiohttp.ClientConnectionError, OSError) as exc:
            self._upstream_error(exc)
            return web.json_response(
                {"ok": False, "error": "upstream-unreachable",
                 "message": f"the recorder could not reach {self._redactor.url(self.upstream)}"},
                status=502)

    async def _http(self, request: web.Request) -> web.StreamResponse:
        assert self.journal is not None
        body = await request.read()
        event = f"{request.method} {self._redactor.path_qs(request.path_qs)}"
        meta: dict[str, Any] = {"headers": self._redactor.headers(
            request_headers(request.headers).items())}
        authorization = request.headers.get("Authorization")
        if authorization:
            meta["auth"] = str(self._redactor.secret(authorization)).rpartition(" ")[2]
        sent = self.journal.record(HTTP_ACTOR, "http", "sent", event,
                                   body_json(body, request.headers.get("Content-Encoding")),
                                   **meta)
        started = time.monotonic()
        answer = await self._forward(request, body)
        elapsed = round(time.monotonic() - started, 6)
        if isinstance(answer, web.Response):
            self.journal.record(HTTP_ACTOR, "http", "received", event, None, status=502,
                                elapsed=elapsed, sent_seq=sent.seq, upstream_error=True)
            return answer
        status, headers, raw = answer
        self.journal.record(HTTP_ACTOR, "http", "received", event,
                            body_json(raw, headers.get("Content-Encoding")), status=status,
                            elapsed=elapsed, sent_seq=sent.seq)
        return web.Response(status=status, headers=response_headers(headers), body=raw)

    async def _polling_request(self, request: web.Request) -> web.StreamResponse:
        assert self.journal is not None
        sid = request.query.get("sid")
        session = self._polling.get(sid) if sid else None
        if session is None and not sid and request.method == "GET":
            session = EngineSession(self.journal, transport="polling")
        body = await request.read()
        if session is not None:
            self._inflight[session] = self._inflight.get(session, 0) + 1
            self._last_seen[session] = time.monotonic()
            if request.method == "POST":
                session.client_payload(body_text(body, request.headers.get("Content-Encoding")))
        try:
            answer = await self._forward(request, body)
        finally:
            if session is not None:
                self._inflight[session] = self._inflight.get(session, 1) - 1
                self._last_seen[session] = time.monotonic()
        if isinstance(answer, web.Response):
            return answer
        status, headers, raw = answer
        if session is not None and request.method == "GET":
            if status == 200:
                session.server_payload(body_text(raw, headers.get("Content-Encoding")))
                if session.eio_sid and session.eio_sid not in self._polling:
                    self._polling[session.eio_sid] = session
                    self._live.add(session)
            elif sid and session.transport == "polling":
                session.transport_closed(f"polling GET answered {status}")
        self._forget_ended()
        return web.Response(status=status, headers=response_headers(headers), body=raw)

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        assert self.journal is not None and self._session is not None
        sid = request.query.get("sid")
        session = self._polling.get(sid) if sid else None
        if session is None:
            session = EngineSession(self.journal, transport="websocket", eio_sid=sid)
        protocols = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "")
                     .split(",") if p.strip()]
        try:
            upstream = await self._session.ws_connect(
                self.upstream + request.path_qs, headers=websocket_headers(request.headers),
                protocols=protocols, max_msg_size=0, autoping=True)
        except aiohttp.WSServerHandshakeError as exc:
            self._upstream_ok()
            return web.Response(status=exc.status, text=exc.message or "handshake refused")
        except (aiohttp.ClientConnectionError, OSError) as exc:
            self._upstream_error(exc)
            return web.Response(status=502, text="the recorder could not reach the relay")
        self._upstream_ok()
        client = web.WebSocketResponse(
            protocols=(upstream.protocol,) if upstream.protocol else (), max_msg_size=0)
        try:
            await client.prepare(request)
        except (ConnectionError, RuntimeError):
            await upstream.close()
            raise
        self._sockets.add(client)
        if session.transport == "websocket":
            self._live.add(session)
        try:
            detail = await pump(client, upstream,
                                from_client=lambda m: session.message(m, from_client=True),
                                from_upstream=lambda m: session.message(m, from_client=False))
        finally:
            self._sockets.discard(client)
            if not upstream.closed:
                await upstream.close()
        if session.transport == "websocket":
            session.transport_closed(detail)
        self._forget_ended()
        return client

    # --- upstream health, sweeping -----------------------------------------------------------

    def _upstream_error(self, exc: BaseException) -> None:
        if self._upstream_down or self._stopping or self.journal is None:
            return
        self._upstream_down = True
        text = f"cannot reach {self._redactor.url(self.upstream)}: {exc}".splitlines()[0]
        self.journal.record(RECORDER_ACTOR, "harness", "note", "upstream-error", text)
        if self._on_notice is not None:
            self._on_notice(f"upstream-error: {text}")

    def _upstream_ok(self) -> None:
        if self._upstream_down:
            self._upstream_down = False
            if self._on_notice is not None:
                self._on_notice(f"upstream {self._redactor.url(self.upstream)} answers again")

    def _forget_ended(self) -> None:
        for session in [s for s in {*self._live, *self._inflight} if s.ended]:
            self._live.discard(session)
            self._inflight.pop(session, None)
            self._last_seen.pop(session, None)
            if session.eio_sid:
                self._polling.pop(session.eio_sid, None)

    async def _sweep(self) -> None:
        """Every second: a polling session nobody has polled past its ping deadline is gone."""
        while True:
            await asyncio.sleep(_SWEEP_EVERY)
            now = time.monotonic()
            for session in list(self._live):
                if session.transport != "polling" or self._inflight.get(session, 0):
                    continue
                idle = now - self._last_seen.get(session, now)
                if idle > session.ping_timeout + _POLL_GRACE:
                    session.transport_closed(f"the client stopped polling ({idle:.0f} s)")
            self._forget_ended()



def _line(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False) + "\n"
