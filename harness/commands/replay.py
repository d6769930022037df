"""``harness scenario from-trace``: write the scenario that replays a recorded trace."""

from __future__ import annotations

from pathlib import Path

import click

from harness.errors import ConfigError
from harness.replay import ReplayOptions, convert
from harness.report.trace import read_trace

GAPS = ("compress", "keep")


@click.group("scenario")
def scenario_group() -> None:
    """Scenario files written from what the harness saw (docs/reproduce.md)."""


def _default_out(trace: Path) -> Path:
    name = trace.name
    for suffix in (".trace.jsonl", ".jsonl", ".json"):
        if name.endswith(suffix):
            name = name.removesuffix(suffix)
            break
    if name == "trace":  # a report's <nn>-<scenario>/trace.jsonl: name it after its folder
        name = trace.parent.name or "replay"
    return trace.with_name(f"{name}.scenario.yaml")


@scenario_group.command("from-trace")
@click.argument("trace", type=click.Path(path_type=Path, dir_okay=False))
@click.option("-o", "--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="The scenario file to write (default: next to TRACE, "
                   "<name>.scenario.yaml; '-' prints it).")
@click.option("--name", default=None, help="The scenario's name (default: 'replay of TRACE').")
@click.option("--gaps", type=click.Choice(GAPS), default="compress", show_default=True,
              help="compress: each step waits for the relay, not the clock; keep: a pause "
                   "step for every idle gap of the recording.")
@click.option("--min-gap", type=click.FloatRange(min=0.0, min_open=True), default=0.5,
              show_default=True, help="With --gaps keep: the shortest gap kept, in seconds.")
@click.option("--force", is_flag=True, help="Overwrite an existing scenario file.")
def from_trace_command(trace: Path, out: Path | None, name: str | None, gaps: str,
                       min_gap: float, force: bool) -> None:
    """Write the scenario that replays TRACE (from `harness record`, or a report's
    trace.jsonl) with simulated actors on a seeded world. `harness run` on it passes
    against a relay that behaves as the recorded one did, and fails at the first step
    where it does not.
    """
    target = out or _default_out(trace)
    if str(target) != "-" and target.exists() and not force:
        raise ConfigError(f"--out {target}: the file exists; pass --force to overwrite it")
    conversion = convert(read_trace(trace), source=str(trace), name=name,
                         options=ReplayOptions(gaps=gaps, min_gap=min_gap))
    if str(target) == "-":
        click.echo(conversion.text, nl=False)
        return
    try:
        target.write_text(conversion.text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--out {target}: cannot write: {exc.strerror or exc}") from exc
    world = ", ".join(f"{key} {value}" for key, value in conversion.world.items())
    click.echo(f"wrote {target}: {conversion.actors} actor(s), {conversion.steps} step(s), "
               f"{len(conversion.text.encode())} bytes; world: {world}")
    click.echo(f"run it: harness run {target}")
