"""A fixed-bucket log histogram of durations (HDR-like): constant memory, mergeable, exact
max and min, percentiles within ~3 %.

Values are whole microseconds. Below 64 us each value has its own bucket; above, each power
of two is split into 32 buckets, so a bucket is at most 1/32 of its value wide. Buckets are
kept sparse (a dict), so an empty histogram costs nothing and one with every bucket used
holds a few hundred ints whatever the number of values recorded.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["Histogram", "bucket_bounds", "bucket_of"]

_EXACT = 64  # values below this have one bucket each
_SUB = 32  # buckets per power of two above it


def bucket_of(value_us: int) -> int:
    """The bucket index of a value in microseconds (negative values count as 0)."""
    if value_us < _EXACT:
        return max(value_us, 0)
    shift = value_us.bit_length() - 6
    return shift * _SUB + (value_us >> shift)


def bucket_bounds(index: int) -> tuple[int, int]:
    """``(lowest, highest)`` value in microseconds that falls in bucket ``index``."""
    if index < _EXACT:
        return index, index
    shift = (index - _EXACT) // _SUB + 1
    mantissa = index - shift * _SUB
    low = mantissa << shift
    return low, low + (1 << shift) - 1


@dataclass
class Histogram:
    """Counts of durations by log bucket; record seconds, read seconds."""

    buckets: dict[int, int] = field(default_factory=dict)
    count: int = 0
    total_us: int = 0
    min_us: int = 0
    max_us: int = 0

    def record(self, seconds: float) -> None:
        """Add one duration in seconds."""
        value = max(int(seconds * 1_000_000), 0)
        index = bucket_of(value)
        self.buckets[index] = self.buckets.get(index, 0) + 1
        if self.count == 0 or value < self.min_us:
            self.min_us = value
        if value > self.max_us:
            self.max_us = value
        self.count += 1
        self.total_us += value

    def merge(self, other: Histogram) -> None:
        """Add every value of ``other`` into this histogram."""
        if not other.count:
            return
        for index, n in other.buckets.items():
            self.buckets[index] = self.buckets.get(index, 0) + n
        self.min_us = other.min_us if not self.count else min(self.min_us, other.min_us)
        self.max_us = max(self.max_us, other.max_us)
        self.count += other.count
        self.total_us += other.total_us

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile (0-100) in seconds; 0.0 when empty.

        The value is the middle of the bucket holding the rank ``ceil(q% of count)``,
        clamped to the exact min and max (so p100 is the max).
        """
        if not self.count:
            return 0.0
        if not 0 <= q <= 100:
            raise ValueError(f"percentile must be 0-100, got {q}")
        rank = max(1, math.ceil(q / 100 * self.count))
        seen = 0
        for index in sorted(self.buckets):
            seen += self.buckets[index]
            if seen >= rank:
                low, high = bucket_bounds(index)
                middle = (low + high) // 2
                return min(max(middle, self.min_us), self.max_us) / 1_000_000
        return self.max_us / 1_000_000  # pragma: no cover - counts always add up

    @property
    def max(self) -> float:
        """The largest value in seconds (exact)."""
        return self.max_us / 1_000_000

    @property
    def min(self) -> float:
        """The smallest value in seconds (exact)."""
        return self.min_us / 1_000_000

    @property
    def mean(self) -> float:
        """The mean in seconds; 0.0 when empty."""
        return self.total_us / self.count / 1_000_000 if self.count else 0.0

    def items(self) -> Iterator[tuple[float, float, int]]:
        """``(low, high, count)`` per non-empty bucket, in seconds, lowest first."""
        for index in sorted(self.buckets):
            low, high = bucket_bounds(index)
            yield low / 1_000_000, (high + 1) / 1_000_000, self.buckets[index]

    def summary(self) -> dict[str, float]:
        """``count``, ``p50``, ``p90``, ``p99``, ``max``, ``mean`` (seconds)."""
        return {
            "count": float(self.count),
            "p50": self.percentile(50),
            "p90": self.percentile(90),
            "p99": self.percentile(99),
            "max": self.max,
            "mean": self.mean,
        }
