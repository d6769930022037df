"""From runs of both sides to a ``Comparison``: what differs in every pair of runs, minus
what differs between two runs of one side (noise).

Each side runs the same scenarios ``runs`` times. For one scenario, every baseline run is
diffed with every candidate run; a difference counts only when every such pair shows it
and no two runs of one side differ in the same way. What differs between runs of one side,
or in some pairs only, is listed as ``unstable`` and never judged. Latency is compared on
p99, past both ``max_p99_regression`` and the spread of p99 between runs of one side.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from harness.compare.diff import StepDiff, sequence
from harness.compare.judge import RULES, answer_code, judge
from harness.compare.model import (
    Comparison,
    Difference,
    LatencyRow,
    Percentiles,
    ScenarioComparison,
    Shown,
    SideInfo,
    Verdict,
)
from harness.compare.observe import Item, Observation
from harness.protocol import FORWARDED_DRONE_EVENTS
from harness.report.latency import percentile

SHOWN_ITEMS = 5  # messages kept per difference for reports
MIN_P99_SAMPLES = 100  # deliveries a run needs before its p99 is more than its maximum


@dataclass(frozen=True)
class ScenarioRuns:
    """One scenario's runs on one side: observations, and results for the HTML report."""

    id: str
    file: str
    observations: tuple[Observation, ...]
    results: tuple[Any, ...] = ()


def _shown(items: Sequence[Item]) -> tuple[Shown, ...]:
    return tuple(Shown(i.seq, i.actor, i.event, i.payload, i.answer)
                 for i in items[:SHOWN_ITEMS])


def _differences(base: Observation, cand: Observation) -> dict[str, Difference]:
    """Every difference of one pair of runs, by fingerprint."""
    out: dict[str, Difference] = {}
    sid = base.scenario
    regressed = base.status == "passed" and cand.status in ("failed", "error")
    context = base.tags | cand.tags
    if base.status != cand.status and "skipped" not in (base.status, cand.status):
        worse = base.status == "passed"
        failure = cand.failure if worse else base.failure
        text = f"{base.status} → {cand.status}" + (f": {failure}" if failure else "")
        out["verdict"] = Difference(sid, "verdict", "regression" if worse else "fixed", text)
    elif base.status != cand.status:
        text = f"{base.status} → {cand.status}"
        out["verdict"] = Difference(sid, "verdict", "allowed", text,
                                    rule="a scenario the relay cannot run is skipped")
        return out  # a skipped run did nothing to compare
    # Steps one run never began are not compared: what they did not do follows from the
    # failure, which is the difference to show.
    reach = min(base.reached, cand.reached) if base.reached and cand.reached else None
    both = base.reconnected & cand.reconnected
    found: list[tuple[str, str, StepDiff]] = []
    for key in sorted(set(base.items) | set(cand.items)):
        before = [i for i in base.items.get(key, ()) if reach is None or i.at <= reach]
        after = [i for i in cand.items.get(key, ()) if reach is None or i.at <= reach]
        found += [(key[0], key[1], diff) for diff in sequence(before, after)]
    raced = _races([diff for _, channel, diff in found if channel == "emit"])
    for actor, channel, diff in found:
        difference = _difference(sid, diff, channel, context)
        if regressed and difference.rule == RULES["11.1"]:
            # Another code is allowed where several apply; the pack's assertions did not
            # accept this one.
            difference = replace(difference, verdict="regression", rule="")
        if id(diff) in raced:
            difference = replace(difference, verdict="unstable",
                                 rule="a race the scenario leaves open went the other way")
        elif actor in both and _timing(diff, channel):
            # What reaches a client that reconnected depends on when it was away; how
            # often it flapped or was refused on its way back, on timing.
            difference = replace(difference, verdict="unstable",
                                 rule="the actor reconnected during the scenario")
        out[f"{actor}|{channel}|{diff.fingerprint()}"] = difference
    if base.ack_positions != cand.ack_positions and \
            len(base.ack_positions) == len(cand.ack_positions):
        moved = [b for b, c in zip(base.ack_positions, cand.ack_positions, strict=True)
                 if b != c]
        actor, event, _ = moved[0]
        out["ack-order"] = Difference(
            sid, "ack-order", "allowed",
            f"{actor} {event}: the ack comes at another place among its events "
            f"({len(moved)} ack(s))", rule=RULES["11.4"], actor=actor, event=event)
    return out


