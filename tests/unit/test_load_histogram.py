"""Log-bucket histogram: bucket math, percentile accuracy, exact extremes, merging."""

from __future__ import annotations

import math
import random

import pytest

from harness.load.histogram import Histogram, bucket_bounds, bucket_of


def test_buckets_are_contiguous_and_contain_their_values() -> None:
    previous_high = -1
    for index in range(0, 64 + 32 * 20):
        low, high = bucket_bounds(index)
        assert low == previous_high + 1, index
        assert bucket_of(low) == index and bucket_of(high) == index
        assert high - low + 1 <= max(1, low / 32), index  # at most 1/32 of the value wide
        previous_high = high


def test_empty_histogram_reads_zero() -> None:
    h = Histogram()
    assert (h.count, h.percentile(99), h.max, h.mean) == (0, 0.0, 0.0, 0.0)


def test_small_values_are_exact() -> None:
    h = Histogram()
    for us in (1, 2, 3, 4):
        h.record(us / 1_000_000)
    assert h.percentile(50) == pytest.approx(2e-6)
    assert h.percentile(100) == pytest.approx(4e-6)
    assert h.min == pytest.approx(1e-6)


def test_percentiles_within_bucket_precision() -> None:
    rng = random.Random(7)
    values = [rng.lognormvariate(-5, 1.2) for _ in range(20_000)]
    h = Histogram()
    for v in values:
        h.record(v)
    ordered = sorted(values)
    for q in (50, 90, 99, 99.9):
        exact = ordered[max(math.ceil(q / 100 * len(ordered)) - 1, 0)]
        assert h.percentile(q) == pytest.approx(exact, rel=1 / 32 + 1e-6), q
    assert h.max == pytest.approx(max(values), abs=1e-6)
    assert h.mean == pytest.approx(sum(values) / len(values), rel=1e-3)
    assert len(h.buckets) < 700  # memory does not grow with the number of values


def test_percentile_rejects_out_of_range() -> None:
    h = Histogram()
    h.record(0.001)
    with pytest.raises(ValueError, match="percentile must be 0-100, got 101"):
        h.percentile(101)


def test_merge_equals_recording_everything_in_one() -> None:
    rng = random.Random(3)
    values = [rng.uniform(0, 0.2) for _ in range(5000)]
    whole, left, right = Histogram(), Histogram(), Histogram()
    for i, v in enumerate(values):
        whole.record(v)
        (left if i % 3 else right).record(v)
    left.merge(right)
    assert left == whole
    empty = Histogram()
    empty.merge(whole)
    assert empty == whole
