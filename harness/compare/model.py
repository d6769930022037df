"""What ``harness compare`` found, as data: the terminal summary, the HTML report and the
JSON file are rendered from these.

A ``Difference`` is one thing the candidate relay did otherwise than the baseline, seen in
every run of both sides. Its ``verdict``:

- ``regression``: the candidate is worse (a scenario that passed fails, an ok became an
  error, an event disappears, arrives twice or out of order, a field disappeared, a p99
  grew past the threshold and the noise);
- ``allowed``: the two differ only where contract section 11 (or the optional parts of
  sections 4 and 10) lets two conforming relays differ; ``rule`` names the point;
- ``fixed``: a scenario that failed on the baseline passes on the candidate.

What differed between two runs of the *same* side is noise: listed as ``unstable``, never
judged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

from harness.compare.diff import FieldChange

Verdict = Literal["regression", "allowed", "fixed", "unstable"]
EXIT_SAME: Final = 0
EXIT_REGRESSION: Final = 1


@dataclass(frozen=True)
class Shown:
    """One message as a report shows it: which run's history (``seq``), who, what."""

    seq: int
    actor: str
    event: str
    payload: Any = None
    answer: Any = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"seq": self.seq, "actor": self.actor, "event": self.event,
                "payload": self.payload, "answer": self.answer}


@dataclass(frozen=True)
class Difference:
    """One difference between the baseline and the candidate (see the module docstring).

    ``kind``: ``verdict``, ``error-code``, ``payload``, ``appeared``, ``disappeared``,
    ``duplicated``, ``fewer``, ``reordered``, ``ack-order`` or ``latency``. ``summary`` is
    one line that names the change; ``step``/``line`` where in the scenario it happened.
    ``seen`` says in how many run pairs it was seen (``2 of 2`` ...).
    """

    scenario: str
    kind: str
    verdict: Verdict
    summary: str
    rule: str = ""
    actor: str = ""
    channel: str = ""
    event: str = ""
    step: str = ""
    line: int | None = None
    at: tuple[int, ...] = ()
    fields: tuple[FieldChange, ...] = ()
    baseline: tuple[Shown, ...] = ()
    candidate: tuple[Shown, ...] = ()
    seen: str = ""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"scenario": self.scenario, "kind": self.kind, "verdict": self.verdict,
                "summary": self.summary, "rule": self.rule or None,
                "actor": self.actor or None, "channel": self.channel or None,
                "event": self.event or None, "step": self.step or None, "line": self.line,
                "fields": [f.to_json() for f in self.fields],
                "baseline": [s.to_json() for s in self.baseline],
                "candidate": [s.to_json() for s in self.candidate], "seen": self.seen}


@dataclass
class ScenarioComparison:
    """One scenario on both sides: its status in each run, and what differed.

    ``baseline_result``/``candidate_result`` are the first run of each side (any object a
    report can draw: a ``ScenarioResult``), kept for the HTML report, not for JSON.
    """

    id: str
    file: str
    baseline_status: tuple[str, ...]
    candidate_status: tuple[str, ...]
    baseline_failure: str | None = None
    candidate_failure: str | None = None
    differences: list[Difference] = field(default_factory=list)
    unstable: list[Difference] = field(default_factory=list)
    baseline_result: Any = None
    candidate_result: Any = None

    @property
    def verdict(self) -> str:
        """``regression``, ``fixed``, ``allowed`` (the worst of its differences, in that
        order) or ``same``."""
        for verdict in ("regression", "fixed", "allowed"):
            if any(d.verdict == verdict for d in self.differences):
                return verdict
        return "same"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"id": self.id, "file": self.file, "verdict": self.verdict,
                "baseline": {"status": list(self.baseline_status),
                             "failure": self.baseline_failure},
                "candidate": {"status": list(self.candidate_status),
                              "failure": self.candidate_failure},
                "differences": [d.to_json() for d in self.differences],
                "unstable": [d.to_json() for d in self.unstable]}


