"""The end-of-run summary says when the relay never had every drone on at once."""

from __future__ import annotations

from harness.load.config import LoadConfig
from harness.load.metrics import RunAggregate
from harness.load.report import summary_lines
from harness.load.runner import LoadResult


def _summary(peak: int) -> list[str]:
    aggregate = RunAggregate(0.0, 1.0)
    aggregate.peak_drones = peak
    return summary_lines(LoadResult(LoadConfig(drones=500, max_connecting=64),
                                    "http://relay", 30.0, aggregate))


def test_a_run_that_never_had_every_drone_on_says_so() -> None:
    [note] = [line for line in _summary(250) if line.startswith("note:")]
    assert "at most 250 of the 500 drones were connected at once" in note
    assert "64 at a time" in note and "--ramp-up" in note


def test_a_run_that_had_every_drone_on_says_nothing_more() -> None:
    assert not [line for line in _summary(500) if line.startswith("note:")]
