"""``python -m harness.mongowire`` / ``harness mongo-standin``: run the stand-in until signalled."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

import click

from harness.cli_options import log_level_option
from harness.errors import EnvError
from harness.mongowire.server import StandInServer

logger = logging.getLogger(__name__)


def write_port_file(path: Path, port: int) -> None:
    """Write ``port`` to ``path`` atomically (temp file + rename), so readers never see half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(f"{port}\n", encoding="utf-8")
    os.replace(tmp, path)


async def run_until_signalled(host: str, port: int, port_file: Path | None) -> None:
    """Serve on ``host``:``port`` until SIGTERM or SIGINT; raises ``EnvError`` if it cannot bind."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        server = await StandInServer(host, port).start()
    except OSError as exc:
        raise EnvError(f"MongoDB stand-in cannot listen on {host}:{port}: {exc}") from exc
    try:
        if port_file is not None:
            write_port_file(port_file, server.port)
        await stop.wait()
        logger.info("signal received, shutting down")
    finally:
        await server.close()


@click.command("mongo-standin")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port",
    default=0,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0 picks a free one).",
)
@click.option(
    "--port-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the bound port number to this file once listening.",
)
@log_level_option
def mongowire_command(host: str, port: int, port_file: Path | None, log_level: str) -> None:
    """Run the MongoDB wire-protocol stand-in (in-memory, backed by mongomock)."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    asyncio.run(run_until_signalled(host, port, port_file))


__all__ = ["mongowire_command", "run_until_signalled", "write_port_file"]
