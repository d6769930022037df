"""Threshold parsing (with the exact error text for bad input) and evaluation."""

from __future__ import annotations

import pytest

from harness.errors import ConfigError
from harness.load.thresholds import evaluate, parse_threshold, parse_thresholds


@pytest.mark.parametrize(
    ("text", "metric", "op", "value"),
    [
        ("p99<50ms", "p99", "<", 0.05),
        ("p50 <= 2.5ms", "p50", "<=", 0.0025),
        ("max<1s", "max", "<", 1.0),
        ("p90<800us", "p90", "<", 0.0008),
        ("rate>3000/s", "rate", ">", 3000.0),
        ("rate>=10", "rate", ">=", 10.0),
        ("errors==0", "errors", "==", 0.0),
        ("violations!=1", "violations", "!=", 1.0),
        ("submit_p99<200ms", "submit_p99", "<", 0.2),
        ("P99<50MS", "p99", "<", 0.05),
    ],
)
def test_parses(text: str, metric: str, op: str, value: float) -> None:
    threshold = parse_threshold(text)
    assert (threshold.metric, threshold.op) == (metric, op)
    assert threshold.value == pytest.approx(value)
    assert threshold.text == text.strip()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("p99", '--threshold "p99": expected <metric><op><number>[unit], '
                'e.g. "p99<50ms", "rate>3000/s" or "errors==0"'),
        ("p99=<5ms", '--threshold "p99=<5ms": expected <metric><op><number>[unit], '
                     'e.g. "p99<50ms", "rate>3000/s" or "errors==0"'),
        ("p98<5ms", "--threshold \"p98<5ms\": unknown metric 'p98'; known metrics: p50, p90, "
                    "p99, max, mean, lock_p50, lock_p90, lock_p99, lock_max, lock_mean, "
                    "submit_p50, submit_p90, submit_p99, submit_max, submit_mean, "
                    "connect_p50, connect_p90, connect_p99, connect_max, connect_mean, "
                    "rate, errors, violations, delivered"),
        ("p99<50", '--threshold "p99<50": p99 is a duration and needs a unit: us, ms or s '
                   "(e.g. \"p99<50ms\"), got 'none'"),
        ("p99<50kg", '--threshold "p99<50kg": p99 is a duration and needs a unit: us, ms or s '
                     "(e.g. \"p99<50ms\"), got 'kg'"),
        ("rate>5ms", '--threshold "rate>5ms": rate is in events per second: write '
                     "\"rate>5/s\", got unit 'ms'"),
        ("errors==0/s", "--threshold \"errors==0/s\": errors is a count and takes no unit, "
                        "got '/s'"),
    ],
)
def test_bad_threshold_names_the_problem(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_threshold(text)
    assert str(caught.value) == message


def test_evaluate_passes_and_fails() -> None:
    thresholds = parse_thresholds(["p99<50ms", "rate>3000/s", "errors==0"])
    results = evaluate(thresholds, {"p99": 0.049, "rate": 2999.0, "errors": 0.0})
    assert [r.passed for r in results] == [True, False, True]
    assert results[0].describe() == "p99<50ms: 49.00ms (pass)"
    assert results[1].describe() == "rate>3000/s: 2999.0/s (FAIL)"
    assert results[2].actual == 0.0
