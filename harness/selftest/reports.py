"""Selftest reports: a JUnit XML file and a report directory.

The JUnit file has its own shape, because under a switch a failing scenario is the goal:
suite ``selftest.clean`` holds one test per scenario (it must pass), suite
``selftest.variants`` one test per variant run (it must pass), suite ``selftest.switches``
one test per switch (it must be caught; the failure text lists what failed and why).
``--report DIR`` writes ``matrix.txt``, and for every run the report of
``harness run`` (``harness.report.write_reports``: ``index.html`` and the traces) plus one
failure story per failing scenario into ``DIR/<run>/``.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.outcome import render_story
from harness.report import write_reports
from harness.selftest.matrix import (
    Matrix,
    must_pass,
    render_grid,
    render_reasons,
    render_verdict,
    short_id,
)

log = logging.getLogger(__name__)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _text(value: str) -> str:
    return _CONTROL.sub("?", value)


def matrix_text(matrix: Matrix) -> str:
    """The grid, the reasons and the verdict, as printed."""
    return "\n".join([*render_grid(matrix), *render_reasons(matrix), "",
                      *render_verdict(matrix)]) + "\n"


def junit_tree(matrix: Matrix) -> ET.ElementTree[ET.Element]:
    """The selftest as JUnit XML (see the module docstring)."""
    root = ET.Element("testsuites", name="harness selftest")
    clean = ET.SubElement(root, "testsuite", name="selftest.clean",
                          tests=str(len(matrix.scenarios)),
                          failures=str(len(matrix.clean_failures)),
                          time=f"{matrix.clean.duration:.3f}")
    outcomes = {o.scenario: o for o in matrix.clean.outcomes}
    for scenario in matrix.scenarios:
        outcome = outcomes.get(scenario)
        case = ET.SubElement(clean, "testcase", classname="selftest.clean",
                             name=short_id(scenario),
                             time=f"{outcome.duration if outcome else 0:.3f}")
        if outcome is None:
            ET.SubElement(case, "skipped", message=_text(matrix.clean.error or "not run"))
        elif not outcome.passed:
            ET.SubElement(case, "failure", message=_text(outcome.reason)).text = \
                _text(outcome.reason)
    if matrix.variants:
        failing = [run for run in matrix.variants if not run.green(len(matrix.scenarios))]
        variants = ET.SubElement(root, "testsuite", name="selftest.variants",
                                 tests=str(len(matrix.variants)), failures=str(len(failing)))
        for run in matrix.variants:
            case = ET.SubElement(variants, "testcase", classname="selftest.variants",
                                 name=f"{run.name} passes", time=f"{run.duration:.3f}")
            if run in failing:
                lines = [f"{short_id(o.scenario)}: {o.reason}" for o in run.failures]
                message = run.error or f"{len(run.failures)} scenario(s) failed"
                ET.SubElement(case, "failure", message=_text(message)).text = \
                    _text("\n".join(lines) or message)
    uncaught = [v for v in matrix.switches if v.state != "caught"]
    suite = ET.SubElement(root, "testsuite", name="selftest.switches",
                          tests=str(len(matrix.switches)), failures=str(len(uncaught)))
    for verdict in matrix.switches:
        case = ET.SubElement(suite, "testcase", classname="selftest.switches",
                             name=f"{verdict.run.name} is caught",
                             time=f"{verdict.run.duration:.3f}")
        lines = [f"[{'names it: ' + c.clue if c.clue else 'generic'}] "
                 f"{short_id(c.outcome.scenario)}: {c.outcome.reason}" for c in verdict.catches]
        body = _text("\n".join(lines) or "every scenario passed")
        if verdict.state == "caught":
            ET.SubElement(case, "system-out").text = body
        else:
            message = verdict.run.error or f"{verdict.state}: {verdict.diagnosis.bug}"
            ET.SubElement(case, "failure", message=_text(message)).text = body
    ET.indent(root)
    return ET.ElementTree(root)


def write_selftest_reports(report: Any, *, report_dir: Path | None,
                           junit_xml: Path | None) -> list[Path]:
    """Write the requested reports of a ``SelftestReport``; returns the files written.
    Raises ``ConfigError`` when a path cannot be written."""
    written: list[Path] = []
    matrix: Matrix = report.matrix
    try:
        if junit_xml is not None:
            junit_xml.parent.mkdir(parents=True, exist_ok=True)
            junit_tree(matrix).write(junit_xml, encoding="utf-8", xml_declaration=True)
            written.append(junit_xml)
        if report_dir is not None:
            written += _write_dir(report, matrix, report_dir)
    except OSError as exc:
        raise ConfigError(f"selftest: cannot write reports: {exc}") from exc
    return written


def _write_dir(report: Any, matrix: Matrix, report_dir: Path) -> list[Path]:
    report_dir.mkdir(parents=True, exist_ok=True)
    summary = report_dir / "matrix.txt"
    summary.write_text(matrix_text(matrix), encoding="utf-8")
    written = [summary]
    for run, results in report.results.items():
        folder = report_dir / run.replace(" ", "-")
        folder.mkdir(exist_ok=True)
        for index, result in enumerate(r for r in results if not r.passed):
            story = folder / f"failure-{index + 1:02d}.txt"
            story.write_text(render_story(result) + "\n", encoding="utf-8")
            written.append(story)
        title = f"harness selftest: {run}" + ("" if must_pass(run) else " (failures expected)")
        paths = write_reports(results, report_dir=folder, junit_xml=None, title=title)
        if paths.index is not None:
            written.append(paths.index)
    return written
