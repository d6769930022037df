"""``harness selftest``: the pack against the clean relay, each ``--variant`` (alone and all
together) and each ``--regress`` switch."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any, cast

import click

from harness.commands.options import database_option, log_level_option
from harness.errors import ConfigError
from harness.outcome import ScenarioResult, render_story
from harness.scenario import load_paths, select
from harness.scenario.schedule import default_jobs
from harness.selftest.comparing import RunKind, compare_column, render_compare_column
from harness.selftest.exploration import (
    CLEAN_BUDGET,
    EXPLORE_EXAMPLES,
    EXPLORE_SHRINK,
    ExploreCell,
    render_column,
    run_explore_column,
)
from harness.selftest.matrix import (
    CLEAN,
    must_pass,
    render_grid,
    render_reasons,
    render_verdict,
    short_id,
)
from harness.selftest.reports import write_selftest_reports
from harness.selftest.runner import (
    SELFTEST_ENVIRONMENTS,
    SelftestReport,
    environment_factory,
    run_selftest,
    variant_runs,
)
from harness.settings import REGRESSIONS, VARIANTS, RelaySettings

DEFAULT_PATHS = ("scenarios",)
EXIT_FAILED = 1
EXIT_NONE_SELECTED = 5


def _configure_logging(level: str) -> None:
    # The simulated clients' INFO lines would bury the matrix: warnings unless DEBUG.
    shown = logging.DEBUG if level.upper() == "DEBUG" else logging.WARNING
    logging.basicConfig(level=shown, format="%(levelname)s %(name)s: %(message)s")


def _progress(verbose: bool) -> Any:
    counts: dict[str, list[int]] = {}

    def on_result(run: str, result: ScenarioResult) -> None:
        tally = counts.setdefault(run, [0, 0])
        tally[0 if result.passed else 1] += 1
        if verbose:
            click.echo(f"  {run:<26} {result.status.upper():<7} "
                       f"{short_id(result.scenario.id)} ({result.duration:.2f} s)")

    return on_result


@click.command("selftest")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("-k", "expression", default=None,
              help="Select scenarios by id substring or tag, as `harness run -k`.")
@click.option("--env", "env_kind", type=click.Choice(SELFTEST_ENVIRONMENTS), default="local",
              show_default=True, help="Where each relay runs (a fresh one per run).")
@click.option("--switch", "switches", multiple=True, type=click.Choice(REGRESSIONS),
              help="Only these switches (repeatable; default: every switch).")
@click.option("--variant", "variants", multiple=True, type=click.Choice(VARIANTS),
              help="Only these variants (repeatable; default: every variant).")
@click.option("--no-variants", is_flag=True,
              help="Leave out the variants column (the clean and switch runs only).")
@click.option("--report", "report_dir", type=click.Path(path_type=Path), default=None,
              help="Write reports (one per run) into this directory.")
@click.option("--junit-xml", type=click.Path(path_type=Path), default=None,
              help="Write a JUnit XML file: one test per scenario and run, one per switch.")
@click.option("--stories", is_flag=True,
              help="Print the failure story of every failing scenario, switch runs too.")
@click.option("-v", "--verbose", is_flag=True, help="One line per scenario and run.")
@click.option("--no-explore", is_flag=True,
              help="Leave out the explore column (harness explore alone against each switch).")
@click.option("--explore-seconds", type=click.FloatRange(min=1), default=CLEAN_BUDGET,
              show_default=True,
              help="Seconds the explore column searches the clean relay (it must find "
                   "nothing).")
@click.option("--explore-examples", type=click.IntRange(min=1), default=EXPLORE_EXAMPLES,
              show_default=True,
              help="Examples per switch in the explore column (plus "
                   f"{EXPLORE_SHRINK:g} s of shrinking; the clean relay gets "
                   f"{CLEAN_BUDGET:g} s).")
@click.option("--no-compare", is_flag=True,
              help="Leave out the compare column (harness compare's judgement of each run "
                   "against the clean relay; it runs the clean pack once more).")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=None,
              help="Scenarios run at once in each run (as harness run -j; default: two "
                   "per core, at most 8).")
@database_option
@log_level_option
def selftest_command(paths: tuple[Path, ...], expression: str | None, env_kind: str,
                     switches: tuple[str, ...], variants: tuple[str, ...], no_variants: bool,
                     report_dir: Path | None,
                     junit_xml: Path | None, stories: bool, verbose: bool, no_explore: bool,
                     explore_seconds: float, explore_examples: int, no_compare: bool,
                     jobs: int | None, database: str, log_level: str) -> None:
    """Prove the pack asserts the contract and catches regressions: run it against the clean
    reference relay, against each --variant (another answer the contract allows) alone and
    all of them together, and once per --regress switch, each in a fresh environment, and
    print the matrix.

    Exit 0 only when the clean run and every variant run pass every scenario and every
    switch is caught by a scenario whose failure message names the problem
    (docs/selftest.md).
    """
    _configure_logging(log_level)
    scenarios = select(load_paths(paths or DEFAULT_PATHS), expression)
    if not scenarios:
        click.echo("no scenario selected")
        raise SystemExit(EXIT_NONE_SELECTED)
    chosen = list(switches) or list(REGRESSIONS)
    if no_variants and variants:
        raise ConfigError("selftest: --no-variants and --variant exclude each other")
    picked = [] if no_variants else list(variants) or list(VARIANTS)
    runs = len(variant_runs(picked))
    click.echo(f"selftest: {len(scenarios)} scenario(s) x (clean + {runs} variant run(s) + "
               f"{len(chosen)} switch(es)), --env {env_kind}")
    began = time.monotonic()
    report = asyncio.run(run_selftest(
        scenarios, chosen, environment_factory(env_kind),
        RelaySettings(database=database, log_level=log_level.upper()), _progress(verbose),
        variants=picked, jobs=jobs or default_jobs(), clean_twice=not no_compare))
    _print(report, stories)
    compared_ok = True if no_compare else _compare_column(report)
    write_selftest_reports(report, report_dir=report_dir, junit_xml=junit_xml)
    explored_ok = True
    if not no_explore:
        explored_ok = _explore_column(chosen, env_kind, database, log_level,
                                      explore_seconds, explore_examples, report_dir)
    elapsed = time.monotonic() - began
    click.echo(f"selftest took {elapsed:.1f} s")
    if not report.matrix.ok or not explored_ok or not compared_ok:
        raise SystemExit(EXIT_FAILED)


def _compare_column(report: SelftestReport) -> bool:
    """Print the compare column; True when every run in it is as it must be."""
    click.echo()
    click.echo("compare column: harness compare of each run against two runs of the clean "
               "relay (their differences are noise)")
    runs: dict[str, tuple[RunKind, list[ScenarioResult]]] = {}
    for name, results in report.results.items():
        kind = report.kinds.get(name)
        if kind in ("variant", "switch"):
            runs[name] = (cast(RunKind, kind), results)
    noise, again = report.clean_again
    cells = compare_column([report.results[CLEAN], noise], again, runs)
    for line in render_compare_column(cells):
        click.echo(line)
    return all(cell.ok for cell in cells)


def _explore_column(switches: list[str], env_kind: str, database: str, log_level: str,
                    seconds: float, examples: int, report_dir: Path | None) -> bool:
    """Run and print the explore column; True when every run in it is as it must be."""
    click.echo()
    click.echo(f"explore column: the clean relay for {seconds:g} s, then each of "
               f"{len(switches)} switch(es) for at most {examples} examples")

    def on_cell(cell: ExploreCell) -> None:
        click.echo(f"  {cell.name:<33} {cell.state}"
                   + (f" ({cell.file})" if cell.file is not None else ""))

    began = time.monotonic()
    cells = run_explore_column(
        switches, environment_factory(env_kind),
        RelaySettings(database=database, log_level=log_level.upper()), examples=examples,
        clean_budget=seconds,
        out=report_dir / "explore" if report_dir is not None else None, on_cell=on_cell)
    click.echo()
    for line in render_column(cells, examples, seconds):
        click.echo(line)
    bad = [c for c in cells if not c.ok]
    for cell in bad:
        click.echo(f"explore column: {cell.name}: {cell.state}"
                   + (f": {cell.message}" if cell.message else "")
                   + (f" ({cell.error})" if cell.error else ""))
    click.echo(f"explore column: {'ok' if not bad else 'FAILED'} in "
               f"{time.monotonic() - began:.1f} s")
    return not bad


def _print(report: SelftestReport, stories: bool) -> None:
    matrix = report.matrix
    for run, results in report.results.items():
        for result in results:
            if not result.passed and (must_pass(run) or stories):
                click.echo()
                click.echo(f"[{run}] {render_story(result)}")
    click.echo()
    for line in render_grid(matrix):
        click.echo(line)
    for line in render_reasons(matrix):
        click.echo(line)
    click.echo()
    for line in render_verdict(matrix):
        click.echo(line)