def _timing(diff: StepDiff, channel: str) -> bool:
    """A difference a reconnecting actor's timing explains: an event there or not, or a
    connection, refusal or re-open more or less often."""
    if channel == "receive" or diff.event == "connect_error":
        return diff.kind in ("appeared", "disappeared", "fewer", "duplicated")
    return diff.kind in ("fewer", "duplicated")


def _races(diffs: Sequence[StepDiff]) -> set[int]:
    """The answer changes that cancel out: one actor's ``ok`` became code X while another's
    X became ``ok`` for the same event (two clients raced for one drone, and the other won
    this time). Returns the ``id`` of each such diff."""
    changed: list[tuple[StepDiff, str, str]] = []
    for diff in diffs:
        if diff.kind == "changed":
            before, after = answer_code(diff.baseline[0].answer), \
                answer_code(diff.candidate[0].answer)
            if before and after and before != after:
                changed.append((diff, before, after))
    out: set[int] = set()
    for diff, before, after in changed:
        for other, b2, a2 in changed:
            if other is not diff and other.event == diff.event and (b2, a2) == (after, before):
                out.update((id(diff), id(other)))
    return out


def _difference(sid: str, diff: StepDiff, channel: str, context: frozenset[str]) -> Difference:
    judgement = judge(diff, channel, context)
    first = (diff.baseline or diff.candidate)[0]
    return Difference(sid, judgement.kind, judgement.verdict, judgement.summary,
                      rule=judgement.rule, actor=first.actor, channel=channel,
                      event=diff.event, step=first.step, line=first.line, at=first.at,
                      fields=diff.changes,
                      baseline=_shown(diff.baseline), candidate=_shown(diff.candidate))


def compare_scenario(base: ScenarioRuns, cand: ScenarioRuns) -> ScenarioComparison:
    """One scenario's differences, with noise taken out (see the module docstring)."""
    pairs = [_differences(b, c) for b in base.observations for c in cand.observations]
    within = [_differences(a, b) for runs in (base.observations, cand.observations)
              for a, b in itertools.combinations(runs, 2)]
    noise = {fp for diff in within for fp in diff}
    everywhere = set(pairs[0]).intersection(*pairs[1:]) if pairs else set()
    counted = [fp for fp in pairs[0] if fp in everywhere and fp not in noise] if pairs else []
    seen = f"{len(pairs)} of {len(pairs)} run pairs"
    differences = sorted((_with_seen(pairs[0][fp], seen) for fp in counted
                          if pairs[0][fp].verdict != "unstable"), key=_place)
    unstable: dict[str, Difference] = {}
    for diff in [*within, *pairs]:
        for fp, difference in diff.items():
            if (fp in counted and difference.verdict != "unstable") or fp in unstable:
                continue
            where = sum(fp in d for d in pairs)
            unstable[fp] = _with_seen(difference, f"{where} of {len(pairs)} run pairs; "
                                      f"{sum(fp in d for d in within)} of {len(within)} "
                                      "same-side pairs", "unstable")
    b0 = base.observations[0]
    return ScenarioComparison(
        base.id, base.file, tuple(o.status for o in base.observations),
        tuple(o.status for o in cand.observations), b0.failure,
        next((o.failure for o in cand.observations if o.failure), None),
        differences, list(unstable.values()),
        base.results[0] if base.results else None, cand.results[0] if cand.results else None)


def _place(difference: Difference) -> tuple[int, tuple[int, ...], int]:
    """Verdict first, then in the order of the steps, then of the run."""
    shown = (*difference.baseline, *difference.candidate)
    return (0 if difference.kind == "verdict" else 1, difference.at,
            min((s.seq for s in shown), default=0))


def _with_seen(difference: Difference, seen: str, verdict: Verdict | None = None) -> Difference:
    return replace(difference, seen=seen, verdict=verdict or difference.verdict)


