"""Delivery latency: drone emit -> IDE receipt matched by (workOrderId, seq, event)."""

from __future__ import annotations

import pytest
from _report_results import Recorder, stream

from harness.report.latency import latency_stats, match_deliveries, percentile


def test_nearest_rank_percentiles() -> None:
    samples = [float(n) for n in range(1, 101)]  # 1..100
    assert percentile(samples, 50) == 50.0
    assert percentile(samples, 95) == 95.0
    assert percentile(samples, 99) == 99.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile([1.0], 0)


def test_each_ide_receipt_is_one_sample_and_unreceived_sends_count_as_lost() -> None:
    rec = Recorder()
    rec.add(1.0, "d0", "drone", "sent", "thinking", stream(1.0, 0))
    rec.add(1.0, "d0", "drone", "sent", "response", stream(1.0, 1))
    rec.add(1.0, "d0", "drone", "sent", "response", stream(1.0, 2))  # never delivered
    rec.add(1.010, "ide", "ide", "received", "thinking", stream(1.0, 0))
    rec.add(1.030, "laptop", "ide", "received", "thinking", stream(1.0, 0))
    rec.add(1.020, "ide", "ide", "received", "response", stream(1.0, 1))
    # the same seq with another event name is not a match
    rec.add(1.040, "ide", "ide", "received", "toolCall", stream(1.0, 2))

    deliveries, lost = match_deliveries(rec.messages)

    assert sorted(round(d.latency, 3) for d in deliveries) == [0.01, 0.02, 0.03]
    assert [(m.event, m.payload["seq"]) for m in lost] == [("response", 2)]
    stats = {s.event: s for s in latency_stats([rec.messages])}
    assert set(stats) == {"thinking", "response"}
    assert stats["thinking"].count == 2
    assert stats["thinking"].p50 == pytest.approx(0.010)
    assert stats["thinking"].p99 == pytest.approx(0.030)
    assert stats["response"].count == 1 and stats["response"].undelivered == 1


def test_a_resent_event_counts_from_its_last_emit_and_histories_add_up() -> None:
    first, second = Recorder(), Recorder()
    first.add(1.0, "d0", "drone", "sent", "thinking", stream(1.0, 0))
    first.add(2.0, "d0", "drone", "sent", "thinking", stream(2.0, 0))
    first.add(2.5, "ide", "ide", "received", "thinking", stream(2.0, 0))
    for n in range(100):
        second.add(10.0 + n, "d0", "drone", "sent", "thinking", stream(0, n))
        second.add(10.0 + n + (n + 1) / 1000, "ide", "ide", "received", "thinking", stream(0, n))

    (stats,) = latency_stats([first.messages, second.messages])

    assert stats.count == 101
    assert stats.undelivered == 1  # the superseded first emit reached no IDE
    # 101 samples: 0.001 .. 0.100 and 0.5; nearest rank 51 and 96
    assert stats.p50 == pytest.approx(0.051)
    assert stats.p95 == pytest.approx(0.096)
    assert stats.max == pytest.approx(0.5)


def test_non_stream_and_ide_sends_are_ignored() -> None:
    rec = Recorder()
    rec.add(1.0, "ide", "ide", "sent", "thinking", stream(1.0, 0))
    rec.add(1.0, "d0", "drone", "sent", "requestCrashRecovery", None)
    rec.add(1.1, "ide", "ide", "received", "droneStatus", {"status": "busy"})
    assert latency_stats([rec.messages]) == []


def test_an_emit_owed_to_nobody_is_neither_a_sample_nor_lost() -> None:
    rec = Recorder()
    rec.add(1.0, "d0", "drone", "sent", "thinking", stream(1.0, 0), negative=True)
    rec.add(1.0, "d0", "drone", "sent", "thinking", stream(1.0, 1), optional=True)
    rec.add(1.1, "d0", "drone", "sent", "thinking", stream(1.0, 2))
    rec.add(1.2, "ide", "ide", "received", "thinking", stream(1.0, 2))

    deliveries, lost = match_deliveries(rec.messages)

    assert [round(d.latency, 3) for d in deliveries] == [0.1]
    assert lost == []
