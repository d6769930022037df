"""What a check finds: a broken invariant (``Violation``) or a differing path (``Mismatch``).

Plain frozen data, made by ``harness.scenario.invariants`` and ``harness.scenario.matchers``
and read by the results and every report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.outcome.facts import Fact
from harness.text import short

__all__ = ["Mismatch", "Violation"]


@dataclass(frozen=True)
class Violation:
    """One broken invariant; ``message`` names the problem, ``seqs`` the messages involved."""

    invariant: str
    message: str
    actor: str | None = None
    seqs: tuple[int, ...] = ()
    code: str = ""  # finer kind: missing, duplicate, order, phantom, registration, scope, ...
    facts: tuple[Fact, ...] = ()  # what the message states, as data

    def __str__(self) -> str:
        return f"[{self.invariant}] {self.message}"


@dataclass(frozen=True)
class Mismatch:
    """One difference: where (``seq``, ``items[2].name``), what was wanted, what was there."""

    path: str
    expected: str
    actual: Any
    missing: bool = False

    def __str__(self) -> str:
        where = self.path or "value"
        got = "nothing (missing)" if self.missing else short(self.actual)
        return f"at {where}: expected {self.expected}, got {got}"
