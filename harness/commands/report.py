"""``harness show TRACE``: print a trace.jsonl as a readable timeline."""

from __future__ import annotations

from pathlib import Path

import click

from harness.report.html import render_trace_html
from harness.report.timeline import PAYLOAD_WIDTH, timeline_lines
from harness.report.trace import read_trace


@click.command("show")
@click.argument("traces", nargs=-1, required=True,
                type=click.Path(path_type=Path, dir_okay=True))
@click.option("--actor", default=None, help="Only rows to or from this actor.")
@click.option("--width", type=int, default=PAYLOAD_WIDTH, show_default=True,
              help="Characters of payload per line (0: none).")
@click.option("--color/--no-color", default=None,
              help="Colour the output (default: when writing to a terminal).")
@click.option("--html", "html_out", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Write one TRACE as an offline HTML page (its sequence "
                                 "diagram and message list) instead of printing it.")
def show_command(traces: tuple[Path, ...], actor: str | None, width: int,
                 color: bool | None, html_out: Path | None) -> None:
    """Print each TRACE (a trace.jsonl, a recording of `harness record`, or a report
    folder: every trace in it) as a timeline.

    Raises a clear error naming the file and line for a malformed trace.
    """
    files: list[Path] = []
    for path in traces:
        if path.is_dir():
            found = sorted(path.glob("*/trace.jsonl")) + sorted(path.glob("trace.jsonl"))
            if not found:
                raise click.BadParameter(f"{path}: no trace.jsonl in this folder",
                                         param_hint="TRACE")
            files += found
        else:
            files.append(path)
    if html_out is not None:
        if len(files) != 1:
            raise click.BadParameter(f"--html writes one trace; {len(files)} were given",
                                     param_hint="TRACE")
        page = render_trace_html(read_trace(files[0]), title=files[0].name)
        try:
            html_out.write_text(page, encoding="utf-8")
        except OSError as exc:
            raise click.BadParameter(f"{html_out}: cannot write: {exc.strerror or exc}",
                                     param_hint="--html") from exc
        click.echo(f"wrote {html_out}")
        return
    for number, file in enumerate(files):
        trace = read_trace(file)
        if number:
            click.echo()
        for line in timeline_lines(trace, width=width, color=bool(color), actor=actor):
            click.echo(line, color=color)
