"""``harness explore``: search for interleavings the relay gets wrong (docs/explore.md)."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from harness.commands.options import (
    _stated,
    environment_from,
    relay_settings_from,
    relay_under_test_options,
)
from harness.errors import ConfigError
from harness.explore import ExploreOptions, explore
from harness.explore.explorer import DEFAULT_OUT, RELAY_TIMEOUTS
from harness.explore.session import Session
from harness.outcome.story import render_story
from harness.report import write_reports

EXIT_FOUND = 1

def parse_budget(text: str) -> tuple[float | None, int | None]:
    """``60s``, ``2m``, ``90`` (seconds) or ``200x`` / ``200 examples``."""
    value = text.strip().lower()
    if match := re.fullmatch(r"(\d+(?:\.\d+)?)\s*(s|sec|m|min)?", value):
        seconds = float(match.group(1)) * (60 if match.group(2) in ("m", "min") else 1)
        if seconds <= 0:
            raise ConfigError(f"--budget {text!r}: expected more than 0 seconds")
        return seconds, None
    if match := re.fullmatch(r"(\d+)\s*(x|examples?)", value):
        return None, int(match.group(1))
    raise ConfigError(f"--budget {text!r}: expected seconds (60s, 2m) or a number of "
                      "examples (200x)")


def _progress(console: Console) -> Any:
    def on_example(session: Session, verdict: str, seconds: float, steps: int) -> None:
        shrinking = " (shrinking)" if session.found_at is not None else ""
        console.print(f"  example {session.examples}: {verdict}, {steps} steps, "
                      f"{seconds:.1f} s{shrinking}", markup=False, highlight=False)

    return on_example


@click.command("explore")
@relay_under_test_options
@click.option("--budget", default="60s", show_default=True,
              help="How long to search: seconds (60s, 2m) or examples (200x). Shrinking a "
                   "failure gets --shrink-budget more.")
@click.option("--shrink-budget", type=float, default=120.0, show_default=True,
              help="Seconds to shrink a failure before writing it.")
@click.option("--seed", type=int, default=None, help="Hypothesis's seed: the same seed "
              "against the same relay tries the same examples.")
@click.option("--max-steps", type=int, default=12, show_default=True,
              help="Most rules per example.")
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False),
              default=DEFAULT_OUT, show_default=True,
              help="Where the finding, its report and Hypothesis's example database go.")
@click.option("--no-faults", is_flag=True,
              help="Leave out the rules that need a fault proxy in front of each client.")
@click.option("--no-database", is_flag=True,
              help="Do not read or write Hypothesis's example database (a failure found "
                   "before is otherwise tried first).")
@click.option("-q", "--quiet", is_flag=True, help="No line per example.")
def explore_command(env_kind: str, budget: str, shrink_budget: float, seed: int | None,
                    max_steps: int, out: Path, no_faults: bool, no_database: bool,
                    quiet: bool, **params: Any) -> None:
    """Search for a sequence of client actions the relay answers against the contract.

    Exit 0 when nothing was found in the budget; 1 with the shrunk scenario written (and
    run again) when something was.
    """
    console = Console(highlight=False, markup=False)
    shown = logging.DEBUG if params["log_level"].upper() == "DEBUG" else logging.WARNING
    logging.basicConfig(level=shown, format="%(levelname)s %(name)s: %(message)s")
    seconds, examples = parse_budget(budget)
    options = ExploreOptions(budget=seconds, examples=examples, seed=seed,
                             max_steps=max_steps, out=out, database=not no_database,
                             shrink_budget=shrink_budget, faults=not no_faults)
    if env_kind != "external":
        for name, value in RELAY_TIMEOUTS.items():
            if not _stated(name):
                params[name] = value
    settings = relay_settings_from(params) if env_kind != "external" else None
    env = environment_from(env_kind, params, settings)
    what = f"{seconds:g} s" if seconds is not None else f"{examples} examples"
    console.print(f"exploring for {what} (seed {seed if seed is not None else 'random'}, "
                  f"at most {max_steps} rules per example)")
    report = explore(env, options, on_example=None if quiet else _progress(console))
    console.print(f"environment: {report.env}", soft_wrap=True)
    finding = report.finding
    if finding is None:
        console.print(f"nothing found: {report.examples} examples, {report.steps} steps in "
                      f"{report.duration:.1f} s")
        return
    paths = write_reports(report.results, report_dir=out / "report", junit_xml=None,
                          title="harness explore")
    console.print()
    if finding.replay is not None:
        console.print(render_story(finding.replay), soft_wrap=True)
    console.print()
    console.print(f"FOUND in example {finding.first_failure_example}, after "
                  f"{finding.first_failure_after:.1f} s: "
                  f"{finding.failure.message.splitlines()[0]}", soft_wrap=True)
    console.print(f"shrunk to {finding.actions} actions, {finding.steps} steps: "
                  f"{finding.file}", soft_wrap=True)
    replay = "fails again" if finding.reproduced else "PASSED when run again (timing)"
    console.print(f"harness run {finding.file}: {replay}", soft_wrap=True)
    if paths.index is not None:
        console.print(f"report: {paths.index}", soft_wrap=True)
    raise SystemExit(EXIT_FOUND)
