"""Hypothesis profiles for the fuzz suite: a fixed, reproducible budget in ``make test``.

    ci    (default) derandomized: the same examples every run, so the suite cannot flake;
          ``max_examples`` per test is the budget (see docs/security.md for the totals)
    deep  random and ten times longer, for an engineer hunting locally:
          HYPOTHESIS_PROFILE=deep .venv/bin/pytest tests/fuzz

Every fuzz test carries the ``fuzz`` marker (``-m "not fuzz"`` leaves them out).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,  # live sockets and subprocesses: time is bounded by max_examples
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    "print_blob": True,
}
settings.register_profile("ci", max_examples=60, derandomize=True, database=None, **_COMMON)
settings.register_profile("deep", max_examples=600, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/fuzz/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.fuzz)
