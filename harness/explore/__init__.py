"""``harness explore``: random interleavings of client actions, run against a live relay and
checked step by step against a model of the contract; a failure is shrunk by Hypothesis and
written out as a scenario file that ``harness run`` reproduces.

    report = explore(env, ExploreOptions(budget=60, seed=1))
    if report.finding:
        print(report.finding.file)     # the shrunk scenario

See ``docs/explore.md``.
"""

from harness.explore.explorer import ExploreOptions, ExploreReport, Finding, explore
from harness.explore.model import Answer, Model

__all__ = ["Answer", "ExploreOptions", "ExploreReport", "Finding", "Model", "explore"]
