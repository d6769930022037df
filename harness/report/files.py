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
from harness.report.html import render_html, scenario_section, slug
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
    return RunReport(report_dir, title=title).finish(results, junit_xml)


class RunReport:
    """A run's reports, written as the run goes: ``add`` writes a scenario's trace and
    renders its section of the page as soon as its result is in (a run with scenarios
    side by side does that while others still run), ``finish`` writes the page and the
    JUnit XML. What ``finish`` writes is what ``write_reports`` writes for the same
    results: a scenario added at another position than it ends up in is written again.

    ``add`` may run in a worker thread (``asyncio.to_thread``), one scenario per call.
    """

    def __init__(self, report_dir: Path | None, *, title: str) -> None:
        self.report_dir = report_dir
        self.title = title
        self._traces: dict[tuple[int, str], Path] = {}
        self._sections: dict[tuple[int, str], str] = {}
        self.written: ReportPaths | None = None
        """What ``finish`` wrote, once it has."""

    def add(self, position: int, result: ScenarioResult) -> None:
        """Write the trace of ``result``, the ``position``-th scenario of the run, and
        render its section. Raises ``ConfigError`` when the trace cannot be written."""
        if self.report_dir is None:
            return
        key = (position, result.scenario.id)
        folder = trace_name(position, result)
        try:
            self._traces[key] = write_trace(result, self.report_dir / folder / "trace.jsonl",
                                            run_title=self.title)
        except OSError as exc:
            raise self._unwritable(exc) from exc
        self._sections[key] = scenario_section(position, result, f"{folder}/trace.jsonl")

    def finish(self, results: Sequence[ScenarioResult], junit_xml: Path | None) -> ReportPaths:
        """Write what ``add`` has not (every trace, for results never added), the page and
        the JUnit XML; raises ``ConfigError`` when a path cannot be written."""
        traces: dict[str, Path] = {}
        index: Path | None = None
        try:
            if self.report_dir is not None:
                self.report_dir.mkdir(parents=True, exist_ok=True)
                links: dict[str, str] = {}
                for number, result in enumerate(results):
                    folder = trace_name(number, result)
                    path = self._traces.get((number, result.scenario.id))
                    if path is None:
                        path = write_trace(result, self.report_dir / folder / "trace.jsonl",
                                           run_title=self.title)
                    traces[result.scenario.id] = path
                    links[result.scenario.id] = f"{folder}/trace.jsonl"
                index = self.report_dir / "index.html"
                index.write_text(render_html(results, title=self.title, traces=links,
                                             rendered=self._sections), encoding="utf-8")
                log.info("report written to %s", index)
            junit: Path | None = None
            if junit_xml is not None:
                junit = write_junit(results, junit_xml, title=self.title, traces=traces)
                log.info("JUnit XML written to %s", junit)
        except OSError as exc:
            raise self._unwritable(exc) from exc
        self.written = ReportPaths(self.report_dir, index, traces, junit)
        return self.written

    def _unwritable(self, exc: OSError) -> ConfigError:
        return ConfigError(f"cannot write the report to {exc.filename or self.report_dir}: "
                           f"{exc.strerror or exc}")
