"""``harness compare``: the same scenarios against two relays, and what changed.

    sides.py      what --baseline/--candidate name, and their environments
    run.py        both sides started, the scenarios run on each, alternating
    observe.py    one run of one scenario, normalised, per actor and channel
    normalize.py  ids, times, ports, secrets and the run's tag taken out of payloads
    diff.py       structural diffs of payloads and of item sequences
    judge.py      regression or allowed (contract section 11), and the words for it
    build.py      noise taken out, latency compared: the ``Comparison``
    model.py      the ``Comparison`` as data (JSON)
    summary.py    the terminal summary        html.py   the offline HTML report
"""

from __future__ import annotations

from harness.compare.build import ScenarioRuns, build_comparison
from harness.compare.model import Comparison, Difference, ScenarioComparison
from harness.compare.observe import Observation, observe
from harness.compare.run import CompareOptions, run_comparison
from harness.compare.sides import Side, parse_side

__all__ = [
    "CompareOptions",
    "Comparison",
    "Difference",
    "Observation",
    "ScenarioComparison",
    "ScenarioRuns",
    "Side",
    "build_comparison",
    "observe",
    "parse_side",
    "run_comparison",
]
