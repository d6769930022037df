"""``harness run`` and ``harness validate``."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table
from rich.text import Text

from harness.commands.options import (
    environment_from,
    relay_under_test_options,
)
from harness.env.base import Environment
from harness.env.local import LocalEnvironment
from harness.errors import EnvError, ScenarioError
from harness.outcome.results import ScenarioResult
from harness.outcome.story import render_story
from harness.protocol import SESSION_MAPS
from harness.report.files import (
    KEEP_DEFAULT_REPORTS,
    RunReport,
    default_report_dir,
    prune_default_reports,
)
from harness.report.tail import TailWriter
from harness.scenario.durations import read_durations, save_durations
from harness.scenario.introspection import fetch_sessions
from harness.scenario.loader import find_scenario_files, load_file, load_paths
from harness.scenario.model import Scenario
from harness.scenario.schedule import default_jobs, parse_shard, run_scenarios, shard_of
from harness.scenario.schema import scenario_schema
from harness.scenario.selection import select

log = logging.getLogger(__name__)

DEFAULT_PATHS = ("scenarios",)
EXIT_FAILED = 1
EXIT_NONE_SELECTED = 5
TITLE = "harness run"
_STYLE = {"passed": "green", "failed": "red", "error": "red", "skipped": "yellow"}


def _configure_logging(level: str, console: Console) -> None:
    # INFO from the simulated clients would drown the progress display: show warnings
    # unless DEBUG is asked for.
    shown = logging.DEBUG if level.upper() == "DEBUG" else logging.WARNING
    handler = RichHandler(console=console, show_path=False, level=shown)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(shown)


@dataclass(frozen=True)
class _Selection:
    """What ``harness run`` was asked to run: files, ``-k`` and ``--shard``."""

    paths: tuple[Path, ...]
    expression: str | None
    shard: str | None

    def load(self, console: Console) -> list[Scenario]:
        """The selected scenarios; raises ``ScenarioError`` for files that do not load."""
        scenarios = select(load_paths(self.paths or DEFAULT_PATHS), self.expression)
        if self.shard is not None:
            index, total = parse_shard(self.shard)
            scenarios = [s for s in scenarios if shard_of(s.id, total) == index]
            console.print(f"shard {index}/{total}: {len(scenarios)} scenario(s)")
        return scenarios


async def run_all(selection: _Selection, env: Environment, console: Console,
                  exitfirst: bool = False, jobs: int = 1,
                  report: RunReport | None = None, junit_xml: Path | None = None,
                  ) -> tuple[list[Scenario], list[ScenarioResult]]:
    """Start ``env``, run the scenarios (``jobs`` at a time; those that cannot share the
    relay alone) with a live progress display, stop it. Returns the scenarios selected and
    the results, in the order of the scenarios (none when nothing is selected).

    A ``_Selection`` of files is loaded while a local environment starts (loading is the
    harness's work, starting mostly the relay's and the database's); for containers or an
    external relay the files are loaded first, so a broken file costs no start-up. The
    parts of ``report`` are written in the run's tail (``TailWriter``), the rest of it
    (and ``junit_xml``) while the environment stops.
    """
    if not isinstance(env, LocalEnvironment):
        scenarios = selection.load(console)
        if not scenarios:
            return scenarios, []
        await env.start()
    else:
        starting = asyncio.create_task(env.start())  # stops what it started if it fails
        try:
            scenarios = await asyncio.to_thread(selection.load, console)
        except BaseException:
            starting.cancel()
            await asyncio.gather(starting, return_exceptions=True)
            raise
        await starting
        if not scenarios:
            await env.stop()
            return scenarios, []
    live = console.is_terminal
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}", markup=False),
                        BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[failures]}", markup=False, style="red"),
                        console=console, transient=True, disable=not live)
    tail = TailWriter(report, len(scenarios)) if report is not None else None
    results: list[ScenarioResult] | None = None
    positions = {id(s): i for i, s in enumerate(scenarios)}
    try:
        console.print(f"environment: {env.describe()}", soft_wrap=True, markup=False)
        await _introspection_preflight(env, console)
        finished: list[ScenarioResult] = []
        with progress:
            task = progress.add_task("starting", total=len(scenarios), failures="")

            def began(scenario: Scenario) -> None:
                progress.update(task, description=scenario.id)
                if tail is not None:
                    tail.started()

            def done(result: ScenarioResult) -> None:
                finished.append(result)
                failed = sum(1 for r in finished if not r.passed)
                progress.update(task, advance=1, failures=f"{failed} failed" if failed else "")
                if not live:
                    console.print(f"{result.status.upper():<7} {result.scenario.id} "
                                  f"({result.duration:.2f} s)", soft_wrap=True, markup=False)
                if tail is not None:
                    tail.finished(positions[id(result.scenario)], result)

            results = await run_scenarios(
                scenarios, env, jobs=jobs, on_start=began, on_result=done,
                exitfirst=exitfirst, expected=read_durations())
            return scenarios, results
    finally:
        closing = [env.stop()] + ([tail.close(results, junit_xml)] if tail is not None else [])
        for outcome in await asyncio.gather(*closing, return_exceptions=True):
            if isinstance(outcome, BaseException):
                raise outcome


async def _introspection_preflight(env: Environment, console: Console) -> None:
    """Say once, before anything runs, whether the leak checks can read the relay's maps.

    Raises ``EnvError`` when the endpoint refuses the admin token (401/403): a wrong token
    must not pass as "this relay has no introspection" and silently skip every leak check.
    """
    snapshot = await fetch_sessions(env.relay_url, env.admin_token)
    if snapshot.refused:
        raise EnvError(f"introspection: {snapshot.reason}; the leak checks cannot run")
    if not snapshot.available:
        console.print(f"introspection: leak checks and check_sessions steps will be skipped: "
                      f"{snapshot.reason}", soft_wrap=True, markup=False, style="yellow")
        return
    unknown = [name for name in SESSION_MAPS if snapshot.keys(name) is None]
    if unknown:
        console.print(f"introspection: checks of {', '.join(unknown)} will be skipped: the "
                      f"relay's answer does not name them (it names: "
                      f"{', '.join(snapshot.names) or 'none'})",
                      soft_wrap=True, markup=False, style="yellow")


def skipped_checks(results: list[ScenarioResult]) -> list[str]:
    """The checks skipped in these results, one line each with how many scenarios."""
    counts: dict[str, int] = {}
    for result in results:
        if result.status == "skipped":
            continue
        notes = {note for note in result.notes if " skipped: " in note}
        notes |= {f"{step.step.kind} steps skipped: {step.note}"
                  for step in result.flat_steps() if step.status == "skipped" and step.note}
        for note in notes:
            counts[note] = counts.get(note, 0) + 1
    return [f"{note} (in {count} scenario{'s' if count > 1 else ''})"
            for note, count in counts.items()]


def summary_table(results: list[ScenarioResult]) -> Table:
    """One row per scenario: result, steps passed, time, and the problem when it failed."""
    table = Table(title="scenarios", show_lines=False)
    for column in ("scenario", "result", "steps", "time", "problem"):
        table.add_column(column, overflow="fold")
    for result in results:
        flat = [s for s in result.flat_steps() if not s.children]
        ok = sum(1 for s in flat if s.status in ("passed", "skipped"))
        problem = result.failure.message if result.failure else ""
        if result.status == "skipped":
            problem = "; ".join(result.notes)
        status = result.status + (" (negative)" if result.scenario.negative else "")
        # Text cells: scenario names and failure messages (relay text) are never markup.
        table.add_row(Text(result.scenario.id), Text(status, style=_STYLE[result.status]),
                      Text(f"{ok}/{len(flat)}"), Text(f"{result.duration:.2f} s"),
                      Text(problem if len(problem) < 200 else problem[:197] + "..."))
    return table


def _write_logs(folder: Path, env: Environment) -> Path | None:
    """The relay's and the database's output, next to the report (admin token masked)."""
    logs = env.logs()
    if not logs:
        return None
    token = env.admin_token
    target = folder / "logs"
    target.mkdir(parents=True, exist_ok=True)
    for name, text in logs.items():
        (target / f"{name}.log").write_text(text.replace(token, "***") if token else text)
    return target


def _report_dir(given: Path | None) -> Path:
    """``--report``, or a new folder in the default location (older ones pruned)."""
    if given is not None:
        return given
    prune_default_reports(keep=KEEP_DEFAULT_REPORTS - 1)  # room for this run's
    return default_report_dir()


def _write_reports(results: list[ScenarioResult], report: RunReport,
                   junit_xml: Path | None, env: Environment | None = None) -> _Written:
    """Finish the HTML report, the traces and the JUnit XML, write the logs; print
    nothing."""
    paths = report.written or report.finish(results, junit_xml)
    assert report.report_dir is not None
    logs = _write_logs(report.report_dir, env) if env is not None else None
    return _Written(paths.index, paths.junit, logs)


@dataclass(frozen=True)
class _Written:
    index: Path | None
    junit: Path | None
    logs: Path | None


def _print_reports(console: Console, results: list[ScenarioResult], written: _Written) -> None:
    from harness.report.console import latency_table

    latency = latency_table(results)
    if latency is not None:
        console.print(latency)
    for label, path in (("report", written.index), ("logs", written.logs),
                        ("JUnit XML", written.junit)):
        if path is not None:
            console.print(f"{label}: {path}", soft_wrap=True, markup=False)


@click.command("run")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("-k", "expression", default=None,
              help="Select scenarios by id substring or tag: 'delivery and not slow'.")
@relay_under_test_options
@click.option("-x", "--exitfirst", is_flag=True, help="Stop after the first failure.")
@click.option("--report", "report_dir", type=click.Path(path_type=Path, file_okay=False),
              default=None, help="Folder for the HTML report and the traces "
                                 "(default .harness/reports/<timestamp>/).")
@click.option("--junit-xml", "junit_xml", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Also write JUnit XML here (one testcase per scenario).")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=None,
              help="Scenarios run at once on the one environment (default: two per core, "
                   "at most 8); those that cannot share the relay run alone, after the rest.")
@click.option("--shard", default=None, metavar="I/N",
              help="Run only shard I of N (a stable split by scenario id, for CI machines).")
def run_command(paths: tuple[Path, ...], expression: str | None, env_kind: str,
                exitfirst: bool, report_dir: Path | None, junit_xml: Path | None,
                jobs: int | None, shard: str | None, **params: Any) -> None:
    """Run scenario files (default: ./scenarios) and print a summary; exit 0 only if all pass.

    Timeouts, --regress and --variant apply to the relay the harness starts (local,
    compose); with --env external they are refused.
    """
    console = Console(highlight=False, markup=False)  # names and relay text are never markup
    _configure_logging(params["log_level"], console)
    if shard is not None:
        parse_shard(shard)  # a bad flag before anything starts
    env = environment_from(env_kind, params)
    report = RunReport(_report_dir(report_dir), title=TITLE)
    began = time.monotonic()
    scenarios, results = asyncio.run(run_all(_Selection(paths, expression, shard), env,
                                             console, exitfirst, jobs or default_jobs(),
                                             report, junit_xml))
    if not scenarios:
        console.print("no scenario selected")
        raise SystemExit(EXIT_NONE_SELECTED)
    elapsed = time.monotonic() - began
    save_durations(results)
    failed = [r for r in results if not r.passed]
    # The reports first: nothing printed below can lose them.
    paths_written = _write_reports(results, report, junit_xml, env)
    for result in failed:
        console.print()
        console.print(render_story(result), markup=False, soft_wrap=True)
    console.print()
    console.print(summary_table(results))
    _print_reports(console, results, paths_written)
    for line in skipped_checks(results):
        console.print(f"not checked: {line}", soft_wrap=True, markup=False, style="yellow")
    skipped = len(scenarios) - len(results)
    tail = f", {skipped} not run" if skipped else ""
    skips = sum(1 for r in results if r.status == "skipped")
    if skips:
        tail += f", {skips} skipped (see the table)"
    console.print(f"{len(results) - len(failed) - skips} passed, {len(failed)} failed{tail} "
                  f"in {elapsed:.2f} s")
    if failed or skipped:
        raise SystemExit(EXIT_FAILED)


@click.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--print-schema", is_flag=True,
              help="Print the scenario JSON Schema (for editors) and exit.")
def validate_command(paths: tuple[Path, ...], print_schema: bool) -> None:
    """Check scenario files against the schema and the world without running them."""
    if print_schema:
        click.echo(json.dumps(scenario_schema(), indent=2))
        return
    files = find_scenario_files(paths or DEFAULT_PATHS)
    if not files:
        shown = " ".join(str(p) for p in (paths or DEFAULT_PATHS))
        click.echo(f"no scenario files (*.scenario.yaml) under {shown}", err=True)
        raise SystemExit(EXIT_NONE_SELECTED)  # as `harness run` with nothing to run
    bad = 0
    count = 0
    for file in files:
        try:
            count += len(load_file(file))
        except ScenarioError as exc:
            bad += 1
            click.echo(str(exc), err=True)
    if bad:
        click.echo(f"{bad} of {len(files)} file(s) invalid", err=True)
        raise SystemExit(EXIT_FAILED)
    click.echo(f"ok: {count} scenario(s) in {len(files)} file(s)")
