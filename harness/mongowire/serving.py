"""Run the MongoDB stand-in until SIGTERM or SIGINT (what ``harness mongo-standin`` does)."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from pathlib import Path

from harness.errors import EnvError
from harness.host import write_port_file
from harness.mongowire.server import StandInServer

__all__ = ["run_until_signalled"]

logger = logging.getLogger(__name__)


async def run_until_signalled(host: str, port: int, port_file: Path | None,
                              fd: int | None = None) -> None:
    """Serve on ``host``:``port`` (or on the listening socket ``fd``, inherited from the
    process that started this one) until SIGTERM or SIGINT; raises ``EnvError`` if it cannot
    bind."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        sock = socket.socket(fileno=fd) if fd is not None else None
        server = await StandInServer(host, port).start(sock)
    except OSError as exc:
        where = f"inherited socket {fd}" if fd is not None else f"{host}:{port}"
        raise EnvError(f"MongoDB stand-in cannot listen on {where}: {exc}") from exc
    try:
        if port_file is not None:
            write_port_file(port_file, server.port)
        await stop.wait()
        logger.info("signal received, shutting down")
    finally:
        await server.close()
