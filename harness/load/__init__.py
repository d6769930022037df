"""Many simulated clients at once: ``harness load`` (see docs/load.md).

Worker processes each drive a slice of (IDE, drone) pairs and stream aggregates (counts,
log histograms, invariant violations) to the parent, so memory is bounded by the open
streams, not by the number of events.
"""

from harness.load.config import LoadConfig, Pair
from harness.load.histogram import Histogram
from harness.load.invariants import StreamChecker
from harness.load.metrics import RunAggregate, Snapshot
from harness.load.runner import LoadResult, Progress, run_load, seed_world, world_spec
from harness.load.thresholds import Threshold, ThresholdResult, evaluate, parse_threshold

__all__ = [
    "Histogram",
    "LoadConfig",
    "LoadResult",
    "Pair",
    "Progress",
    "RunAggregate",
    "Snapshot",
    "StreamChecker",
    "Threshold",
    "ThresholdResult",
    "evaluate",
    "parse_threshold",
    "run_load",
    "seed_world",
    "world_spec",
]
