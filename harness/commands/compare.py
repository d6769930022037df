"""``harness compare``: the same scenarios against a baseline and a candidate relay, and what
changed between them (docs/compare.md)."""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import re
from pathlib import Path

import click

from harness.commands.options import database_option, log_level_option
from harness.compare.html import render_compare_html
from harness.compare.load import parse_load
from harness.compare.run import CompareOptions, run_comparison
from harness.compare.sides import parse_side
from harness.compare.summary import render_summary
from harness.errors import ConfigError
from harness.host import raise_open_files_limit
from harness.load.runner import LoadResult
from harness.outcome.results import ScenarioResult
from harness.scenario import load_paths, select
from harness.scenario.schedule import default_jobs
from harness.settings import RelaySettings

DEFAULT_PATHS = ("scenarios",)
DEFAULT_ROOT = Path(".harness") / "compare"
EXIT_NONE_SELECTED = 5
_PERCENT = re.compile(r"^\s*(?P<number>\d+(?:\.\d+)?)\s*(?P<percent>%?)\s*$")


def parse_fraction(text: str, flag: str) -> float:
    """``20%`` or ``0.2`` -> 0.2; raises ``ConfigError`` naming ``flag``."""
    found = _PERCENT.match(text)
    if found is None:
        raise ConfigError(f"{flag} {text!r}: expected a percentage such as 20% (or 0.2)")
    value = float(found["number"])
    return value / 100 if found["percent"] else value


def _progress(flag: str, number: int, results: list[ScenarioResult], took: float) -> None:
    failed = sum(1 for r in results if not r.passed)
    click.echo(f"  {flag.removeprefix('--'):<9} run {number}: {len(results) - failed} passed, "
               f"{failed} failed ({took:.1f} s)", err=True)


def _load_progress(flag: str, number: int, result: LoadResult, took: float) -> None:
    aggregate = result.aggregate
    click.echo(f"  {flag.removeprefix('--'):<9} load {number}: {aggregate.total_delivered} "
               f"events, {aggregate.total_violations} violations, "
               f"{sum(aggregate.errors.values())} errors ({took:.1f} s)", err=True)


@click.command("compare")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--baseline", required=True, metavar="SIDE",
              help="The relay to compare against: local[:regress=…,variant=…,rev=…], "
                   "compose[:image=…,profile=…], external:url=…,mongo=…[,db=…].")
@click.option("--candidate", required=True, metavar="SIDE",
              help="The relay under test, written as --baseline.")
@click.option("-k", "expression", default=None,
              help="Select scenarios by id substring or tag, as `harness run -k`.")
@click.option("--runs", type=click.IntRange(1, 10), default=2, show_default=True,
              help="Runs of the scenarios on each side; with 2 or more, what differs between "
                   "runs of one side is noise and never counts.")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=None,
              help="Scenarios run at once on each side (as harness run -j).")
@click.option("--max-p99-regression", default="20%", show_default=True,
              help="A delivery p99 this much above the baseline's (and above the noise) is a "
                   "regression.")
@click.option("--min-p99-delta", type=click.FloatRange(min=0), default=5.0, show_default=True,
              help="Milliseconds a p99 must grow by, at least, to count.")
@click.option("--load", "load_profile", default=None, metavar="PROFILE",
              help="Also run this harness load profile against each side, --runs times: "
                   "KEY=VALUE,... with drones, drones-per-user, rate, duration, "
                   "events-per-prompt, text-size, crash-rate, ide-churn, transport, workers, "
                   "random-seed (e.g. drones=20,rate=5,duration=10).")
@click.option("--no-pack", is_flag=True,
              help="Leave the scenarios out: only --load and/or --explore-seed.")
@click.option("--explore-seed", type=int, default=None,
              help="Also run harness explore against each side with this seed; the "
                   "candidate's finding is run against the baseline.")
