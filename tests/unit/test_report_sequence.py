"""Sequence diagram layout: lanes, arrows through the relay, lost sends, collapsed streams."""

from __future__ import annotations

import json

import pytest
from _report_results import REG, Recorder, make_result, stream
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.outcome.facts import Fact
from harness.report import sequence
from harness.report.sequence import RELAY, diagram_of_result
from harness.report.svg import render_svg


def test_lanes_put_ides_left_the_relay_in_the_middle_and_drones_right() -> None:
    rec = Recorder()
    rec.add(0.0, "d0", "drone", "connect", "connect")
    rec.add(0.1, "ide", "ide", "connect", "connect")
    rec.add(0.2, "api", "http", "sent", "GET /healthz")
    diagram = diagram_of_result(make_result(rec.messages))
    assert [lane.id for lane in diagram.lanes] == ["api", "ide", RELAY, "d0"]
    assert diagram.lane("d0").subtitle == "drone aaaa…aaaa"


def test_each_side_of_a_message_is_an_arrow_through_the_relay() -> None:
    rec = Recorder()
    rec.step(0.0, "step 1 (emit)", "1")
    rec.add(0.01, "ide", "ide", "sent", "requestSessionLock",
            {"registrationId": REG, "chatSessionId": "d" * 24})
    rec.add(0.02, "d0", "drone", "received", "requestSessionLock", {"chatSessionId": "d" * 24})
    rec.add(0.03, "d0", "drone", "acked", "requestSessionLock", ack=True)
    rec.add(0.04, "ide", "ide", "ack", "requestSessionLock", ack={"ok": True}, sent_seq=1)
    rec.add(0.05, "d0", "drone", "sent", "thinking", stream(0, 0))
    rec.add(0.06, "ide", "ide", "received", "thinking", stream(0, 0))
    rows = diagram_of_result(make_result(rec.messages)).rows
    arrows = [(r.src, r.dst, r.label, r.style) for r in rows if r.kind == "arrow"]
    assert arrows == [
        ("ide", RELAY, "requestSessionLock", "event"),
        (RELAY, "d0", "requestSessionLock", "event"),
        ("d0", RELAY, "ack requestSessionLock: true", "ack"),
        (RELAY, "ide", "ack requestSessionLock: ok", "ack"),
        ("d0", RELAY, "thinking seq 0", "event"),
        (RELAY, "ide", "thinking seq 0", "event"),
    ]
    assert not any(r.kind in ("lost", "missing") for r in rows)
    assert rows[0].kind == "step" and rows[0].label == "step 1 (emit)"
    assert [r.t for r in rows[1:3]] == [0.01, 0.02]


def test_a_request_the_drone_never_got_stops_at_the_relay_and_says_why() -> None:
    rec = Recorder()
    rec.step(0.0, "step 1 (emit)", "1")
    rec.add(0.01, "ide", "ide", "sent", "requestSessionLock",
            {"registrationId": REG, "chatSessionId": "d" * 24})
    rec.add(0.02, "ide", "ide", "ack", "requestSessionLock",
            ack={"ok": False, "error": "drone-offline"}, sent_seq=1)
    rec.step(0.03, "step 2 (expect)", "2")
    rec.add(0.04, "ide", "ide", "disconnect", "disconnect", reason="client")
    result = make_result(rec.messages, failing="step 1 (emit)",
                         message="the relay answered requestSessionLock with drone-offline")

    diagram = diagram_of_result(result)

    (lost,) = [r for r in diagram.rows if r.kind == "lost"]
    assert (lost.src, lost.dst, lost.label) == ("ide", RELAY, "requestSessionLock")
    assert lost.why == "requestSessionLock never reached d0 (ack: error drone-offline)"
    assert lost.failing
    kinds = [r.kind for r in diagram.rows]
    # the failure is drawn where the failing step ended, before the next step
    assert kinds == ["step", "lost", "arrow", "failure", "step", "arrow"]
    assert [r.failing for r in diagram.rows if r.kind == "step"] == [True, False]
    svg = render_svg(diagram)
    assert "requestSessionLock never reached d0 (ack: error drone-offline)" in svg
    assert 'class="row step failing failed"' in svg
    assert "FAILED HERE" in svg


