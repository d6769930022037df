"""``harness bench``: the reference relay against a minimal forwarder, and the harness's own
overhead, as JSON (``--out``) and a Markdown table (``--markdown``, or stdout)."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from harness.bench.clients import clients_markdown, measure_clients
from harness.bench.drivers import drivers_markdown, measure_drivers
from harness.bench.history import save_history
from harness.bench.pack import measure_pack, pack_markdown
from harness.bench.recorder import measure_recorder, recorder_markdown
from harness.bench.suite import BenchOptions, markdown_table, run_bench
from harness.commands.options import log_level_option
from harness.load.config import LoadConfig, default_workers

__all__ = ["bench_command"]

_PACK = Path("scenarios")


@click.command("bench")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Write the results as JSON here (throughput ratio: 'ratio').")
@click.option("--markdown", "markdown_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Write the Markdown table here (default: print it).")
@click.option("--drones", type=int, default=20, show_default=True)
@click.option("--workers", type=int, default=None, help="[default: one per core]")
@click.option("--duration", type=float, default=5.0, show_default=True,
              help="Seconds of steady load per round.")
@click.option("--rounds", type=int, default=2, show_default=True,
              help="Rounds per server, alternating relay and forwarder.")
@click.option("--events-per-prompt", type=int, default=20, show_default=True)
@click.option("--scenarios", "scenarios", type=click.Path(path_type=Path), default=None,
              help="Scenario pack to time with `harness run` [default: ./scenarios if any].")
@click.option("--no-scenarios", is_flag=True, help="Do not time the scenario pack.")
@click.option("--only", type=click.Choice(["all", "recorder", "pack", "clients", "locust"]),
              default="all", show_default=True,
              help="recorder: only the latency `harness record` adds (direct vs recorded); "
                   "pack: only the scenario pack's wall time at -j 1, 2, 4 and 8, and at -j 8 on "
                   "fewer cores; clients: only the harness's client CPU per 1,000 delivered "
                   "events against a bare python-socketio client; locust: the same load "
                   "(--drones, --events-per-prompt, 5 events/s, 5 s ramp-up, --duration "
                   "after it) through harness load and through harness locust.")
@click.option("--repeats", type=int, default=3, show_default=True,
              help="With --only pack: runs per setting; with --only clients or locust: "
                   "rounds per side, alternating (the median is the figure).")
@click.option("--round-trips", type=int, default=2000, show_default=True,
              help="With --only recorder: ack round trips per side.")
@click.option("--events", "client_events", type=int, default=10_000, show_default=True,
              help="With --only clients: delivered events measured per side and round.")
@log_level_option
def bench_command(out_path: Path | None, markdown_path: Path | None, drones: int,
                  workers: int | None, duration: float, rounds: int, events_per_prompt: int,
                  scenarios: Path | None, no_scenarios: bool, only: str, round_trips: int,
                  client_events: int, repeats: int, log_level: str) -> None:
    """Measure the relay against a minimal forwarder, side by side, and the harness overhead
    (``--only recorder``: the latency ``harness record`` adds; ``--only clients``: the
    simulated clients' CPU against bare python-socketio clients)."""
    if rounds < 1:
        raise click.BadParameter(f"must be >= 1, got {rounds}", param_hint="--rounds")
    if repeats < 1:
        raise click.BadParameter(f"must be >= 1, got {repeats}", param_hint="--repeats")
    logging.basicConfig(level=log_level.upper(), stream=sys.stderr)
    if only == "recorder":
        if round_trips < 1:
            raise click.BadParameter(f"must be >= 1, got {round_trips}",
                                     param_hint="--round-trips")
        found = asyncio.run(measure_recorder(lambda text: click.echo(text, err=True),
                                             round_trips=round_trips, rounds=2 * rounds))
        _write(found, recorder_markdown(found), out_path, markdown_path, "recorder")
        return
    if only == "clients":
        if client_events < 1:
            raise click.BadParameter(f"must be >= 1, got {client_events}",
                                     param_hint="--events")
        found = asyncio.run(measure_clients(lambda text: click.echo(text, err=True),
                                            pairs=drones, events=client_events,
                                            rounds=repeats,
                                            events_per_prompt=events_per_prompt))
        _write(found, clients_markdown(found), out_path, markdown_path, "clients")
        return
    if only == "locust":
        found = asyncio.run(measure_drivers(lambda text: click.echo(text, err=True),
                                            drones=drones, events_per_prompt=events_per_prompt,
                                            seconds=duration, rounds=repeats))
        _write(found, drivers_markdown(found), out_path, markdown_path, "drivers")
        return
    if only == "pack":
        pack_path = scenarios or _PACK
        if not pack_path.exists():
            raise click.BadParameter(f"{pack_path}: no such scenario pack",
                                     param_hint="--scenarios")
        timed = asyncio.run(measure_pack(pack_path, lambda text: click.echo(text, err=True),
                                         repeats=repeats))
        _write(timed, pack_markdown(timed), out_path, markdown_path, "pack")
        return
    config = LoadConfig(drones=drones, workers=workers or default_workers(), ramp_up=1.0,
                        duration=duration, events_per_prompt=events_per_prompt)
    pack = None if no_scenarios else (scenarios or (_PACK if _PACK.is_dir() else None))
    options = BenchOptions(load=config, rounds=rounds, scenarios=pack)
    results = asyncio.run(run_bench(options, lambda text: click.echo(text, err=True)))
    _write(results, markdown_table(results), out_path, markdown_path, "bench")


def _write(results: dict[str, Any], table: str, out_path: Path | None,
           markdown_path: Path | None, kind: str) -> None:
    history = save_history(results, kind)
    if history is not None:
        click.echo(f"history: {history}", err=True)
    if out_path is not None:
        out_path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        click.echo(f"JSON results: {out_path}", err=True)
    if markdown_path is not None:
        markdown_path.write_text(table, encoding="utf-8")
        click.echo(f"Markdown table: {markdown_path}", err=True)
    else:
        click.echo(table)
