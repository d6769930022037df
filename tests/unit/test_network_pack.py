"""The scenario pack exercises every network fault the harness offers: each toxic of the
fault proxy and each control (cut, the half-open cut, stall and resume, refuse, partition
and heal) is used by at least one scenario, so none is offered untried against a relay."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from harness.faults import TOXICS
from harness.scenario import load_paths
from harness.scenario.kinds.fault import FaultArgs
from harness.scenario.model import Step

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
CONTROLS = ("cut", "cut client", "stall", "resume", "refuse", "partition", "heal", "clear")


def _faults(steps: tuple[Step, ...]) -> Iterator[FaultArgs]:
    for step in steps:
        if step.kind == "fault":
            yield step.args
        yield from _faults(step.children)


def _used() -> dict[str, set[str]]:
    used: dict[str, set[str]] = {}
    for scenario in load_paths([SCENARIOS]):
        for args in _faults(scenario.steps):
            if args.action == "toxic":
                what = f"toxic {args.toxic}"
            elif args.action == "cut" and args.cut == "client":
                what = "cut client"
            else:
                what = args.action
            used.setdefault(what, set()).add(scenario.source.file.name)
    return used


def test_every_toxic_and_control_is_used_by_a_scenario() -> None:
    used = _used()
    wanted = [f"toxic {kind}" for kind in TOXICS] + list(CONTROLS)
    assert [what for what in wanted if what not in used] == []


def test_fault_scenarios_live_in_the_network_folder() -> None:
    elsewhere = {name for names in _used().values() for name in names
                 if not (SCENARIOS / "network" / name).exists()}
    assert elsewhere == set()