def test_a_termination_that_never_reached_the_drone_is_lost_and_a_delivered_one_is_not() -> None:
    rec = Recorder()
    path = f"POST /api/v1/drone/registration/{REG}/terminate"
    rec.add(0.0, "owner", "http", "sent", path)
    rec.add(5.0, "owner", "http", "received", path, {"ok": False, "error": "termination-timeout"},
            status=504, sent_seq=0)
    rec.add(6.0, "owner", "http", "sent", path)
    rec.add(6.1, "d0", "drone", "received", "requestTermination", {})
    rec.add(6.2, "owner", "http", "received", path, {"ok": True}, status=200, sent_seq=2)
    rows = diagram_of_result(make_result(rec.messages)).rows
    lost = [r for r in rows if r.kind == "lost"]
    assert [r.why for r in lost] == ["requestTermination never reached d0 (504 "
                                     "termination-timeout)"]
    assert lost[0].label == "POST /api/v1/drone/registration/aaaa…aaaa/terminate"


def test_stream_events_no_ide_received_are_lost_and_an_unexplained_expect_is_missing() -> None:
    rec = Recorder()
    rec.add(0.0, "ide", "ide", "connect", "connect")
    rec.step(0.1, "step 1 (expect)", "1")
    rec.add(0.2, "d0", "drone", "sent", "thinking", stream(0, 0))
    result = make_result(rec.messages, failing="step 1 (expect)",
                         message="droneStatus never reached ide ide (user "
                                 "bbbbbbbbbbbbbbbbbbbbbbbb): nothing arrived in 5 s",
                         facts=(Fact("never-reached", event="droneStatus", actor="ide",
                                     role="ide", who="ide ide"),))
    rows = diagram_of_result(result).rows
    (lost,) = [r for r in rows if r.kind == "lost"]
    assert lost.why == "thinking seq 0 never reached an IDE"
    (missing,) = [r for r in rows if r.kind == "missing"]
    assert (missing.src, missing.dst, missing.why) == (
        RELAY, "ide", "expected droneStatus never reached ide")


def test_long_streams_collapse_into_groups_and_lost_ones_stay_apart() -> None:
    rec = Recorder()
    rec.step(0.0, "step 1 (stream)", "1")
    for n in range(200):
        rec.add(1 + n / 1000, "d0", "drone", "sent", "thinking", stream(0, n))
        if n != 150:
            rec.add(1.0005 + n / 1000, "ide", "ide", "received", "thinking", stream(0, n))
    diagram = diagram_of_result(make_result(rec.messages))
    groups = [r for r in diagram.rows if r.kind == "group"]
    assert [(g.src, g.dst, g.label, g.count) for g in groups] == [
        ("d0", RELAY, "thinking x 199, seq 0-199", 199),
        (RELAY, "ide", "thinking x 199, seq 0-199", 199),
    ]
    (lost,) = [r for r in diagram.rows if r.kind == "lost"]
    assert lost.why == "thinking seq 150 never reached an IDE"
    assert diagram.collapsed == 398
    assert len(diagram.rows) == 4


def test_very_long_diagrams_keep_the_failure_in_view(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sequence, "MAX_ROWS", 20)
    rec = Recorder()
    for n in range(30):
        rec.step(n, f"step {n + 1} (emit)", str(n + 1))
        rec.add(n + 0.5, "ide", "ide", "sent", "openChatSession", {})
    result = make_result(rec.messages, failing="step 25 (emit)")
    diagram = diagram_of_result(result)
    kinds = [r.kind for r in diagram.rows]
    assert kinds[0] == "elided" and kinds[-1] == "elided"
    assert "failure" in kinds
    assert diagram.elided == 61 - 20


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=5) | st.integers(), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(_JSON_VALUES)
def test_pretty_writes_what_json_writes(value: object) -> None:
    # orjson (fast) or json (what orjson cannot write alike): the text is json's.
    try:
        expected = json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        expected = repr(value)
    assert sequence.pretty(value) == (expected if value is not None else "")
