"""The end-of-run summary: when the relay never had every drone on at once, and a run that
delivered nothing (it fails)."""

from __future__ import annotations

from harness.load.config import LoadConfig
from harness.load.metrics import RunAggregate
from harness.load.report import summary_lines
from harness.load.runner import LoadResult


def _result(peak: int, delivered: int = 1000) -> LoadResult:
    aggregate = RunAggregate(0.0, 1.0)
    aggregate.peak_drones = peak
    if delivered:
        aggregate.delivered["thinking"] = delivered
    return LoadResult(LoadConfig(drones=500, max_connecting=64), "http://relay", 30.0,
                      aggregate)


def _summary(peak: int) -> list[str]:
    return summary_lines(_result(peak))


def test_a_run_that_never_had_every_drone_on_says_so() -> None:
    [note] = [line for line in _summary(250) if line.startswith("note:")]
    assert "at most 250 of the 500 drones were connected at once" in note
    assert "64 at a time" in note and "--ramp-up" in note


def test_a_run_that_had_every_drone_on_says_nothing_more() -> None:
    assert not [line for line in _summary(500) if line.startswith("note:")]


def test_a_run_that_delivered_nothing_fails_and_says_why() -> None:
    # Before: "no violation", PASS and exit 0 with 0 events and hundreds of errors.
    result = _result(0, delivered=0)
    assert not result.passed
    lines = summary_lines(result)
    assert "nothing was delivered: the invariants (exactly-once, order, isolation) " \
           "checked nothing" in lines
    assert lines[-1] == "FAIL"
    assert _result(500).passed
