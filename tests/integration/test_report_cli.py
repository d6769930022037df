"""Live: ``harness run --report --junit-xml`` writes the reports; ``harness show`` reads them."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

HARNESS = str(Path(sys.executable).parent / "harness")

SCENARIO = """\
name: stream
world: {drones_per_user: 1}
actors:
  ide: {ide: {user: 0}}
  d0: {drone: 0, behaviour: {script: {thinking: 3, responses: 2, tool_calls: 0}}}
steps:
  - connect: [d0, ide]
  - emit: {actor: ide, event: openChatSession, payload: {chatSessionId: "${chat_sessions[0].id}"},
           ack: {ok: true}}
  - emit:
      actor: ide
      event: requestSessionLock
      payload: {registrationId: "${drones[0].id}", chatSessionId: "${chat_sessions[0].id}"}
      ack: {ok: true}
  - emit:
      actor: ide
      event: submitPrompt
      payload: {registrationId: "${drones[0].id}", chatSessionId: "${chat_sessions[0].id}",
                prompt: hi}
      ack: {ok: true}
  - expect: {actor: ide, event: workOrderComplete, timeout: 10}
"""


def test_run_writes_report_traces_junit_and_latency_and_show_reads_them(tmp_path: Path) -> None:
    (tmp_path / "s.scenario.yaml").write_text(SCENARIO)
    report, junit = tmp_path / "report", tmp_path / "junit.xml"
    run = subprocess.run([HARNESS, "run", "s.scenario.yaml", "--report", str(report),
                          "--junit-xml", str(junit)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=180, env={**os.environ, "COLUMNS": "160"})
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert "delivery latency (drone emit -> IDE receipt)" in out
    latency = {line.split("│")[1].strip(): line for line in out.splitlines()
               if line.count("│") > 5}
    assert "thinking" in latency and "response" in latency
    assert latency["thinking"].split("│")[2].strip() == "3"  # deliveries
    assert f"report: {report / 'index.html'}" in out
    case = ET.parse(junit).getroot().find(".//testcase")
    assert case is not None and case.get("name") == "stream" and len(case) == 1  # properties
    (trace,) = report.glob("*/trace.jsonl")
    assert "delivery latency" in (report / "index.html").read_text()
    assert f"logs: {report / 'logs'}" in out  # the relay's own output, beside the report
    assert "relay listening on" in (report / "logs" / "relay.log").read_text()

    show = subprocess.run([HARNESS, "show", str(trace), "--no-color"], capture_output=True,
                          text=True, timeout=60)
    assert show.returncode == 0, show.stderr
    assert show.stdout.startswith("PASSED s.scenario.yaml::stream")
    assert "d0 →  relay  thinking seq 0" in show.stdout
    assert "relay →  ide    workOrderComplete complete" in show.stdout
