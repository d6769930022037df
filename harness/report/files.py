"""``write_reports``: every report of a run, written to disk in one call."""

from __future__ import annotations

import datetime
import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import ConfigError
from harness.outcome.results import ScenarioResult
from harness.report.html import render_html, slug
from harness.report.junit import write_junit
from harness.report.trace import write_trace

log = logging.getLogger(__name__)

DEFAULT_REPORT_ROOT = Path(".harness") / "reports"


@dataclass(frozen=True)
class ReportPaths:
    """What ``write_reports`` wrote: the report folder, its page, each trace, the JUnit file."""

    report_dir: Path | None = None
    index: Path | None = None
    traces: dict[str, Path] = field(default_factory=dict)  # scenario id -> trace.jsonl
    junit: Path | None = None


KEEP_DEFAULT_REPORTS = 10


def prune_default_reports(root: Path = DEFAULT_REPORT_ROOT,
                          keep: int = KEEP_DEFAULT_REPORTS) -> list[Path]:
    """Remove all but the ``keep`` newest report folders under ``root``; return the removed.

    Only the default location is pruned (a run's traces can be megabytes): a folder given
    with ``--report`` is the user's and is never touched.
    """
    if not root.is_dir():
        return []
    folders = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.name)
    stale = folders[:-keep] if keep > 0 else folders
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)
        log.debug("removed old report %s", folder)
    return stale


def default_report_dir(root: Path = DEFAULT_REPORT_ROOT,
                       now: datetime.datetime | None = None) -> Path:
    """``.harness/reports/<UTC timestamp>/`` (a numbered suffix when it exists already)."""
    stamp = (now or datetime.datetime.now(datetime.UTC)).strftime("%Y%m%d-%H%M%S")
    candidate = root / stamp
    number = 1
    while candidate.exists():
        number += 1
        candidate = root / f"{stamp}-{number}"
    return candidate


def trace_name(index: int, result: ScenarioResult) -> str:
    """The folder of one scenario's trace inside a report: ``01-<scenario slug>``."""
    scenario = result.scenario
    path = str(scenario.source.file).removesuffix(".scenario.yaml")
    return f"{index + 1:02d}-{slug(path + '-' + scenario.name)}"


def write_reports(results: Sequence[ScenarioResult], *, report_dir: Path | None,
                  junit_xml: Path | None, title: str) -> ReportPaths:
    """Write the HTML report and one ``trace.jsonl`` per scenario into ``report_dir``
    (``index.html``, ``<nn>-<scenario>/trace.jsonl``), and JUnit XML to ``junit_xml``.

    Either may be None to skip it. Raises ``ConfigError`` when a path cannot be written.
    """
    traces: dict[str, Path] = {}
    index: Path | None = None
    try:
        if report_dir is not None:
            report_dir.mkdir(parents=True, exist_ok=True)
            links: dict[str, str] = {}
            for number, result in enumerate(results):
                folder = trace_name(number, result)
                path = write_trace(result, report_dir / folder / "trace.jsonl", run_title=title)
                traces[result.scenario.id] = path
                links[result.scenario.id] = f"{folder}/trace.jsonl"
            index = report_dir / "index.html"
            index.write_text(render_html(results, title=title, traces=links), encoding="utf-8")
            log.info("report written to %s", index)
        junit: Path | None = None
        if junit_xml is not None:
            junit = write_junit(results, junit_xml, title=title, traces=traces)
            log.info("JUnit XML written to %s", junit)
    except OSError as exc:
        raise ConfigError(f"cannot write the report to {exc.filename or report_dir}: "
                          f"{exc.strerror or exc}") from exc
    return ReportPaths(report_dir, index, traces, junit)
