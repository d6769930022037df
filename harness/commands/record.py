"""``harness record``: a recording reverse proxy in front of a relay (docs/record.md)."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path

import click

from harness.commands.options import log_level_option
from harness.errors import ConfigError
from harness.record import PAYLOAD_MODES, PayloadMode, Recorder, check_upstream
from harness.sim.history import Message

__all__ = ["record_command"]


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` -> (host, port); raises ``ConfigError`` naming ``--listen``."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"--listen {text!r}: expected HOST:PORT")
    return host, int(port)


def _check_out(out: Path) -> None:
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise ConfigError(f"--out {out}: folder {parent} does not exist")
    if out.is_dir():
        raise ConfigError(f"--out {out}: is a folder, expected a file")


def _line(message: Message) -> str:
    what = message.event
    if message.direction in ("ack", "acked"):
        what = f"ack {message.event}"
    elif message.kind == "http" and message.direction == "received":
        what = f"{message.meta.get('status')} {message.event}"
    return f"+{message.t:8.3f}s {message.actor:>8} {message.direction:<13} {what}"


async def _record(recorder: Recorder, quiet: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with recorder:
            click.echo(f"recording: listening on {recorder.url}, upstream {recorder.upstream}, "
                       f"writing {recorder.out} (Ctrl-C to stop)")
            await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    journal = recorder.journal
    if journal is not None:
        roles = ", ".join(f"{n} {r}" for r, n in journal.roles().items()) or "no clients"
        http = sum(1 for a in journal.actors.values() if a.kind == "http")
        click.echo(f"recorded {journal.count} messages ({roles}"
                   f"{', HTTP calls' if http else ''}) to {recorder.out}")


@click.command("record")
@click.option("--listen", default="127.0.0.1:8081", show_default=True, metavar="HOST:PORT",
              help="Where clients connect (port 0: any free port).")
@click.option("--upstream", required=True, metavar="URL", help="The relay, http(s)://HOST:PORT.")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="The trace file to write (JSON Lines; `harness show FILE`).")
@click.option("--payloads", type=click.Choice(PAYLOAD_MODES), default="full",
              show_default=True, help="Keep payloads, cut long strings, or hash strings.")
@click.option("--max-chars", type=int, default=200, show_default=True,
              help="With --payloads truncate: longest string kept.")
@click.option("--socketio-path", default="/socket.io", show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="No line per recorded message.")
@log_level_option
def record_command(listen: str, upstream: str, out: Path, payloads: PayloadMode,
                   max_chars: int, socketio_path: str, quiet: bool, log_level: str) -> None:
    """Forward clients to a relay unchanged, recording every Socket.IO event, ack, connect,
    disconnect and HTTP call to OUT as a trace. Stops cleanly on Ctrl-C or SIGTERM."""
    logging.basicConfig(level=log_level.upper(), stream=sys.stderr)
    address = parse_listen(listen)
    check_upstream(upstream)
    _check_out(out)

    def said(message: Message) -> None:
        if not quiet or message.event == "upstream-error":
            click.echo(_line(message))

    recorder = Recorder(upstream=upstream, out=out, listen=address, payloads=payloads,
                        max_chars=max_chars, socketio_path=socketio_path, on_message=said,
                        on_notice=lambda text: click.echo(text, err=True))
    asyncio.run(_record(recorder, quiet))
