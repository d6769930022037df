"""``harness relay`` / ``python -m harness.relay``: run the reference relay until signalled."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from harness.commands.options import relay_options, relay_settings_from
from harness.relay.serving import run
from harness.uri import check_mongo_uri

__all__ = ["relay_command"]


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
    run(settings, port_file)
