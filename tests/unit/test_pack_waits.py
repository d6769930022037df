"""The pack waits for conditions, never a fixed time: no scenario of ``scenarios/`` uses
``pause`` (a step for replays that keep a recording's gaps, docs/scenarios.md)."""

from __future__ import annotations

from pathlib import Path

from harness.scenario import load_paths

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_no_scenario_of_the_pack_pauses() -> None:
    pausing = sorted({f"{scenario.source.file.name}:{step.source.line}"
                      for scenario in load_paths([SCENARIOS])
                      for step in scenario.all_steps() if step.kind == "pause"})
    assert pausing == []


def test_the_check_finds_a_pause(tmp_path: Path) -> None:
    (tmp_path / "p.scenario.yaml").write_text(
        "name: p\nactors: {ide: {ide: {user: 0}}}\nsteps:\n  - connect: ide\n"
        "  - parallel:\n      - pause: 0.1\n", encoding="utf-8")
    found = [step.kind for scenario in load_paths([tmp_path])
             for step in scenario.all_steps()]
    assert found == ["connect", "parallel", "pause"]
