"""JUnit XML for CI systems: one ``testcase`` per scenario, the failure story inside it.

The layout is the common denominator that Jenkins, GitLab and GitHub test reporters read:
``testsuites > testsuite > testcase`` with ``classname`` (the scenario file), ``name``
(the scenario), ``time``, ``file`` and ``line``; a failing scenario carries ``<failure>``
(``<error>`` when it errored) whose ``message`` is the one-line headline and whose text is
the whole story.
"""

from __future__ import annotations

import datetime
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path

from harness.outcome.results import ScenarioResult
from harness.outcome.story import render_story

# Characters XML 1.0 cannot carry, even escaped.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _INVALID_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def classname(result: ScenarioResult) -> str:
    """The scenario's file without the ``.scenario.yaml`` suffix, dotted: ``delivery.x``."""
    path = str(result.scenario.source.file).removesuffix(".scenario.yaml")
    return path.replace("\\", "/").strip("/").replace("/", ".")


def headline(result: ScenarioResult) -> str:
    """One line: where and why the scenario failed."""
    failure = result.failure
    if failure is None:
        return result.status
    where = f"{failure.step}: " if failure.step else ""
    return f"{where}{failure.message}"


def junit_xml(results: Sequence[ScenarioResult], *, title: str = "gadget-harness",
              traces: Mapping[str, Path] | None = None,
              timestamp: datetime.datetime | None = None) -> str:
    """The JUnit XML document of ``results`` (``traces``: scenario id -> trace file)."""
    failures = sum(1 for r in results if r.status == "failed")
    errors = sum(1 for r in results if r.status == "error")
    skipped = sum(1 for r in results if r.status == "skipped")
    skipped = sum(1 for r in results if r.status == "skipped")
    total = sum(r.duration for r in results)
    stamp = (timestamp or datetime.datetime.now(datetime.UTC)).isoformat(timespec="seconds")
    counts = {"tests": str(len(results)), "failures": str(failures), "errors": str(errors),
              "skipped": str(skipped), "time": f"{total:.3f}"}
    suites = ET.Element("testsuites", {"name": title, **counts})
    suite = ET.SubElement(suites, "testsuite", {"name": title, **counts, "timestamp": stamp})
    for result in results:
        scenario = result.scenario
        case = ET.SubElement(suite, "testcase", {
            "classname": classname(result), "name": scenario.name,
            "time": f"{result.duration:.3f}", "file": str(scenario.source.file),
            "line": str(scenario.source.line)})
        props = {"scenario": scenario.id, "run_id": result.run_id or "",
                 "trace": str(traces[scenario.id]) if traces and scenario.id in traces else ""}
        props = {k: v for k, v in props.items() if v}
        if props:
            holder = ET.SubElement(case, "properties")
            for name, value in props.items():
                ET.SubElement(holder, "property", {"name": name, "value": _clean(value)})
        if result.status == "skipped":
            ET.SubElement(case, "skipped", {"message": _clean("; ".join(result.notes))})
        if result.status == "skipped":
            ET.SubElement(case, "skipped", {"message": _clean("; ".join(result.notes))})
        elif not result.passed:
            tag = "error" if result.status == "error" else "failure"
            kind = result.failure.kind if result.failure else result.status
            node = ET.SubElement(case, tag, {"message": _clean(headline(result)), "type": kind})
            node.text = _clean(render_story(result))
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(results: Sequence[ScenarioResult], path: Path, *, title: str = "gadget-harness",
                traces: Mapping[str, Path] | None = None) -> Path:
    """Write ``junit_xml(results)`` to ``path`` (parents created) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(junit_xml(results, title=title, traces=traces), encoding="utf-8")
    return path