@click.option("--explore-examples", type=click.IntRange(min=1), default=30, show_default=True,
              help="Examples each side's exploration draws (with --explore-seed).")
@click.option("--report", "report_dir", type=click.Path(path_type=Path), default=None,
              help="Write index.html and compare.json here (default: "
                   ".harness/compare/<UTC time>/).")
@click.option("--json", "json_path", type=click.Path(path_type=Path), default=None,
              help="Also write the JSON report to this file ('-': standard output).")
@click.option("-v", "--verbose", is_flag=True, help="Every difference, not the first few.")
@click.option("--admin-token", envvar="GADGET_ADMIN_TOKEN", default=None,
              help="Admin token of an external side's introspection endpoint.")
@database_option
@log_level_option
def compare_command(paths: tuple[Path, ...], baseline: str, candidate: str,
                    expression: str | None, runs: int, jobs: int | None,
                    max_p99_regression: str, min_p99_delta: float, load_profile: str | None,
                    no_pack: bool, explore_seed: int | None, explore_examples: int,
                    report_dir: Path | None,
                    json_path: Path | None, verbose: bool, admin_token: str | None,
                    database: str, log_level: str) -> None:
    """Run the same scenarios against --baseline and --candidate (each --runs times,
    alternating) and show what the candidate does otherwise: verdicts, acks, error codes,
    events that appear, disappear, repeat or move, fields added or removed, delivery p99.

    Differences contract section 11 allows are shown as allowed. Exit 1 on a regression
    only, 0 otherwise.
    """
    logging.basicConfig(level=logging.DEBUG if log_level.upper() == "DEBUG" else logging.ERROR,
                        format="%(levelname)s %(name)s: %(message)s")
    base_side = parse_side(baseline, "--baseline")
    cand_side = parse_side(candidate, "--candidate")
    threshold = parse_fraction(max_p99_regression, "--max-p99-regression")
    if no_pack and load_profile is None and explore_seed is None:
        raise ConfigError("--no-pack: give --load KEY=VALUE,... or --explore-seed N (or both)")
    load = parse_load(load_profile) if load_profile is not None else None
    scenarios = [] if no_pack else select(load_paths(paths or DEFAULT_PATHS), expression)
    if not scenarios and not no_pack:
        click.echo("no scenario selected", err=True)
        raise SystemExit(EXIT_NONE_SELECTED)
    options = CompareOptions(runs=runs, jobs=jobs or default_jobs(),
                             max_p99_regression=threshold, min_p99_delta=min_p99_delta / 1000,
                             load=load, load_profile=load_profile or "",
                             scenarios=not no_pack, explore_seed=explore_seed,
                             explore_examples=explore_examples,
                             explore_out=(report_dir or DEFAULT_ROOT) / "explore")
    if load is not None:
        raise_open_files_limit()  # before the relays and the load workers start
    click.echo(f"comparing {len(scenarios)} scenario(s): {base_side.label} vs "
               f"{cand_side.label}, {runs} run(s) a side", err=True)
    comparison = asyncio.run(run_comparison(
        scenarios, base_side, cand_side, options, RelaySettings(database=database),
        admin_token=admin_token, on_run=_progress, on_load=_load_progress))
    folder = report_dir or DEFAULT_ROOT / datetime.datetime.now(datetime.UTC).strftime(
        "%Y%m%d-%H%M%S")
    data = json.dumps(comparison.to_json(), indent=2, default=str)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "index.html").write_text(render_compare_html(comparison), encoding="utf-8")
        (folder / "compare.json").write_text(data, encoding="utf-8")
        if json_path is not None and str(json_path) != "-":
            json_path.write_text(data, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--report {folder}: cannot write the report ({exc})") from exc
    if json_path is not None and str(json_path) == "-":
        click.echo(data)
    click.echo(render_summary(comparison, verbose=verbose, report=str(folder / "index.html")),
               err=json_path is not None and str(json_path) == "-")
    raise SystemExit(comparison.exit_code)
