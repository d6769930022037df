"""``harness load``: many simulated IDEs and drones against any environment, with
thresholds that set the exit status (0 pass, 1 fail, 2 bad input or environment)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import click

from harness.commands.options import environment_from, load_target_options, log_level_option
from harness.env import Environment
from harness.host import raise_open_files_limit
from harness.load.config import LoadConfig, default_workers
from harness.load.html import render_html
from harness.load.report import result_to_json, summary_lines
from harness.load.runner import LoadResult, Progress, run_load, seed_world
from harness.load.thresholds import format_metric, parse_thresholds
from harness.settings import RelaySettings
from seed import cleanup
from seed.connect import open_database

__all__ = ["load_command", "load_environment", "started", "write_outputs"]

log = logging.getLogger(__name__)


def load_environment(kind: str, params: dict[str, Any]) -> Environment:
    """The environment a load or bench command runs against (the relay logs warnings only:
    one log line per connection would cost the relay more than the load)."""
    return environment_from(kind, params, RelaySettings.for_load())


@contextlib.asynccontextmanager
async def started(env: Environment) -> AsyncIterator[Environment]:
    """Start ``env`` and stop it on the way out, whatever happens."""
    try:
        await env.start()
        yield env
    finally:
        await env.stop()


def _progress_line(progress: Progress) -> None:
    click.echo(
        f"[{progress.elapsed:6.1f}s {progress.phase:<6}] {progress.rate:9.1f} ev/s  "
        f"p99 {format_metric('p99', progress.p99):>10}  drones {progress.drones:5d}  "
        f"ides {progress.ides:5d}  delivered {progress.delivered:9d}  "
        f"errors {progress.errors}  violations {progress.violations}",
        err=True,
    )


def write_outputs(result: LoadResult, html_path: Path | None, json_path: Path | None) -> None:
    """Write the HTML page and the JSON results where asked."""
    if html_path is not None:
        html_path.write_text(render_html(result), encoding="utf-8")
        click.echo(f"HTML report: {html_path}", err=True)
    if json_path is not None:
        json_path.write_text(json.dumps(result_to_json(result), indent=2) + "\n",
                             encoding="utf-8")
        click.echo(f"JSON results: {json_path}", err=True)


async def _load(kind: str, params: dict[str, Any], config: LoadConfig,
                thresholds: Any, quiet: bool, keep_world: bool) -> LoadResult:
    async with started(load_environment(kind, params)) as env:
        click.echo(f"environment: {env.describe()}", err=True)
        async with open_database(env.mongo_uri, env.database) as db:
            world = await seed_world(db, config)
            click.echo(f"seeded run {world.run_id}: {len(world.users)} users, "
                       f"{len(world.drones)} drones, {len(world.chat_sessions)} chat sessions",
                       err=True)
            try:
                return await run_load(
                    config, env.relay_url, world, thresholds,
                    on_progress=None if quiet else _progress_line,
                    log_level=params["log_level"].upper()
                    if params["log_level"].upper() == "DEBUG" else "WARNING",
                )
            finally:
                if not keep_world:
                    await cleanup(db, world.run_id)


@click.command("load")
@load_target_options
@click.option("--drones", type=int, default=10, show_default=True,
              help="Streaming drones (each with one chat session and its IDE).")
@click.option("--drones-per-user", type=int, default=5, show_default=True,
              help="Drones (and chat sessions) per seeded user.")
@click.option("--workers", type=int, default=None,
              help="Load worker processes [default: one per core].")
@click.option("--ramp-up", type=float, default=2.0, show_default=True,
              help="Seconds over which the clients connect.")
@click.option("--duration", type=float, default=None,
              help="Seconds of steady phase [default: 10, unless --events is given].")
@click.option("--events", type=int, default=None,
              help="Stop once this many events were delivered.")
@click.option("--rate", type=float, default=0.0, show_default=True,
              help="Events per second per drone while streaming (0: as fast as possible).")
@click.option("--events-per-prompt", type=int, default=20, show_default=True,
              help="Stream events per work order.")
@click.option("--text-size", type=int, default=64, show_default=True,
              help="Bytes of text per stream event.")
@click.option("--crash-rate", type=float, default=0.0, show_default=True,
              help="Chaos: fraction of work orders during which the drone crashes and "
                   "reconnects.")
@click.option("--ide-churn", type=float, default=0.0, show_default=True,
              help="Chaos: fraction of prompts before which the IDE leaves and comes back.")
@click.option("--transport", type=click.Choice(["websocket", "polling"]), default="websocket",
              show_default=True)
@click.option("--interval", type=float, default=1.0, show_default=True,
              help="Seconds between progress lines (and time-series points).")
@click.option("--max-connecting", type=int, default=64, show_default=True,
              help="Pairs setting up (connect, open, lock) at once over all workers; the "
                   "ramp-up stretches when the relay is slower than it.")
@click.option("--ack-timeout", type=float, default=10.0, show_default=True,
              help="Seconds an IDE waits for an ack, and a client for its connection.")
@click.option("--completion-timeout", type=float, default=30.0, show_default=True,
              help="Seconds an IDE waits for a work order's workOrderComplete beyond "
                   "the stream's own duration (--events-per-prompt at --rate).")
@click.option("--threshold", "threshold_texts", multiple=True,
              help='Pass/fail gate, repeatable: "p99<50ms", "rate>3000/s", "errors==0".')
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Write an offline HTML report with plots here.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Write the results as JSON here.")
@click.option("--keep-world", is_flag=True, help="Do not remove the seeded world at the end.")
@click.option("--quiet", is_flag=True, help="No live progress lines.")
@click.option("--seed", "random_seed", type=int, default=None, help="Seed of the chaos dice.")
@log_level_option
def load_command(env_kind: str, threshold_texts: tuple[str, ...], html_path: Path | None,
                 json_path: Path | None, keep_world: bool, quiet: bool,
                 **params: Any) -> None:
    """Drive many simulated IDEs and drones; report throughput, latency and invariants.

    Exits 0 when no invariant broke and every --threshold held, 1 otherwise.
    """
    thresholds = parse_thresholds(threshold_texts)
    duration = params["duration"]
    if duration is None and params["events"] is None:
        duration = 10.0
    config = LoadConfig(
        drones=params["drones"], drones_per_user=params["drones_per_user"],
        workers=params["workers"] or default_workers(), ramp_up=params["ramp_up"],
        duration=duration, events=params["events"], rate=params["rate"],
        events_per_prompt=params["events_per_prompt"], text_size=params["text_size"],
        crash_rate=params["crash_rate"], ide_churn=params["ide_churn"],
        transport=params["transport"], interval=params["interval"],
        random_seed=params["random_seed"], max_connecting=params["max_connecting"],
        ack_timeout=params["ack_timeout"], completion_timeout=params["completion_timeout"],
    )
    raise_open_files_limit()  # before the relay and the workers start: they inherit it
    logging.basicConfig(level=params["log_level"].upper(), stream=sys.stderr)
    result = asyncio.run(_load(env_kind, params, config, thresholds, quiet, keep_world))
    for line in summary_lines(result):
        click.echo(line)
    write_outputs(result, html_path, json_path)
    if not result.passed:
        sys.exit(1)
