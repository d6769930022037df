"""``harness selftest`` live: a small pack against the clean relay and one switch each."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from pathlib import Path

from _harness_cli import run_harness as harness
from conftest import FAST_SETTINGS

from harness.env import LocalEnvironment
from harness.scenario import load_file
from harness.selftest import run_selftest

TERMINATE = """\
name: terminate
world: {drones_per_user: 1}
actors:
  d0: {drone: 0, behaviour: {on_termination: accept}}
  owner: {http: {user: 0}}
steps:
  - connect: d0
  - http:
      actor: owner
      method: POST
      path: /api/v1/drone/registration/${drones[0].id}/terminate
      expect: {status: 200, body: {ok: true, terminated: true}}
"""

OPEN_ONLY = """\
name: open only
actors: {ide: {ide: {user: 0}}}
steps:
  - connect: ide
  - emit:
      actor: ide
      event: openChatSession
      payload: {chatSessionId: "${chat_sessions[0].id}"}
      ack: {ok: true}
"""


def test_selftest_catches_a_switch_and_names_the_problem(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "terminate.scenario.yaml").write_text(TERMINATE)
    (pack / "open.scenario.yaml").write_text(OPEN_ONLY)
    junit, reports = tmp_path / "selftest.xml", tmp_path / "reports"

    done = harness("selftest", str(pack), "--switch", "no-termination-handler",
                   "--variant", "z-timestamps", "--variant", "other-messages",
                   "--junit-xml", str(junit), "--report", str(reports), "--no-explore")

    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "clean: 2/2 passed" in out
    assert "variant z-timestamps: 2/2 passed in" in out
    assert "variant other-messages: 2/2 passed in" in out
    assert "all variants: 2/2 passed in" in out
    assert "no-termination-handler: caught; 1 failed, 1 naming the problem" in out
    assert "[names it: requestTermination never reached the drone]" in out
    assert "answered 504 termination-timeout" in out
    assert "requestTermination never reached drone d0 (" in out
    assert "\nselftest passed\n" in out
    column = out[out.index("compare column: harness compare"):]
    assert "compare column: ok" in column
    assert "clean (again)" in column and "variant z-timestamps" in column
    assert "terminate: owner POST /api/v1/drone/registration/<drone d0>/terminate: HTTP 200" \
        in column  # the switch's first regression, named
    suites = ET.parse(junit).getroot().findall("testsuite")
    assert [(s.get("name"), s.get("failures")) for s in suites] == \
        [("selftest.clean", "0"), ("selftest.variants", "0"), ("selftest.switches", "0")]
    assert (reports / "all-variants" / "index.html").is_file()
    assert "selftest passed" in (reports / "matrix.txt").read_text()
    story = (reports / "no-termination-handler" / "failure-01.txt").read_text()
    assert story.startswith("FAILED ") and "requestTermination never reached drone d0" in story


async def test_a_switch_no_scenario_notices_fails_the_selftest(tmp_path: Path) -> None:
    scenarios = load_file(tmp_path / "open.scenario.yaml", OPEN_ONLY)

    report = await run_selftest(scenarios, ["no-termination-handler"], LocalEnvironment,
                                dataclasses.replace(FAST_SETTINGS))

    matrix = report.matrix
    assert matrix.clean_green
    assert [v.state for v in matrix.switches] == ["missed"]
    assert not matrix.ok
    assert matrix.problems() == ["no-termination-handler: not caught: every scenario passed"]
    assert [r.passed for r in report.results["no-termination-handler"]] == [True]


async def test_a_scenario_that_asserts_a_reference_choice_fails_the_variants_column(
        tmp_path: Path) -> None:
    exact = OPEN_ONLY.replace("ack: {ok: true}", "ack: {$exact: {ok: true}}")
    scenarios = load_file(tmp_path / "exact.scenario.yaml", exact)

    report = await run_selftest(scenarios, [], LocalEnvironment,
                                dataclasses.replace(FAST_SETTINGS),
                                variants=["extra-fields"])

    matrix = report.matrix
    assert matrix.clean_green and not matrix.variants_green and not matrix.ok
    assert [run.name for run in matrix.variants] == ["variant extra-fields"]
    (problem,) = matrix.problems()
    assert problem.startswith("variant extra-fields: 1 scenario(s) failed against a relay "
                              "that takes another allowed answer: ")
    (outcome,) = matrix.variants[0].failures
    assert outcome.reason.startswith("the ack of openChatSession from ide ide (user ")
    assert outcome.reason.endswith(": at relay: expected no such key, got \"gadget-harness\"")


def test_the_explore_column_finds_a_switch_and_nothing_on_the_clean_relay(
        tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "terminate.scenario.yaml").write_text(TERMINATE)
    done = harness("selftest", str(pack), "--switch", "lookup-by-socket-id", "--no-variants",
                   "--explore-seconds", "8", "--explore-examples", "5",
                   "--report", str(tmp_path / "reports"))
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "explore column: exploration alone, seed 1: 8 s against the clean relay, at most " \
        "5 examples per switch" in out
    lines = out.splitlines()
    clean = next(line for line in lines if line.startswith("  clean (no false alarm)"))
    assert "nothing found (ok)" in clean
    found = [line for line in lines
             if line.startswith("  lookup-by-socket-id") and "CAUGHT" in line]
    assert found and "(#1)" in found[0] and found[0].rstrip().endswith("passed"), out
    assert "explore column: ok in " in out
    written = list((tmp_path / "reports" / "explore" / "lookup-by-socket-id").glob(
        "finding-*.scenario.yaml"))
    assert len(written) == 1
