"""JUnit XML: one testcase per scenario, the failure's headline and story inside it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from _report_results import Recorder, make_result

from harness.report.junit import junit_xml, write_junit


def _results() -> list:  # type: ignore[type-arg]
    rec = Recorder()
    rec.step(0.0, "step 1 (connect)", "1")
    rec.step(0.1, "step 2 (expect)", "2")
    passed = make_result(rec.messages)
    failed = make_result(rec.messages, failing="step 2 (expect)",
                         message="thinking never reached ide ide: nothing arrived\x07 in 5 s")
    errored = make_result(rec.messages, failing="step 1 (connect)", kind="error",
                          message="relay unreachable")
    errored.status = "error"
    return [passed, failed, errored]


def test_structure_counts_and_failure_story(tmp_path: Path) -> None:
    results = _results()
    path = write_junit(results, tmp_path / "out" / "junit.xml", title="pack",
                       traces={results[1].scenario.id: Path("r/02/trace.jsonl")})

    root = ET.parse(path).getroot()

    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    assert (suite.get("name"), suite.get("tests"), suite.get("failures"), suite.get("errors")) \
        == ("pack", "3", "1", "1")
    cases = suite.findall("testcase")
    assert [c.get("classname") for c in cases] == ["scenarios.x"] * 3
    assert [c.get("name") for c in cases] == ["x"] * 3
    assert cases[0].find("failure") is None and cases[0].find("error") is None
    failure = cases[1].find("failure")
    assert failure is not None
    assert failure.get("type") == "expectation"
    # the headline names the step; the control character is made visible, not dropped
    assert failure.get("message") == (
        "step 2 (expect): thinking never reached ide ide: nothing arrived\\x07 in 5 s")
    assert failure.text is not None
    assert failure.text.startswith("FAILED scenarios/x.scenario.yaml::x")
    assert "steps:" in failure.text and "✗ 2 (expect)" in failure.text
    props = {p.get("name"): p.get("value") for p in cases[1].iter("property")}
    assert props["trace"] == "r/02/trace.jsonl" and props["run_id"] == "run-1"
    error = cases[2].find("error")
    assert error is not None and error.get("message") == "step 1 (connect): relay unreachable"
    assert float(cases[1].get("time") or 0) == 1.5


def test_the_document_is_well_formed_text() -> None:
    text = junit_xml(_results())
    assert text.startswith("<?xml")
    ET.fromstring(text.split("?>", 1)[1])


def test_a_skipped_scenario_is_a_skipped_testcase_with_its_reason() -> None:
    rec = Recorder()
    rec.step(0.0, "step 1 (connect)", "1")
    result = make_result(rec.messages)
    result.status = "skipped"
    result.notes.append("needs introspection")
    suite = ET.fromstring(junit_xml([result]).split("?>", 1)[1]).find("testsuite")
    assert suite is not None and suite.get("skipped") == "1" and suite.get("failures") == "0"
    skipped = suite.find("testcase/skipped")
    assert skipped is not None and skipped.get("message") == "needs introspection"
