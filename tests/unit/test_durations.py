"""Scenario durations kept between runs, so the long ones start first."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from _report_results import make_result

from harness.scenario.durations import read_durations, save_durations
from harness.scenario.schedule import expected_seconds


def test_durations_merge_finished_results_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "durations.json"
    path.parent.mkdir()
    path.write_text('{"old": 2.5, "bad": "x", "negative": -1}', encoding="utf-8")
    passed = make_result([])
    skipped = make_result([])
    skipped.status = "skipped"
    save_durations([passed, skipped], path)
    assert read_durations(path) == {"old": 2.5, passed.scenario.id: 1.5}


def test_missing_or_broken_durations_are_no_history(tmp_path: Path) -> None:
    assert read_durations(tmp_path / "absent.json") == {}
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    assert read_durations(tmp_path / "broken.json") == {}
    (tmp_path / "list.json").write_text("[1, 2]", encoding="utf-8")
    assert read_durations(tmp_path / "list.json") == {}


def test_without_history_a_slow_scenario_is_expected_longer() -> None:
    plain = make_result([]).scenario
    slow = dataclasses.replace(plain, tags=("slow",))
    assert expected_seconds(slow, {}) > expected_seconds(plain, {})
    assert expected_seconds(slow, {slow.id: 0.2}) == 0.2  # history wins over the guess
