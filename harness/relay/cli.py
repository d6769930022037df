"""``harness relay``: run the reference relay until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import tempfile
from pathlib import Path
from typing import Any

import click

from harness.cli_options import relay_options, relay_settings_from
from harness.relay.app import Relay
from harness.settings import RelaySettings
from harness.uri import check_mongo_uri

__all__ = ["relay_command", "serve", "write_port_file"]

logger = logging.getLogger(__name__)


def write_port_file(path: Path, port: int) -> None:
    """Write ``port`` to ``path`` atomically (a reader never sees a partial file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{port}\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


async def serve(settings: RelaySettings, port_file: Path | None = None) -> None:
    """Start a relay, write its port to ``port_file``, and run until SIGINT or SIGTERM.

    Raises ``DatabaseError`` when the database is unreachable at start-up.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    relay = Relay(settings)
    try:
        port = await relay.start()
        if port_file is not None:
            await asyncio.to_thread(write_port_file, port_file, port)
        await stop.wait()
        logger.info("relay stopping")
    finally:
        await relay.stop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


@click.command("relay")
@relay_options
@click.option("--port-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              hidden=True, help="After binding, write the bound port to this file.")
def relay_command(port_file: Path | None, **params: Any) -> None:
    """Run the reference Gadget relay (Socket.IO + HTTP API) on HOST:PORT."""
    settings = relay_settings_from(params)
    check_mongo_uri(settings.mongo_uri)  # one line, exit 2, before anything starts
    logging.basicConfig(level=settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Third-party debug output (every command and packet) would drown the relay's own.
    for noisy in ("pymongo", "aiohttp.access", "socketio", "engineio"):
        logging.getLogger(noisy).setLevel(max(logging.INFO, logging.getLogger().level))
    asyncio.run(serve(settings, port_file))