@dataclass(frozen=True)
class Percentiles:
    """Delivery latency of one event type on one side, in seconds; ``runs``: each run's
    p99 (their spread is the side's noise)."""

    count: int
    p50: float | None
    p95: float | None
    p99: float | None
    runs: tuple[float | None, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"count": self.count, "p50": self.p50, "p95": self.p95, "p99": self.p99,
                "p99ByRun": list(self.runs)}


@dataclass(frozen=True)
class LatencyRow:
    """One event type side by side. ``change``: candidate p99 over baseline p99, minus 1;
    ``noise``: the largest relative spread of p99 between two runs of one side (None with
    one run a side); ``verdict``: ``regression`` past both the threshold and the noise,
    ``ok``, or ``too few`` (fewer deliveries a run than a p99 needs: not judged)."""

    event: str
    baseline: Percentiles
    candidate: Percentiles
    change: float | None
    noise: float | None
    verdict: str

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"event": self.event, "baseline": self.baseline.to_json(),
                "candidate": self.candidate.to_json(), "p99Change": self.change,
                "noise": self.noise, "verdict": self.verdict}


@dataclass(frozen=True)
class SideInfo:
    """One side as reports name it: the spec as given (secrets masked) and what ran."""

    spec: str
    describe: str = ""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"spec": self.spec, "relay": self.describe}


@dataclass
class Comparison:
    """A whole comparison: both sides, every scenario, latency, the settings it ran with."""

    baseline: SideInfo
    candidate: SideInfo
    runs: int
    scenarios: list[ScenarioComparison]
    latency: list[LatencyRow] = field(default_factory=list)
    max_p99_regression: float = 0.2
    min_p99_delta: float = 0.0
    wall: float = 0.0
    notes: list[str] = field(default_factory=list)
    load: Any = None  # a ``harness.compare.load.LoadComparison`` with --load
    explore: Any = None  # a ``harness.compare.exploring.ExploreComparison``

    def differences(self, verdict: str | None = None) -> list[Difference]:
        """Every difference (of one verdict), scenarios first, then latency."""
        out = [d for s in self.scenarios for d in s.differences]
        out += [latency_difference(row) for row in self.latency if row.verdict == "regression"]
        for extra in (self.load, self.explore):
            if extra is not None:
                out += list(extra.differences)
        return [d for d in out if verdict is None or d.verdict == verdict]

    @property
    def exit_code(self) -> int:
        """1 when anything regressed, else 0."""
        return EXIT_REGRESSION if self.differences("regression") else EXIT_SAME

    def to_json(self) -> dict[str, Any]:
        """The JSON report (format: docs/compare.md)."""
        counts = {v: len(self.differences(v)) for v in ("regression", "allowed", "fixed")}
        counts["unstable"] = sum(len(s.unstable) for s in self.scenarios)
        return {"schema": "gadget-harness-compare", "version": 1,
                "baseline": self.baseline.to_json(), "candidate": self.candidate.to_json(),
                "runsPerSide": self.runs, "maxP99Regression": self.max_p99_regression,
                "minP99Delta": self.min_p99_delta, "wallSeconds": round(self.wall, 1),
                "counts": counts, "exitCode": self.exit_code, "notes": self.notes,
                "scenarios": [s.to_json() for s in self.scenarios],
                "latency": [row.to_json() for row in self.latency],
                "load": self.load.to_json() if self.load is not None else None,
                "explore": self.explore.to_json() if self.explore is not None else None}


def latency_difference(row: LatencyRow) -> Difference:
    """A latency row past the threshold, as a difference."""
    base, cand = row.baseline.p99, row.candidate.p99
    change = f"+{row.change:.0%}" if row.change is not None else "?"
    text = (f"{row.event} p99 {_ms(base)} → {_ms(cand)} ({change}; noise "
            f"{'unknown' if row.noise is None else f'{row.noise:.0%}'})")
    return Difference("(latency)", "latency", "regression", text, event=row.event)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f} ms"
