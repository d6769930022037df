"""``harness show``: a trace read back and printed as a timeline."""

from __future__ import annotations

from pathlib import Path

from _report_results import REG, Recorder, make_result
from click.testing import CliRunner

from harness.commands.report import show_command
from harness.report.trace import write_trace


def _trace(tmp_path: Path) -> Path:
    rec = Recorder()
    rec.step(0.0, "step 1 (connect)", "1")
    rec.add(0.01, "d0", "drone", "connect", "connect", transport="websocket")
    rec.step(0.02, "step 2 (emit)", "2")
    rec.add(0.03, "ide", "ide", "sent", "requestSessionLock",
            {"registrationId": REG, "chatSessionId": "d" * 24})
    rec.add(0.04, "ide", "ide", "ack", "requestSessionLock",
            ack={"ok": False, "error": "drone-offline"}, sent_seq=3)
    result = make_result(rec.messages, failing="step 2 (emit)", message="refused")
    return write_trace(result, tmp_path / "01-x" / "trace.jsonl")


def test_show_prints_steps_arrows_and_where_a_message_stopped(tmp_path: Path) -> None:
    path = _trace(tmp_path)
    out = CliRunner().invoke(show_command, [str(path), "--no-color"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0].startswith("FAILED scenarios/x.scenario.yaml::x")
    assert lines[1] == "failed at step 2 (emit), scenarios/x.scenario.yaml:3: refused"
    text = out.output
    assert "✓ step 1 (connect)" in text
    assert "✗ step 2 (emit) ◀ FAILED HERE" in text
    assert "d0 →  relay  connect websocket" in text
    assert "ide ─X relay  requestSessionLock" in text
    assert "✗ requestSessionLock never reached d0 (ack: error drone-offline)" in text
    assert "relay ⇢  ide    ack requestSessionLock: error drone-offline" in text
    assert "✗ refused" in text


def test_show_takes_a_report_folder_and_filters_by_actor(tmp_path: Path) -> None:
    _trace(tmp_path)
    out = CliRunner().invoke(show_command, [str(tmp_path), "--actor", "d0", "--width", "0"])
    assert out.exit_code == 0, out.output
    assert "connect websocket" in out.output
    assert "requestSessionLock" not in out.output.split("FAILED HERE")[1].split("✗ refused")[0]


def test_show_names_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "trace.jsonl"
    bad.write_text("{}\n")
    out = CliRunner().invoke(show_command, [str(bad)])
    assert out.exit_code != 0
    assert "not a gadget-harness-trace file" in str(out.exception)


def test_show_writes_one_trace_as_an_offline_html_page(tmp_path: Path) -> None:
    path = _trace(tmp_path)
    page = tmp_path / "trace.html"
    out = CliRunner().invoke(show_command, [str(path), "--html", str(page)])
    assert out.exit_code == 0, out.output
    html = page.read_text(encoding="utf-8")
    assert "<svg" in html and "requestSessionLock" in html
    assert html.count('class="message"') == 5  # every message, its payload expandable
    assert "src=" not in html and "<link" not in html  # nothing fetched
    two = CliRunner().invoke(show_command, [str(path), str(path), "--html", str(page)])
    assert two.exit_code != 0
    assert "--html writes one trace; 2 were given" in two.output
