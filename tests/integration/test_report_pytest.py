"""Live: scenario failures in pytest's own ``--junit-xml``, and ``--harness-report DIR``."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from harness.report import read_trace

LOCK = """\
name: lock
world: {drones_per_user: 1}
actors:
  ide: {ide: {user: 0}}
  d0: {drone: 0}
steps:
  - connect: [d0, ide]
  - emit: {actor: ide, event: openChatSession, payload: {chatSessionId: "${chat_sessions[0].id}"},
           ack: {ok: true}}
  - name: lock the drone
    emit:
      actor: ide
      event: requestSessionLock
      payload: {registrationId: "${drones[0].id}", chatSessionId: "${chat_sessions[0].id}"}
      ack: {ok: true}
"""


def test_pytest_junit_xml_and_the_harness_report_tell_the_failure(
        pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = auto\n"
                     "asyncio_default_fixture_loop_scope = function\n")
    pytester.makefile(".scenario.yaml", lock=LOCK)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--harness-regress", "lookup-by-socket-id",
        "--junit-xml", "junit.xml", "--harness-report", "report", "-rf", timeout=180)
    result.assert_outcomes(failed=1)
    # the one-line summary names the step and the problem
    result.stdout.fnmatch_lines(['FAILED lock.scenario.yaml::lock - step 3 (emit "lock the '
                                 'drone"): the ack of*'])

    case = ET.parse(pytester.path / "junit.xml").getroot().find(".//testcase")
    assert case is not None
    failure = case.find("failure")
    assert failure is not None
    message = failure.get("message") or ""
    assert message.startswith('step 3 (emit "lock the drone"): the ack of requestSessionLock '
                              "from ide ide (user ")
    assert ": expected ok, got refused 'drone-offline'" in message.splitlines()[0]
    assert "drone-offline" in message.splitlines()[0]
    assert "last messages per actor:" in (failure.text or "")
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    trace = read_trace(pytester.path / str(props["trace"]))
    assert trace.header["status"] == "failed"
    assert any(m.actor == "d0" and m.direction == "connect" for m in trace.messages)
    page = (pytester.path / "report" / "index.html").read_text()
    assert "requestSessionLock never reached d0 (ack: error drone-offline)" in page
