"""The ``fault`` step: its shape, its one-line load errors (file:line, step, field), the
toxics it builds, and how its history notes read in the reports (diagram, timeline, trace,
failure story)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from _report_results import Recorder, make_result

from harness.errors import ScenarioError
from harness.faults import TOXICS, FaultNote, Latency, Timeout, parameters
from harness.outcome import render_story
from harness.report.sequence import diagram_of_result
from harness.report.svg import render_svg
from harness.report.timeline import timeline_lines
from harness.report.trace import parse_trace, write_trace
from harness.scenario.kinds.fault import ACTIONS, FaultArgs, toxics_of
from harness.scenario.loader import load_file
from harness.scenario.network import proxy_seed, uses_faults

FILE = Path("x.scenario.yaml")
HEAD = """\
name: s
actors:
  ide: {ide: {user: 0}}
  d0: {drone: 0}
  d1: {drone: 1}
  api: {http: {user: 0}}
world: {drones_per_user: 2}
steps:
"""


def load(steps: str) -> Any:
    (scenario,) = load_file(FILE, HEAD + textwrap.indent(textwrap.dedent(steps), "  "))
    return scenario


def args(step: str) -> FaultArgs:
    return load(step).steps[0].args


def test_every_action_and_every_toxic_has_a_written_form() -> None:
    written = {
        "toxic": "{actor: ide, toxic: latency, ms: 200, jitter_ms: 50, direction: downstream}",
        "remove": "{actor: d0, remove: latency}",
        "clear": "{actor: d0, clear: true}",
        "cut": "{actor: [d0, d1], cut: true}",
        "stall": "{actor: ide, stall: upstream}",
        "resume": "{actor: ide, resume: upstream}",
        "refuse": "{actor: d0, refuse: true}",
        "partition": "{partition: [d0, ide], name: split}",
        "heal": "{heal: split}",
        "connections": "{actor: d0, connections: 1, timeout: 2}",
    }
    assert set(written) == set(ACTIONS)
    for action, text in written.items():
        assert args(f"- fault: {text}").action == action
    for kind, toxic in TOXICS.items():
        given = {p: 4 if p != "size_variation" else 1 for p in parameters(toxic)}
        text = ", ".join(f"{p}: {v}" for p, v in given.items())
        parsed = args(f"- fault: {{actor: d0, toxic: {kind}, {text}}}")
        assert parsed.params == given
        assert {type(t) for t in toxics_of(parsed)} == {toxic}


def test_a_toxic_acts_both_ways_unless_told_and_is_named_after_kind_and_direction() -> None:
    both = toxics_of(args("- fault: {actor: d0, toxic: timeout, ms: 0}"))
    assert both == (Timeout(name="timeout_upstream", direction="upstream", ms=0),
                    Timeout(name="timeout_downstream", direction="downstream", ms=0))
    one = toxics_of(args("- fault: {actor: d0, toxic: latency, ms: 5, direction: upstream}"))
    assert one == (Latency(name="latency_upstream", direction="upstream", ms=5),)
    named = toxics_of(args("- fault: {actor: d0, toxic: latency, ms: 5, name: slow, "
                           "direction: downstream, toxicity: 0.5}"))
    assert named == (Latency(name="slow", direction="downstream", ms=5, toxicity=0.5),)
    assert [t.name for t in toxics_of(args(
        "- fault: {actor: d0, toxic: latency, ms: 5, name: slow}"))] == [
        "slow_upstream", "slow_downstream"]


BAD = [
    ("- fault: {actor: d0, toxic: latency, ms: -1}",
     "x.scenario.yaml:9: step 1 (fault), field ms: latency 'latency_upstream': ms must be a "
     "number >= 0, got -1"),
    ("- fault: {actor: d0, toxic: latency}",
     "x.scenario.yaml:9: step 1 (fault): the latency toxic needs ms"),
    ("- fault: {actor: d0, toxic: latency, ms: 1, kb_per_s: 3}",
     "x.scenario.yaml:9: step 1 (fault), field kb_per_s: not a parameter of the latency "
     "toxic; its parameters: ms, jitter_ms"),
    ("- fault: {actor: d0, toxic: jam, ms: 1}",
     "x.scenario.yaml:9: step 1 (fault), field toxic: \"jam\" is not allowed; allowed: "
     "latency, bandwidth, timeout, reset_peer, slow_close, slicer, limit_data"),
    ("- fault: {actor: d0, cut: true, stall: upstream}",
     "x.scenario.yaml:9: step 1 (fault): needs exactly one of toxic, remove, clear, cut, "
     "stall, resume, refuse, partition, heal, connections; found cut, stall"),
    ("- fault: {cut: true}",
     "x.scenario.yaml:9: step 1 (fault): a cut fault needs `actor` (the actors whose link it "
     "acts on)"),
    ("- fault: {actor: api, cut: true}",
     "x.scenario.yaml:9: step 1 (fault), field actor: actor 'api' is an http actor, this "
     "step needs an ide or a drone; allowed: ide, d0, d1"),
    ("- fault: {partition: [d0, nobody]}",
     "x.scenario.yaml:9: step 1 (fault), field partition: no actor named 'nobody'; allowed: "
     "ide, d0, d1, api"),
    ("- fault: {actor: d0, cut: true, ms: 3}",
     "x.scenario.yaml:9: step 1 (fault), field ms: not a field of a cut fault; its fields: "
     "actor, cut"),
    ("- fault: {partition: [d0], actor: ide}",
     "x.scenario.yaml:9: step 1 (fault), field actor: not a field of a partition fault; its "
     "fields: partition, name"),
    ("- fault: {actor: d0, toxic: slicer, average_size: 4, size_variation: 4}",
     "x.scenario.yaml:9: step 1 (fault), field size_variation: slicer 'slicer_upstream': "
     "size_variation must be smaller than average_size, got 4 >= 4"),
    ("- fault: {actor: d0, toxic: limit_data, bytes: 1.5}",
     "x.scenario.yaml:9: step 1 (fault), field bytes: limit_data 'limit_data_upstream': "
     "bytes must be an integer >= 0, got 1.5"),
    ("- fault: {actor: d0, toxic: latency, ms: 1, toxicity: 2}",
     "x.scenario.yaml:9: step 1 (fault), field toxicity: latency 'latency_upstream': "
     "toxicity must be between 0 and 1, got 2"),
    ("- fault: {actor: d0, stall: sideways}",
     "x.scenario.yaml:9: step 1 (fault), field stall: \"sideways\" is not allowed; allowed: "
     "both, upstream, downstream"),
    ("- fault: {actor: d0, cut: false}",
     "x.scenario.yaml:9: step 1 (fault), field cut: false is not allowed; allowed: true, "
     "client"),
    ("- fault: {actor: d0, cut: relay}",
     "x.scenario.yaml:9: step 1 (fault), field cut: \"relay\" is not allowed; allowed: true, "
     "client"),
    ("- fault: {actor: d0, connections: -1}",
     "x.scenario.yaml:9: step 1 (fault), field connections: must be >= 0, got -1"),
    ("- wait_until: {disconnected: api}",
     "x.scenario.yaml:9: step 1 (wait_until), field disconnected: actor 'api' is an http "
     "actor, this step needs an ide or a drone; allowed: ide, d0, d1"),
]


@pytest.mark.parametrize(("step", "error"), BAD)
def test_a_bad_fault_step_is_one_line_naming_the_file_line_step_and_field(
        step: str, error: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        load(step)
    assert str(caught.value) == error


def test_only_scenarios_with_fault_steps_get_proxies_seeded_by_file_scenario_and_actor(
        ) -> None:
    assert not uses_faults(load("- connect: d0"))
    nested = load("- parallel:\n    - connect: d0\n    - fault: {actor: d0, cut: true}")
    assert uses_faults(nested)
    assert proxy_seed(nested, "d0") == proxy_seed(load("- connect: d0"), "d0")
    assert proxy_seed(nested, "d0") != proxy_seed(nested, "d1")


NOTES = [
    (FaultNote(("d0",), "cut", {}, {"connections": 2, "lost": 340}),
     "⚡ d0: cut (2 connections reset, 340 B in flight lost)"),
    (FaultNote(("d0", "d1"), "cut", {}, {"connections": 1, "lost": 0}),
     "⚡ d0, d1: cut (1 connection reset)"),
    (FaultNote(("ide",), "toxic", {"toxic": "latency", "ms": 200, "jitter_ms": 50,
                                   "direction": "downstream", "name": "latency"}),
     "⚡ ide link: latency 200±50 ms downstream"),
    (FaultNote(("d0",), "toxic", {"toxic": "bandwidth", "kb_per_s": 2, "direction": "both",
                                  "toxicity": 0.5, "name": "slow"}),
     "⚡ d0 link: bandwidth 2 KB/s both ways (toxicity 0.5, named slow)"),
    (FaultNote(("d0", "ide"), "heal", {"name": "split"}, {"released": 1536}),
     "⚡ heal split (d0, ide): 1.5 KB held, released"),
    (FaultNote(("d0",), "heal", {"name": "split"}, {"released": 0}),
     "⚡ heal split (d0): nothing was held"),
    (FaultNote(("d0", "ide"), "partition", {"name": "split"}),
     "⚡ partition split: d0, ide cut off from the relay"),
    (FaultNote(("ide",), "resume", {"direction": "upstream"}, {"released": 12}),
     "⚡ ide link: resume upstream: 12 B held, released"),
    (FaultNote(("d0",), "refuse", {"refuse": False}), "⚡ d0: accept new connections again"),
    (FaultNote(("d0",), "remove", {"name": "latency"}, {"released": 0}),
     "⚡ d0 link: remove latency"),
    (FaultNote(("d0",), "connections", {"count": 1}), "⚡ d0 link: 1 live connection"),
]


@pytest.mark.parametrize(("note", "text"), NOTES)
def test_a_fault_note_reads_as_one_line_and_survives_json(note: FaultNote, text: str) -> None:
    assert note.describe() == text
    assert FaultNote.from_json(note.to_json()) == note
    assert FaultNote.from_json("cut") is None


def _faulty() -> Recorder:
    rec = Recorder()
    rec.step(0.0, "step 1 (connect)", "1")
    rec.add(0.01, "d0", "drone", "connect", "connect", transport="websocket")
    rec.add(0.02, "ide", "ide", "connect", "connect", transport="websocket")
    rec.step(0.1, "step 2 (fault)", "2")
    rec.add(0.12, "harness", "harness", "note", "fault",
            FaultNote(("d0", "ide"), "cut", {}, {"connections": 2, "lost": 0}).to_json())
    rec.add(0.13, "d0", "drone", "disconnect", "disconnect", reason="server")
    return rec


def test_a_fault_is_a_marked_row_on_every_lane_it_acts_on(tmp_path: Path) -> None:
    result = make_result(_faulty().messages, failing="step 2 (fault)")
    diagram = diagram_of_result(result)
    (row,) = [r for r in diagram.rows if r.style == "fault"]
    assert (row.kind, row.src, row.lanes) == ("marker", "d0", ("d0", "ide"))
    assert row.label == "⚡ d0, ide: cut (2 connections reset)"
    assert row.failing  # inside the failing step
    svg = render_svg(diagram)
    assert svg.count('fill="#e65100"/>') >= 2  # a mark on both lanes
    trace = parse_trace((write_trace(result, tmp_path / "trace.jsonl")).read_text("utf-8"))
    lines = list(timeline_lines(trace))
    fault_line = next(line for line in lines if "⚡" in line)
    assert "d0 ●" in fault_line and fault_line.endswith("⚡ d0, ide: cut (2 connections reset)")
    assert any("⚡" in line for line in timeline_lines(trace, actor="ide"))
    story = render_story(result)
    assert "+0.120 s  ⚡ d0, ide: cut (2 connections reset)" in story
