"""``harness bench``: side-by-side ratios (reference relay vs a minimal forwarder) and the
harness's own overhead (see docs/load.md)."""

from harness.bench.forwarder import build_forwarder
from harness.bench.machine import describe_machine
from harness.bench.suite import BenchOptions, markdown_table, run_bench

__all__ = ["BenchOptions", "build_forwarder", "describe_machine", "markdown_table", "run_bench"]
