"""``harness mongo-standin`` / ``python -m harness.mongowire``: run the stand-in until signalled."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import click

from harness.commands.options import log_level_option
from harness.mongowire.serving import run_until_signalled

__all__ = ["mongowire_command"]


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
@click.option(
    "--fd",
    type=click.IntRange(0),
    default=None,
    help="Serve on this inherited file descriptor, a socket already listening (what the "
    "harness does, so it knows the port before this process is up); --host and --port "
    "are then ignored.",
)
@log_level_option
def mongowire_command(host: str, port: int, port_file: Path | None, fd: int | None,
                      log_level: str) -> None:
    """Run the MongoDB wire-protocol stand-in (in-memory, backed by mongomock)."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    asyncio.run(run_until_signalled(host, port, port_file, fd))
