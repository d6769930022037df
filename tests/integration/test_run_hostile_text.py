"""Hostile text in what ``harness run`` prints: scenario names and relay-supplied failure
text are never read as Rich markup, and the reports are written before anything is
printed (issue 13, finding 2: a name like ``markup [/nope]`` used to raise MarkupError after
the run, exit 1, and lose the report)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HARNESS = [sys.executable, "-m", "harness.cli"]

NAMED = """\
name: markup [/nope] [bold]x
actors: {ide: {ide: {user: 0}}}
steps:
  - connect: ide
"""

FAILING = """\
name: a failure that quotes [/red] markup
actors: {ide: {ide: {user: 0}}}
steps:
  - connect: ide
  - emit:
      actor: ide
      event: openChatSession
      payload: {chatSessionId: "${chat_sessions[0].id}"}
      ack: {ok: false, error: "[/bad] [link=x]"}
"""


def _run(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "s.scenario.yaml").write_text(text)
    return subprocess.run([*HARNESS, "run", "s.scenario.yaml", "--report",
                           str(tmp_path / "report")], cwd=tmp_path, capture_output=True,
                          text=True, timeout=180, env={**os.environ, "COLUMNS": "200"})


def test_a_scenario_name_with_markup_is_printed_as_written_and_the_report_kept(
        tmp_path: Path) -> None:
    run = _run(tmp_path, NAMED)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert "markup [/nope] [bold]x" in run.stdout
    assert (tmp_path / "report" / "index.html").is_file()


def test_failure_text_with_markup_is_printed_as_written_and_the_report_kept(
        tmp_path: Path) -> None:
    run = _run(tmp_path, FAILING)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert "[/bad] [link=x]" in run.stdout
    assert "0 passed, 1 failed" in run.stdout
    assert (tmp_path / "report" / "index.html").is_file()
