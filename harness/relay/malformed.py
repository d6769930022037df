"""Input that is not the protocol at all: closed or refused in one log line, no traceback.

Socket.IO: python-socketio decodes each engine.io message in
``AsyncServer._handle_eio_message`` and raises ``ValueError`` (``json.JSONDecodeError``
included) or ``TypeError`` for one it cannot read: ``42[`` from a hostile client, or the
CONNECT packet of an ``auth`` that is a fraction (``0`` + ``1.5`` reads as packet id 1 and
the JSON ``.5``). python-engineio logged a traceback per packet and the client waited for
an answer that never came. A CONNECT packet of the default namespace that does not decode
is a bad ``auth`` payload: refused with ``connect_error`` (``auth-invalid``, contract
section 3). Any other packet that does not decode closes the connection, as the reference
Socket.IO server (JavaScript) does on a parse error (``close_on_malformed_packets``), in a
background task: a polling client collects the close with its next GET, which the POST
that carried the packet must not wait for.

Engine.IO: python-engineio decodes a websocket text frame without a guard, so an empty
frame or one whose type is not 0-6 (``x``, ``9``) escaped as a traceback;
``close_on_malformed_frames`` treats such a frame as the client closing the connection. A
polling POST for a session that the server is closing raised ``KeyError`` out of
``handle_request`` (500, traceback); ``answer_closing_sessions`` answers it 400 like any
unknown session.

Below that, python-engineio and aiohttp answer garbage themselves (a polling body that is
not engine.io framing: 200 and ignored; a request that is not HTTP: 400) but log each with
a traceback at ERROR; ``OneLineClientErrors`` turns those records into one INFO line.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

import engineio
import socketio
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from socketio import packet
from socketio.exceptions import ConnectionRefusedError as SocketRefused

__all__ = ["OneLineClientErrors", "answer_closing_sessions", "close_on_malformed_frames",
           "close_on_malformed_packets"]

logger = logging.getLogger(__name__)

ERROR_TEXT_LIMIT: Final = 200  # characters of a decoder's complaint kept in a log line
CLOSE_TIMEOUT: Final = 5.0  # the longest a close waits for a polling client to collect it
AIOHTTP_SERVER_LOGGER: Final = "aiohttp.server"
ENGINEIO_SERVER_LOGGER: Final = "engineio.server"
ENGINEIO_POST_ERROR: Final = "post request handler error"
ENGINEIO_PACKET_TYPES: Final = "0123456"  # OPEN CLOSE PING PONG MESSAGE UPGRADE NOOP
ENGINEIO_SESSION_GONE: Final = ("Session is disconnected", "Session not found")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:ERROR_TEXT_LIMIT]


def _default_namespace_connect(data: Any) -> bool:
    """True when ``data`` is a CONNECT packet of the namespace ``/`` (``0`` then no ``/``)."""
    return isinstance(data, str) and data[:1] == str(packet.CONNECT) and data[1:2] != "/"


def close_on_malformed_packets(sio: socketio.AsyncServer,
                               connect_refusal: tuple[str, Any]) -> None:
    """Make ``sio`` refuse a malformed CONNECT of ``/`` with ``connect_refusal`` (the
    ``connect_error`` message and data) and close the engine.io session of a client that
    sends any other malformed packet; what that session sends meanwhile is dropped."""
    dispatch: Callable[[str, Any], Awaitable[None]] = sio._handle_eio_message
    closing: dict[str, asyncio.Task[None]] = {}
    refusal = packet.Packet(packet.CONNECT_ERROR, data=SocketRefused(*connect_refusal)
                            .error_args, namespace="/").encode()

    async def close(eio_sid: str) -> None:
        try:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await sio.eio.disconnect(eio_sid)
        finally:
            closing.pop(eio_sid, None)

    async def on_message(eio_sid: str, data: Any) -> None:
        if eio_sid in closing:
            return
        try:
            await dispatch(eio_sid, data)
        except (ValueError, TypeError) as exc:
            if _default_namespace_connect(data):
                logger.info("refused engine.io session %s: malformed CONNECT packet (%s: %s)",
                            eio_sid, type(exc).__name__, _one_line(exc))
                await sio.eio.send(eio_sid, refusal)
                return
            logger.info("closing engine.io session %s: malformed Socket.IO packet (%s: %s)",
                        eio_sid, type(exc).__name__, _one_line(exc))
            closing[eio_sid] = asyncio.get_running_loop().create_task(close(eio_sid))

    sio.eio.on("message", on_message)


def _engineio_text_frame(data: str) -> bool:
    """True when python-engineio can decode ``data`` (a websocket text frame)."""
    if not data:
        return False
    if data[0] == "b":  # a base64 binary message
        try:
            base64.b64decode(data[1:], validate=True)
        except (binascii.Error, ValueError):
            return False
        return True
    return data[0] in ENGINEIO_PACKET_TYPES


def close_on_malformed_frames(eio: engineio.AsyncServer) -> None:
    """Make ``eio`` (on the aiohttp driver) close a websocket that sends a text frame it
    cannot decode, as if the client had closed it."""
    drivers: dict[str, Any] = dict(eio._async)  # the driver's table is shared: copy it
    driver: type[Any] = drivers["websocket"]

    class CheckedWebSocket(driver):  # type: ignore[misc]
        async def wait(self) -> Any:
            data = await super().wait()
            if isinstance(data, str) and not _engineio_text_frame(data):
                logger.info("closing a websocket: malformed engine.io frame %r",
                            data[:ERROR_TEXT_LIMIT])
                return None  # what python-engineio reads as the client closing
            return data

    drivers["websocket"] = CheckedWebSocket
    eio._async = drivers


def answer_closing_sessions(eio: engineio.AsyncServer) -> None:
    """Make ``eio`` answer a request for a session it is closing 400, not 500.

    Call before ``attach``: the route takes ``eio.handle_request`` as it is then.
    """
    handle: Callable[..., Awaitable[web.StreamResponse]] = eio.handle_request

    async def handle_request(request: web.Request) -> web.StreamResponse:
        try:
            return await handle(request)
        except KeyError as exc:
            if exc.args[:1] and exc.args[0] in ENGINEIO_SESSION_GONE:
                logger.info("%s %s: engine.io session gone (%s)", request.method,
                            request.path, exc.args[0])
                return web.Response(status=400, text=json.dumps(exc.args[0]),
                                    content_type="application/json")
            raise

    eio.handle_request = handle_request


class OneLineClientErrors(logging.Filter):
    """A client's garbage, logged by aiohttp or python-engineio with a traceback, becomes
    one INFO line: on ``aiohttp.server`` a request its HTTP parser refused
    (``HttpProcessingError``, answered 400); on ``engineio.server`` a polling body that does
    not decode. Every other record, any handler's crash included, passes unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            remote = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
            self._one_line(record, "refused a malformed HTTP request from %s: %r",
                           (remote, " ".join(str(exc.message).split())[:ERROR_TEXT_LIMIT]))
        elif isinstance(exc, ValueError | TypeError) and record.msg == ENGINEIO_POST_ERROR:
            self._one_line(record, "ignored a malformed engine.io polling body (%s: %r)",
                           (type(exc).__name__, _one_line(exc)))
        return True

    @staticmethod
    def _one_line(record: logging.LogRecord, msg: str, args: tuple[object, ...]) -> None:
        record.msg, record.args = msg, args
        record.levelno, record.levelname = logging.INFO, logging.getLevelName(logging.INFO)
        record.exc_info = record.exc_text = None

    @classmethod
    def install(cls) -> None:
        """Add the filter to ``aiohttp.server`` and ``engineio.server``, once per process."""
        for name in (AIOHTTP_SERVER_LOGGER, ENGINEIO_SERVER_LOGGER):
            target = logging.getLogger(name)
            if not any(isinstance(f, cls) for f in target.filters):
                target.addFilter(cls())
