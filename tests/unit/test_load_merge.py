"""Merging worker snapshots, the steady-phase rate, the threshold metrics, dealing pairs to
workers, configuration errors and the bounded recorder."""

from __future__ import annotations

import importlib

import pytest

from harness.errors import ConfigError
from harness.load.config import LoadConfig, Pair, split_pairs
from harness.load.histogram import Histogram
from harness.load.metrics import Gauges, RunAggregate, Snapshot, WorkerStats
from harness.sim.history import Message
from harness.sim.recorder import SinkHistory


def _snap(worker: int, t: float, phase: str, latencies: list[float], *, errors: int = 0,
          drones: int = 1, final: bool = False) -> Snapshot:
    stats = WorkerStats(worker)
    for seconds in latencies:
        stats.latency_of("thinking", seconds)
    for _ in range(errors):
        stats.error("submitPrompt:drone-timeout")
    stats.timing("submit", 0.01)
    return stats.snapshot(t, phase, Gauges(ides=drones, drones=drones), {}, [], 0, final=final)


def test_worker_stats_snapshot_is_a_delta() -> None:
    stats = WorkerStats(0)
    stats.latency_of("thinking", 0.001)
    first = stats.snapshot(1.0, "steady", Gauges(), {}, [], 0)
    second = stats.snapshot(2.0, "steady", Gauges(), {}, [], 0)
    assert first.delivered == {"thinking": 1} and first.latency["all"].count == 1
    assert second.delivered == {} and second.latency == {}


def test_merging_snapshots_of_two_workers() -> None:
    agg = RunAggregate(started_at=100.0, interval=1.0)
    agg.add(_snap(0, 100.5, "ramp", [0.001] * 10, drones=2))
    agg.add(_snap(1, 100.6, "ramp", [0.002] * 10, drones=3))
    agg.add(_snap(0, 101.5, "steady", [0.001] * 100, errors=2, drones=2))
    agg.add(_snap(1, 101.6, "steady", [0.050] * 100, drones=3))
    agg.add(_snap(0, 102.5, "steady", [0.001] * 50, drones=2))
    agg.add(_snap(1, 102.6, "drain", [0.001] * 5, drones=0, final=True))
    assert agg.total_delivered == 275
    assert agg.errors == {"submitPrompt:drone-timeout": 2}
    assert agg.peak_drones == 5 and agg.connected_drones == 2
    assert agg.finished == {1}
    assert [w.delivered for w in agg.series()] == [20, 200, 55]
    # only window 1 had every worker steady: 200 events in 1 s
    assert agg.steady_rate() == (200.0, 1.0)
    whole = Histogram()
    for seconds in [0.001] * 10 + [0.002] * 10 + [0.001] * 100 + [0.05] * 100 + [0.001] * 55:
        whole.record(seconds)
    assert agg.latency_all() == whole
    metrics = agg.metrics()
    assert metrics["p99"] == pytest.approx(whole.percentile(99))
    assert metrics["rate"] == 200.0 and metrics["errors"] == 2.0
    assert metrics["submit_p50"] == pytest.approx(0.01, rel=0.04)
    assert metrics["violations"] == 0.0 and metrics["delivered"] == 275.0


def test_steady_rate_falls_back_to_every_busy_window() -> None:
    agg = RunAggregate(started_at=0.0, interval=0.5)
    agg.add(_snap(0, 0.2, "ramp", [0.001] * 10))
    agg.add(_snap(0, 0.7, "drain", [0.001] * 20))
    assert agg.steady_rate() == (30.0, 1.0)


def test_violations_and_samples_merge() -> None:
    agg = RunAggregate(0.0, 1.0)
    stats = WorkerStats(0)
    agg.add(stats.snapshot(0.1, "steady", Gauges(), {"delivery/order": 2}, ["[x] a"], 3))
    agg.add(stats.snapshot(0.2, "steady", Gauges(), {"delivery/order": 1}, ["[x] b"], 0))
    assert agg.violations == {"delivery/order": 3} and agg.total_violations == 3
    assert agg.samples == ["[x] a", "[x] b"] and agg.lost_in_crash == 3


def _pair(index: int, user: str) -> Pair:
    return Pair(index, user, f"chat{index}", f"reg{index}", "user-token", "drone-token")


def test_split_pairs_keeps_each_user_in_one_worker() -> None:
    pairs = [_pair(i, f"u{i // 3}") for i in range(10)]  # users of 3, 3, 3, 1 pairs
    slices = split_pairs(pairs, 2)
    assert sorted(len(s) for s in slices) == [4, 6]
    for s in slices:
        for user in {p.user_id for p in s}:
            assert all(p in s for p in pairs if p.user_id == user)
    assert len(split_pairs(pairs[:1], 4)) == 1  # no empty worker
    assert "token" not in repr(pairs[0])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"drones": 0}, "--drones must be an integer >= 1, got 0"),
        ({"workers": 0}, "--workers must be an integer >= 1, got 0"),
        ({"rate": -1.0}, "--rate must be a number >= 0, got -1.0"),
        ({"crash_rate": 1.5}, "--crash-rate is a fraction of prompts, 0 to 1, got 1.5"),
        ({"duration": None}, "give --duration or --events (or both): the run needs an end"),
        ({"duration": 0}, "--duration must be a number > 0, got 0"),
        ({"events": 0}, "--events must be an integer >= 1, got 0"),
        ({"transport": "carrier-pigeon"},
         "--transport must be websocket or polling, got 'carrier-pigeon'"),
    ],
)
def test_config_errors_name_the_flag(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        LoadConfig(**overrides)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_config_derived_values() -> None:
    config = LoadConfig(drones=11, drones_per_user=5, rate=50.0)
    assert config.users == 3 and config.pacing == pytest.approx(0.02)
    assert LoadConfig(rate=0.0).pacing == 0.0


class _Collect:
    def __init__(self) -> None:
        self.seen: list[Message] = []

    def record_message(self, message: Message) -> None:
        self.seen.append(message)


def test_sink_history_forwards_everything_and_keeps_a_bounded_tail() -> None:
    sink = _Collect()
    history = SinkHistory(sink, keep=3)
    for n in range(10):
        history.record("ide-0", "ide", "received", "thinking", {"n": n})
    assert [m.payload["n"] for m in sink.seen] == list(range(10))
    assert [m.seq for m in sink.seen] == list(range(10))
    assert len(history) == 10
    assert [m.payload["n"] for m in history.messages] == [7, 8, 9]
    assert [m.payload["n"] for m in history.select(event="thinking", since=8)] == [8, 9]
    assert [m.seq for m in history.since(9)] == [9]
    assert SinkHistory(sink).messages == ()


@pytest.mark.parametrize("name", ["harness.load", "harness.bench"])
def test_all_matches_public_names(name: str) -> None:
    module = importlib.import_module(name)
    public = {a for a, v in vars(module).items() if not a.startswith("_")
              and not isinstance(v, type(importlib)) and a != "annotations"}
    assert public == set(module.__all__)
