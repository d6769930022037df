"""Stream scripts: event counts, seq numbering, order, payload sizes and shapes."""

from __future__ import annotations

from collections import Counter

import pytest

from harness.protocol import Event
from harness.sim import StreamScript, stream_events
from harness.sim.script import make_text

WO = "a" * 24
CS = "b" * 24


def test_default_script_is_thinking_response_complete() -> None:
    events = stream_events(StreamScript(), WO, CS)
    assert [e for e, _ in events] == [Event.THINKING, Event.RESPONSE, Event.WORK_ORDER_COMPLETE]
    assert events[-1][1] == {
        "workOrderId": WO,
        "chatSessionId": CS,
        "seq": 2,
        "status": "complete",
        "summary": "done",
    }


@pytest.mark.parametrize("interleave", [True, False])
def test_counts_and_seq_across_kinds(interleave: bool) -> None:
    script = StreamScript(thinking=3, responses=5, tool_calls=2, interleave=interleave)
    events = stream_events(script, WO, CS)
    kinds = Counter(e for e, _ in events)
    assert kinds == {
        Event.THINKING: 3,
        Event.RESPONSE: 5,
        Event.TOOL_CALL: 2,
        Event.WORK_ORDER_COMPLETE: 1,
    }
    assert [p["seq"] for _, p in events] == list(range(11))
    assert script.event_count == 10
    assert all(p["workOrderId"] == WO and p["chatSessionId"] == CS for _, p in events)


def test_interleaved_order_is_round_robin() -> None:
    script = StreamScript(thinking=2, responses=3, tool_calls=1)
    order = [e for e, _ in stream_events(script, WO, CS)]
    assert order == [
        Event.THINKING,
        Event.TOOL_CALL,
        Event.RESPONSE,
        Event.THINKING,
        Event.RESPONSE,
        Event.RESPONSE,
        Event.WORK_ORDER_COMPLETE,
    ]


def test_grouped_order_is_thinking_then_tools_then_responses() -> None:
    script = StreamScript(thinking=2, responses=2, tool_calls=2, interleave=False)
    order = [e for e, _ in stream_events(script, WO, CS)]
    assert order == [
        Event.THINKING,
        Event.THINKING,
        Event.TOOL_CALL,
        Event.TOOL_CALL,
        Event.RESPONSE,
        Event.RESPONSE,
        Event.WORK_ORDER_COMPLETE,
    ]


def test_start_seq_continues_numbering() -> None:
    events = stream_events(StreamScript(thinking=1, responses=1), WO, CS, start_seq=7)
    assert [p["seq"] for _, p in events] == [7, 8, 9]


@pytest.mark.parametrize("size", [0, 5, 32, 1000, 65536])
def test_text_is_exactly_text_size_bytes(size: int) -> None:
    script = StreamScript(thinking=1, responses=1, tool_calls=1, text_size=size)
    for event, payload in stream_events(script, WO, CS)[:-1]:
        text = payload["arguments"]["content"] if event == Event.TOOL_CALL else payload["text"]
        assert len(text.encode()) == size


def test_texts_identify_their_event() -> None:
    script = StreamScript(thinking=2, responses=2, text_size=64)
    texts = [p["text"] for e, p in stream_events(script, WO, CS) if "text" in p]
    assert texts[0].startswith(f"wo={WO} seq=0 thinking ")
    assert len(set(texts)) == len(texts)


def test_tool_call_shape() -> None:
    script = StreamScript(thinking=0, responses=0, tool_calls=2)
    calls = [p for e, p in stream_events(script, WO, CS) if e == Event.TOOL_CALL]
    assert len(calls) == 2
    for call in calls:
        assert set(call) == {
            "workOrderId",
            "chatSessionId",
            "seq",
            "toolCallId",
            "name",
            "arguments",
        }
        assert isinstance(call["arguments"], dict)
        assert isinstance(call["name"], str) and call["name"]
    assert calls[0]["toolCallId"] != calls[1]["toolCallId"]


def test_stream_payloads_carry_only_protocol_fields() -> None:
    script = StreamScript(thinking=1, responses=1, tool_calls=1)
    allowed = {
        "workOrderId",
        "chatSessionId",
        "seq",
        "text",
        "toolCallId",
        "name",
        "arguments",
        "status",
        "summary",
    }
    for _, payload in stream_events(script, WO, CS):
        assert set(payload) <= allowed


def test_no_completion_when_final_status_is_none() -> None:
    events = stream_events(StreamScript(final_status=None), WO, CS)
    assert Event.WORK_ORDER_COMPLETE not in [e for e, _ in events]
    assert len(events) == 2


def test_failed_completion_carries_summary() -> None:
    events = stream_events(StreamScript(final_status="failed", summary="boom"), WO, CS)
    assert events[-1][1]["status"] == "failed"
    assert events[-1][1]["summary"] == "boom"


def test_empty_script_only_completes() -> None:
    events = stream_events(StreamScript(thinking=0, responses=0), WO, CS)
    assert events == [
        (
            Event.WORK_ORDER_COMPLETE,
            {
                "workOrderId": WO,
                "chatSessionId": CS,
                "seq": 0,
                "status": "complete",
                "summary": "done",
            },
        )
    ]


def test_make_text_cuts_a_long_label() -> None:
    assert make_text(3, "abcdef") == "abc"
    assert make_text(8, "ab") == "ababcdef"
