"""Which scenarios share the relay under ``harness run -j``, and the stable ``--shard``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.scenario import load_paths
from harness.scenario.loader import load_file
from harness.scenario.schedule import default_jobs, exclusive_reason, parse_shard, shard_of

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
HEAD = "name: s\nworld: {drones_per_user: 1}\nactors: {ide: {ide: {user: 0}}}\n"


def _scenario(text: str):  # type: ignore[no-untyped-def]
    scenario, = load_file(Path("x.scenario.yaml"), HEAD + text)
    return scenario


def test_a_scenario_that_acts_on_the_whole_relay_runs_alone() -> None:
    assert exclusive_reason(_scenario("steps:\n  - connect: ide\n")) is None
    restart = _scenario("steps:\n  - connect: ide\n  - parallel:\n"
                        "      - restart_relay: {timeout: 30}\n")
    assert exclusive_reason(restart) == "it restarts the relay (line 7)"
    sized = _scenario("steps:\n  - wait_until: {sessions: {map: sessions, size: 0}}\n")
    assert exclusive_reason(sized) == "it reads the size of the relay's whole maps (line 5)"
    keyed = _scenario("steps:\n  - check_sessions: {map: sessions, lacks: [x], "
                      "size: {$type: integer}}\n")
    assert exclusive_reason(keyed) is None  # its own keys, the size's type: it shares
    said = _scenario("exclusive: it measures the relay's idle memory\nsteps:\n"
                     "  - connect: ide\n")
    assert exclusive_reason(said) == "it measures the relay's idle memory"


def test_the_packs_exclusive_scenarios_are_the_relay_restarts() -> None:
    alone = sorted(s.source.file.name for s in load_paths([SCENARIOS]) if exclusive_reason(s))
    assert alone == ["relay-restart-reconnect.scenario.yaml", "relay-restart.scenario.yaml"]


@pytest.mark.parametrize(("text", "error"), [
    ("x", "--shard 'x': expected I/N, e.g. 1/4"),
    ("0/4", "--shard '0/4': I must be between 1 and N (4)"),
    ("5/4", "--shard '5/4': I must be between 1 and N (4)"),
])
def test_a_bad_shard_is_one_line_naming_the_flag(text: str, error: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_shard(text)
    assert str(caught.value) == error


def test_shards_split_the_pack_stably_and_completely() -> None:
    assert parse_shard(" 2 / 3 ") == (2, 3)
    ids = [s.id for s in load_paths([SCENARIOS])]
    shards = {i: [x for x in ids if shard_of(x, 4) == i] for i in range(1, 5)}
    assert sorted(x for xs in shards.values() for x in xs) == sorted(ids)  # each once
    assert all(shards.values())  # none empty
    # a scenario's shard is a function of its id alone (sha256), the same on every machine
    # and unchanged by scenarios added or removed around it; pinned, so a change is seen
    assert shard_of("scenarios/delivery/full-work-order.scenario.yaml::full work order",
                    4) == 2
    assert [shard_of(f"s{i}", 3) for i in range(6)] == [
        shard_of(f"s{i}", 3) for i in reversed(range(6))][::-1]


def test_the_default_jobs_count_the_cores_this_process_may_use(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})  # pinned to one core
    assert default_jobs() == 2
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)))
    assert default_jobs() == 8
