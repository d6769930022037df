"""The asyncio TCP server: read wire messages, run their commands, write the replies.

All commands run on the one event loop, one at a time and without awaiting in between, so
each command (findAndModify included) is atomic, as in MongoDB.

A connection may stay idle between messages for as long as the client likes (drivers pool
them), but once a message has started, all of it must arrive within ``message_timeout``
seconds (``MESSAGE_READ_TIMEOUT``); a client that stalls inside a message is disconnected,
so it cannot pin a connection forever. The server binds loopback unless told otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Generator
from types import TracebackType
from typing import Any, Final

from harness.mongowire import idlookup, wire
from harness.mongowire.codes import FAILED_TO_PARSE, CommandError
from harness.mongowire.commands import run_command
from harness.mongowire.state import Call, ServerState

logger = logging.getLogger(__name__)

Document = dict[str, Any]

_HANDSHAKE_NAMES = ("hello", "isMaster", "ismaster")

MESSAGE_READ_TIMEOUT: Final = 30.0
"""Seconds a client has to send the rest of a message once its first byte has arrived."""


class StandInServer:
    """A MongoDB wire-protocol server backed by mongomock. Start with ``await`` or ``async with``.

    ``port`` is the bound port (useful with port 0). ``close()`` stops listening and closes
    every client connection. ``message_timeout``: see the module docstring.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *,
                 message_timeout: float = MESSAGE_READ_TIMEOUT) -> None:
        if message_timeout <= 0:
            raise ValueError(f"message_timeout must be > 0, got {message_timeout!r}")
        self.host = host
        self._requested_port = port
        self.message_timeout = message_timeout
        idlookup.install()
        self.state = ServerState()
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._request_ids = itertools.count(1)
        self._connection_ids = itertools.count(1)

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            raise RuntimeError("the stand-in server is not started")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def uri(self) -> str:
        return f"mongodb://{self.host}:{self.port}/"

    async def start(self) -> StandInServer:
        """Bind and start accepting connections; raises ``OSError`` if the port is taken."""
        if self._server is None:
            self._server = await asyncio.start_server(
                self._on_connection, self.host, self._requested_port
            )
            logger.info("MongoDB stand-in listening on %s:%d", self.host, self.port)
        return self

    async def serve_forever(self) -> None:
        await self.start()
        assert self._server is not None
        await self._server.serve_forever()

    async def close(self) -> None:
        """Stop listening and close every connection (idempotent)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if server is not None:
            await server.wait_closed()
            logger.info("MongoDB stand-in closed")

    def __await__(self) -> Generator[Any, None, StandInServer]:
        return self.start().__await__()

    async def __aenter__(self) -> StandInServer:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        connection_id = next(self._connection_ids)
        peer = writer.get_extra_info("peername")
        self.state.connections_current += 1
        self.state.connections_total += 1
        logger.debug("connection %d from %s", connection_id, peer)
        try:
            await self._serve_connection(reader, writer, connection_id)
        except wire.WireError as exc:
            logger.warning("closing connection %d from %s: %s", connection_id, peer, exc)
        except (asyncio.IncompleteReadError, ConnectionError):
            logger.debug("connection %d closed by peer", connection_id)
        except asyncio.CancelledError:
            pass
        finally:
            self.state.connections_current -= 1
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, connection_id: int
    ) -> None:
        while True:
            first = await reader.read(1)  # idle between messages: no time limit
            if not first:
                return  # clean close between messages
            try:
                async with asyncio.timeout(self.message_timeout):
                    header, payload = await self._read_message(reader, first)
            except TimeoutError:
                raise wire.WireError(f"message incomplete after {self.message_timeout:g} s"
                                     ) from None
            reply = self._handle(header, payload, connection_id)
            if reply is not None:
                writer.write(reply)
                await writer.drain()
            else:
                await asyncio.sleep(0)  # let other connections in between fire-and-forget writes

    @staticmethod
    async def _read_message(reader: asyncio.StreamReader, first: bytes
                            ) -> tuple[wire.Header, bytes]:
        """The rest of the message whose first byte was ``first``."""
        try:
            raw_header = first + await reader.readexactly(wire.HEADER_SIZE - len(first))
        except asyncio.IncompleteReadError as exc:
            raise wire.WireError("connection closed inside a message header") from exc
        header = wire.decode_header(raw_header)
        payload = await reader.readexactly(header.message_length - wire.HEADER_SIZE)
        return header, payload

    def _handle(self, header: wire.Header, payload: bytes, connection_id: int) -> bytes | None:
        if header.op_code == wire.OP_MSG:
            message = wire.decode_op_msg(payload)
            reply = self._run(message.command(), None, connection_id)
            if message.more_to_come:
                return None
            return wire.encode_op_msg(reply, next(self._request_ids), header.request_id)
        if header.op_code == wire.OP_QUERY:
            query = wire.decode_op_query(payload)
            db, _, collection = query.full_collection_name.partition(".")
            command = query.query
            # Drivers may wrap the command as {$query: {...}, $readPreference: ...}.
            if "$query" in command and isinstance(command["$query"], dict):
                command = command["$query"]
            if collection != "$cmd" or not command or next(iter(command)) not in _HANDSHAKE_NAMES:
                answer = CommandError(
                    FAILED_TO_PARSE, "OP_QUERY is only supported for the handshake (hello)"
                ).reply()
            else:
                answer = self._run(command, db, connection_id)
            return wire.encode_op_reply([answer], next(self._request_ids), header.request_id)
        raise wire.WireError(f"unsupported opCode {header.op_code}")

    def _run(self, command: Document, db: str | None, connection_id: int) -> Document:
        if db is None:
            db_value = command.get("$db")
            if not isinstance(db_value, str) or not db_value:
                return CommandError(40571, "OP_MSG requests require a $db argument").reply()
            db = db_value
        return run_command(Call(self.state, db, connection_id), command)


def serve(host: str = "127.0.0.1", port: int = 0, *,
          message_timeout: float = MESSAGE_READ_TIMEOUT) -> StandInServer:
    """A stand-in server on ``host``:``port`` (0 picks a free port).

    Use ``server = await serve()`` (then ``await server.close()``) or
    ``async with serve() as server:``. Binding raises ``OSError``.
    """
    return StandInServer(host, port, message_timeout=message_timeout)


__all__ = ["MESSAGE_READ_TIMEOUT", "StandInServer", "serve"]
