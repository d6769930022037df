"""The selftest matrix: verdicts, problems, the grid, the reasons and the JUnit shape."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from harness.outcome.facts import Fact
from harness.selftest import DIAGNOSES, Matrix, Outcome, Run, build_matrix, junit_tree
from harness.selftest.matrix import render_grid, render_reasons, render_verdict, short_id

A = "scenarios/delivery/full-work-order.scenario.yaml::full work order"
B = "scenarios/termination/accept.scenario.yaml::accepts"
REG = "6b07e3c532c6e3709bd6ddce"
NAMED = f"POST /x answered 504 termination-timeout; requestTermination never reached drone " \
        f"d0 ({REG})"
LEAK = f"[leaks] the relay's dronesByRegistration map still holds {REG} (registration)"
GENERIC = "the scenario did not finish within its timeout of 60 s"
FACTS = {  # what the failures above establish
    NAMED: (Fact("never-reached", event="requestTermination", actor="d0", role="drone",
                 who=f"drone d0 ({REG})", registration=REG),),
    LEAK: (Fact("map-holds", map="dronesByRegistration", key=REG),),
}


def ok(scenario: str) -> Outcome:
    return Outcome(scenario, "passed", duration=0.5)


def failed(scenario: str, reason: str) -> Outcome:
    return Outcome(scenario, "failed", reason, 1.0, FACTS.get(reason, ()))


def matrix(clean: tuple[Outcome, ...], **runs: tuple[Outcome, ...] | str) -> Matrix:
    switched = []
    for switch, outcomes in runs.items():
        name = switch.replace("_", "-")
        run = Run(name, (), error=outcomes) if isinstance(outcomes, str) else Run(name, outcomes)
        switched.append((run, DIAGNOSES[name]))
    return build_matrix([A, B], Run(None, clean, 2.0), switched)


def test_clean_green_and_every_switch_named_is_ok() -> None:
    m = matrix((ok(A), ok(B)),
               no_termination_handler=(ok(A), failed(B, NAMED)),
               stale_index_on_disconnect=(failed(A, LEAK), failed(B, GENERIC)))
    assert m.ok and m.clean_green and m.problems() == []
    states = [v.state for v in m.switches]
    assert states == ["caught", "caught"]
    stale = m.switches[1]
    assert [c.named for c in stale.catches] == [True, False]
    assert stale.catches[0].clue == "an index kept an entry after its client left"
    assert render_verdict(m)[-1] == "selftest passed"


def test_a_switch_caught_only_by_generic_failures_is_not_caught() -> None:
    m = matrix((ok(A), ok(B)), no_termination_handler=(ok(A), failed(B, GENERIC)))
    assert not m.ok
    assert m.switches[0].state == "generic"
    (problem,) = m.problems()
    assert problem.startswith("no-termination-handler: 1 scenario(s) failed, but no failure "
                              "names the problem (the relay never forwards requestTermination")


def test_a_switch_nothing_fails_under_is_missed() -> None:
    m = matrix((ok(A), ok(B)), stale_index_on_disconnect=(ok(A), ok(B)))
    assert m.switches[0].state == "missed"
    assert m.problems() == ["stale-index-on-disconnect: not caught: every scenario passed"]


def test_a_clean_failure_fails_the_selftest_even_when_every_switch_is_caught() -> None:
    m = matrix((ok(A), failed(B, GENERIC)), no_termination_handler=(ok(A), failed(B, NAMED)))
    assert not m.clean_green and not m.ok
    assert m.problems() == [f"1 scenario(s) failed against the clean relay: {B}"]


def test_a_clean_run_that_stopped_short_is_not_green() -> None:
    m = matrix((ok(A),))
    assert not m.clean_green


def test_an_environment_error_is_reported_per_run() -> None:
    m = build_matrix([A], Run(None, (), error="relay exited"), [])
    assert m.problems() == ["the clean run could not start: relay exited"]
    m = matrix((ok(A), ok(B)), no_termination_handler="docker is down")
    assert m.switches[0].state == "error"
    assert m.problems() == ["no-termination-handler: the environment failed: docker is down"]


def test_the_grid_marks_named_generic_and_clean_failures() -> None:
    m = matrix((ok(A), failed(B, GENERIC)),
               stale_index_on_disconnect=(failed(A, LEAK), failed(B, GENERIC)))
    head, _, row_a, row_b, _ = render_grid(m)
    assert head.split() == ["scenario", "clean", "stale-index-on-disconnect"]
    assert row_a.split()[-2:] == [".", "CAUGHT"]
    assert row_b.split()[-2:] == ["FAILED", "failed"]
    assert row_a.startswith("delivery/full-work-order::full work order")


def test_the_reasons_give_each_failure_its_one_line() -> None:
    m = matrix((ok(A), ok(B)), stale_index_on_disconnect=(failed(A, LEAK), failed(B, GENERIC)))
    text = "\n".join(render_reasons(m))
    assert "stale-index-on-disconnect (a disconnect removes the session" in text
    assert "CAUGHT by 1 of 2 failing scenario(s)" in text
    assert f"[names it: an index kept an entry after its client left] {short_id(A)}\n" \
           f"      {LEAK}" in text
    assert f"[generic] {short_id(B)}\n      {GENERIC}" in text


def test_short_id_drops_the_folder_and_suffix() -> None:
    assert short_id(A) == "delivery/full-work-order::full work order"
    assert short_id("elsewhere/x.scenario.yaml::n") == "elsewhere/x::n"


def test_junit_has_a_test_per_clean_scenario_and_per_switch() -> None:
    m = matrix((ok(A), failed(B, GENERIC)),
               no_termination_handler=(ok(A), failed(B, NAMED)),
               stale_index_on_disconnect=(ok(A), ok(B)))
    root = junit_tree(m).getroot()
    clean, switches = root.findall("testsuite")
    assert (clean.get("name"), clean.get("tests"), clean.get("failures")) == \
        ("selftest.clean", "2", "1")
    failure = clean.findall("testcase")[1].find("failure")
    assert failure is not None and failure.get("message") == GENERIC
    cases = {c.get("name"): c for c in switches.findall("testcase")}
    assert switches.get("failures") == "1"
    caught = cases["no-termination-handler is caught"]
    assert caught.find("failure") is None
    assert NAMED in (caught.findtext("system-out") or "")
    missed = cases["stale-index-on-disconnect is caught"].find("failure")
    assert missed is not None and (missed.get("message") or "").startswith("missed:")
    ET.fromstring(ET.tostring(root))  # well formed


def test_a_skipped_scenario_keeps_the_clean_run_green_but_catches_nothing() -> None:
    skipped = Outcome(B, "skipped", "", 0.0)
    m = matrix((ok(A), skipped), no_termination_handler=(ok(A), skipped))
    assert m.clean_green
    assert m.switches[0].state == "missed"
    assert render_grid(m)[3].split()[-2:] == ["skip", "skip"]


def with_variants(*runs: Run) -> Matrix:
    clean = Run(None, (ok(A), ok(B)), 2.0)
    caught = Run("no-termination-handler", (ok(A), failed(B, NAMED)))
    return build_matrix([A, B], clean, [(caught, DIAGNOSES["no-termination-handler"])], runs)


def test_variant_runs_are_named_by_their_variants() -> None:
    assert Run(None, (), variants=("z-timestamps",)).name == "variant z-timestamps"
    assert Run(None, (), variants=("a", "b")).name == "all variants"
    assert Run(None, ()).name == "clean"


def test_every_variant_run_must_pass_or_skip() -> None:
    skipped = Outcome(B, "skipped", "reference relay only", 0.0)
    green = with_variants(Run(None, (ok(A), skipped), 1.0, variants=("z-timestamps",)),
                          Run(None, (ok(A), ok(B)), 1.0, variants=("a", "b")))
    assert green.ok and green.variants_green and green.problems() == []
    assert render_grid(green)[0].split()[:4] == ["scenario", "clean", "variants",
                                                 "no-termination-handler"]
    assert render_grid(green)[2].split()[-3:] == [".", ".", "."]
    assert "variant z-timestamps: 2/2 passed (1 skipped: reference relay only) in 1.0 s" in \
        render_verdict(green)
    red = with_variants(Run(None, (ok(A), failed(B, GENERIC)), 1.0,
                            variants=("ack-after-stream",)),
                        Run(None, (ok(A), failed(B, GENERIC)), 1.0, variants=("a", "b")))
    assert not red.ok
    assert red.problems() == [
        f"variant ack-after-stream: 1 scenario(s) failed against a relay that takes another "
        f"allowed answer: {B}",
        f"all variants: 1 scenario(s) failed against a relay that takes another allowed "
        f"answer: {B}"]
    assert render_grid(red)[3].split()[-3:-1] == ["FAILED", "2"]
    text = "\n".join(render_reasons(red))
    assert "variant ack-after-stream: FAILED (a scenario fails against a relay that takes " \
           "another answer the contract allows)" in text
    broken = with_variants(Run(None, (), 0.1, error="relay exited", variants=("x",)))
    assert broken.problems() == ["variant x: the environment failed: relay exited"]


def test_junit_has_a_test_per_variant_run() -> None:
    m = with_variants(Run(None, (ok(A), ok(B)), 1.0, variants=("z-timestamps",)),
                      Run(None, (ok(A), failed(B, GENERIC)), 1.0, variants=("a", "b")))
    suites = {s.get("name"): s for s in junit_tree(m).getroot().findall("testsuite")}
    variants = suites["selftest.variants"]
    assert (variants.get("tests"), variants.get("failures")) == ("2", "1")
    cases = {c.get("name"): c for c in variants.findall("testcase")}
    assert cases["variant z-timestamps passes"].find("failure") is None
    failure = cases["all variants passes"].find("failure")
    assert failure is not None and GENERIC in (failure.text or "")