def _percentiles(runs: Sequence[Observation], event: str) -> Percentiles:
    samples = [x for run in runs for x in run.latencies.get(event, ())]
    per_run = tuple(percentile(run.latencies.get(event, []), 99) for run in runs)
    return Percentiles(len(samples), percentile(samples, 50), percentile(samples, 95),
                       percentile(samples, 99), per_run)


def spread(values: Sequence[float | None]) -> float | None:
    """How far apart runs' values are: the largest over the smallest, minus 1 (None with
    fewer than two)."""
    known = [v for v in values if v]
    if len(known) < 2:
        return None
    return max(known) / min(known) - 1


def latency_rows(base: Sequence[Sequence[Observation]], cand: Sequence[Sequence[Observation]],
                 max_regression: float, min_delta: float) -> list[LatencyRow]:
    """p50/p95/p99 per event type, each side's runs pooled (``base[i]``: run i's
    observations); a regression when the candidate's p99 exceeds the baseline's by more
    than ``max_regression``, more than the noise, and more than ``min_delta`` seconds, and
    every candidate run's p99 is above every baseline run's. An event type with fewer than
    ``MIN_P99_SAMPLES`` deliveries in a run is shown, not judged: its p99 is its maximum."""
    rows: list[LatencyRow] = []
    flat_base = [_merged(run) for run in base]
    flat_cand = [_merged(run) for run in cand]
    for event in FORWARDED_DRONE_EVENTS:
        b, c = _percentiles(flat_base, event), _percentiles(flat_cand, event)
        if not b.count and not c.count:
            continue
        change = c.p99 / b.p99 - 1 if b.p99 and c.p99 is not None else None
        spreads = [s for s in (spread(b.runs), spread(c.runs)) if s is not None]
        noise = max(spreads) if spreads else None
        few = min((len(obs.latencies.get(event, ())) for obs in (*flat_base, *flat_cand)),
                  default=0) < MIN_P99_SAMPLES
        apart = min((r for r in c.runs if r is not None), default=0.0) > \
            max((r for r in b.runs if r is not None), default=0.0)
        worse = (change is not None and b.p99 is not None and c.p99 is not None
                 and change > max_regression and change > (noise or 0.0)
                 and c.p99 - b.p99 > min_delta and apart)
        verdict = "too few" if few else "regression" if worse else "ok"
        rows.append(LatencyRow(event, b, c, change, noise, verdict))
    return rows


def _merged(run: Sequence[Observation]) -> Observation:
    merged = Observation("(all)", "passed")
    for obs in run:
        for event, samples in obs.latencies.items():
            merged.latencies.setdefault(event, []).extend(samples)
    return merged


def _per_run(runs: Mapping[str, ScenarioRuns]) -> list[list[Observation]]:
    """Run i's observations of every scenario, for each run i of one side."""
    most = max((len(r.observations) for r in runs.values()), default=0)
    return [[r.observations[i] for r in runs.values() if i < len(r.observations)]
            for i in range(most)]


def build_comparison(baseline: SideInfo, candidate: SideInfo,
                     base_runs: Mapping[str, ScenarioRuns], cand_runs: Mapping[str, ScenarioRuns],
                     *, runs: int, max_p99_regression: float, min_p99_delta: float,
                     wall: float = 0.0) -> Comparison:
    """The comparison of two sides' runs of the same scenarios (by scenario id, in the
    baseline's order; a scenario one side lacks is a note)."""
    scenarios = [compare_scenario(base_runs[sid], cand_runs[sid])
                 for sid in base_runs if sid in cand_runs]
    notes = [f"{sid}: ran on one side only" for sid in
             sorted(set(base_runs).symmetric_difference(cand_runs))]
    per_run_base = _per_run(base_runs)
    per_run_cand = _per_run(cand_runs)
    latency = latency_rows(per_run_base, per_run_cand, max_p99_regression, min_p99_delta)
    return Comparison(baseline, candidate, runs, scenarios, latency, max_p99_regression,
                      min_p99_delta, wall, notes)
