"""Failure prose is not an API: reword every sentence and the selftest's verdicts and the
sequence diagram's missing arrows stay the same, because they read the failure's facts."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import MakeRelayEnv

from harness.outcome import wording
from harness.outcome.facts import FACT_KINDS
from harness.outcome.results import ScenarioResult
from harness.report.sequence import diagram_of_result
from harness.scenario import load_file, run_scenario
from harness.selftest import DIAGNOSES

REPO = Path(__file__).resolve().parents[2]
CASES = [  # a failure under each switch, from the pack and the tutorial
    ("lookup-by-socket-id", "docs/tutorial/first.scenario.yaml"),
    ("no-termination-handler", "scenarios/termination/accept.scenario.yaml"),
    ("stale-index-on-disconnect", "scenarios/cleanup/everyone-gone.scenario.yaml"),
    ("termination-waits-for-transport", "scenarios/network/polling-drone-exits.scenario.yaml"),
]


_FIELDS = ("kind", "event", "who", "error", "map", "key")  # always set or rendered as None


def _what_readers_find(switch: str, result: ScenarioResult) -> tuple[object, ...]:
    """The selftest's verdict, the diagram's missing arrows, and the facts' shape (their
    per-run values, ids and socket ids, aside)."""
    assert result.failure is not None
    clue = DIAGNOSES[switch].clue_in(result.failure.facts)
    missing = [(r.src, r.dst, r.label) for r in diagram_of_result(result).rows
               if r.kind == "missing"]
    shape = [(f.kind, f.event, f.actor, f.role, f.error, f.map, f.want, f.have)
             for f in result.failure.facts]
    return clue.what if clue else None, missing, shape


@pytest.mark.parametrize(("switch", "path"), CASES)
async def test_rewording_every_sentence_changes_only_the_words(
        switch: str, path: str, make_relay_env: MakeRelayEnv,
        monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = load_file(REPO / path)[0]
    env = await make_relay_env(regressions=frozenset({switch}))
    before = await run_scenario(scenario, env)
    monkeypatch.setattr(wording, "SENTENCES", {
        kind: f"<<{kind}: " + ", ".join(f"{{{f}}}" for f in _FIELDS) + ">>"
        for kind in FACT_KINDS})
    monkeypatch.setattr(wording, "JOINS", dict.fromkeys(FACT_KINDS, " / "))
    after = await run_scenario(scenario, env)
    assert before.failure is not None and after.failure is not None
    assert "<<" not in before.failure.message and "<<" in after.failure.message
    found = _what_readers_find(switch, before)
    assert found[0] is not None, f"{path} under {switch} is not a named catch"
    assert _what_readers_find(switch, after) == found
