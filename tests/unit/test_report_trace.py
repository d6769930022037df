"""trace.jsonl: written and read back unchanged; malformed files named with their line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _report_results import REG, Recorder, make_result, stream
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.report import trace as trace_module
from harness.report.trace import SCHEMA, TraceError, parse_trace, read_trace, write_trace


def _history() -> Recorder:
    rec = Recorder()
    rec.step(10.0, "step 1 (connect)", "1")
    rec.add(10.1, "d0", "drone", "connect", "connect", transport="websocket")
    rec.add(10.2, "d0", "drone", "sent", "thinking", stream(10.2, 0))
    rec.add(10.25, "ide", "ide", "received", "thinking", {**stream(10.2, 0), "registrationId": REG})
    rec.add(10.3, "ide", "ide", "ack", "openChatSession", ack={"ok": True}, sent_seq=1, rtt=0.01)
    return rec


def test_round_trip_keeps_every_message_with_times_relative_to_the_first(tmp_path: Path) -> None:
    result = make_result(_history().messages, failing="step 1 (connect)")
    path = write_trace(result, tmp_path / "a" / "trace.jsonl", run_title="ci")

    trace = read_trace(path)

    assert trace.header["schema"] == SCHEMA and trace.header["version"] == 1
    assert trace.header["scenario"] == result.scenario.id
    assert trace.header["run"] == {"id": "run-1", "title": "ci"}
    assert trace.header["failure"]["step"] == "step 1 (connect)"
    assert trace.actors["d0"].registration_id == REG
    assert trace.actors["ide"].kind == "ide"
    assert len(trace.messages) == len(result.history)
    for original, back in zip(result.history, trace.messages, strict=True):
        assert back.t == pytest.approx(original.t - 10.0)
        assert (back.seq, back.actor, back.kind, back.direction, back.event, back.payload,
                back.ack, back.socket_id, back.meta) == (
            original.seq, original.actor, original.kind, original.direction, original.event,
            original.payload, original.ack, original.socket_id, original.meta)


def test_every_line_is_one_json_object(tmp_path: Path) -> None:
    path = write_trace(make_result(_history().messages), tmp_path / "trace.jsonl")
    lines = path.read_text().splitlines()
    assert len(lines) == 1 + 5
    assert [json.loads(line)["type"] for line in lines] == ["header"] + ["message"] * 5


@pytest.mark.parametrize(("text", "error"), [
    ("", "empty trace"),
    ('{"type": "message"}\n', ":1: not a gadget-harness-trace file .*this one has the keys "
                              "type"),
    ('{"type": "header", "schema": "gadget-harness-trace", "version": 99}\n',
     ":1: schema version 99 is not supported"),
    ('{"type": "header", "schema": "gadget-harness-trace", "version": 1}\nnot json\n',
     ":2: not JSON .*the last good record: line 1 [(]the header[)]"),
    ('{"type": "header", "schema": "gadget-harness-trace", "version": 1}\n{"seq": 1}\n',
     ":2: not a message line"),
    ('{"type": "header", "schema": "gadget-harness-trace", "version": 1}\n'
     '{"seq": 0, "t": 0.5, "actor": "ide1", "kind": "ide", "direction": "sent", '
     '"event": "openChatSession"}\n{"seq": 1, "t": 0.6, "act',
     ":3: not JSON [(]a cut or corrupted record[)].*the last good record: line 2 "
     "[(]seq 0: ide1 sent openChatSession at [+]0.500 s[)]"),
])
def test_malformed_traces_name_the_line_and_the_last_good_record(text: str, error: str) -> None:
    with pytest.raises(TraceError, match=error):
        parse_trace(text, "t.jsonl")


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="cannot read"):
        read_trace(tmp_path / "nope.jsonl")


@settings(max_examples=200, deadline=None)
@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=5) | st.integers(), inner, max_size=4),
    max_leaves=20))
def test_a_trace_line_reads_back_as_json_writes_it(payload: object) -> None:
    # orjson writes the lines (compact), json what orjson would write otherwise: read back,
    # a line is what json's own text of it reads back as.
    line = {"type": "message", "payload": payload}
    expected = json.loads(json.dumps(line, default=str))
    written = trace_module._line(line)
    assert written.endswith("\n") and written.count("\n") == 1
    got = json.loads(written)
    assert repr(got) == repr(expected)  # repr: NaN != NaN, but their texts agree
