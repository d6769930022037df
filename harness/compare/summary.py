"""The terminal summary of a comparison: plain lines, widest first, for people and CI logs.

One block per scenario that differs (its verdict, then its first differences with the step
they happened in, regressions first), the latency table, one line of counts and the
result. ``verbose`` lists every difference instead of the first few.
"""

from __future__ import annotations

from typing import Final

from harness.compare.build import MIN_P99_SAMPLES
from harness.compare.model import Comparison, Difference, ScenarioComparison

SHOWN_PER_SCENARIO: Final = 3
_ORDER: Final = {"regression": 0, "fixed": 1, "allowed": 2, "unstable": 3}
_LABEL: Final = {"regression": "REGRESSION", "fixed": "FIXED", "allowed": "ALLOWED",
                 "same": "same"}


def _short(scenario_id: str) -> str:
    path, _, name = scenario_id.partition("::")
    path = path.removeprefix("scenarios/").removesuffix(".scenario.yaml")
    return f"{path}: {name}" if name else path


def _where(difference: Difference) -> str:
    if not difference.step:
        return ""
    line = f", line {difference.line}" if difference.line else ""
    return f"{difference.step}{line}: "


def difference_line(difference: Difference) -> str:
    """One difference as one line: where, what, and the rule that allows it."""
    rule = f"  [allowed: {difference.rule}]" if difference.verdict == "allowed" else ""
    mark = "" if difference.verdict in ("regression", "allowed") else f"{difference.verdict}: "
    return f"{mark}{_where(difference)}{difference.summary}{rule}"


def scenario_lines(scenario: ScenarioComparison, verbose: bool = False) -> list[str]:
    """The block of one scenario that differs."""
    lines = [f"{_LABEL[scenario.verdict]:<11} {_short(scenario.id)}"]
    ordered = sorted(scenario.differences, key=lambda d: _ORDER[d.verdict])
    shown = ordered if verbose else ordered[:SHOWN_PER_SCENARIO]
    lines += [f"{'':<11}   {difference_line(d)}" for d in shown]
    if len(ordered) > len(shown):
        lines.append(f"{'':<11}   ... and {len(ordered) - len(shown)} more (-v, or the "
                     "report)")
    return lines


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f}"


def latency_lines(comparison: Comparison) -> list[str]:
    """The p99 table, with the threshold and the noise."""
    if not comparison.latency:
        return []
    floor = comparison.min_p99_delta * 1000
    lines = [f"delivery latency p99 (ms); a regression is above +"
             f"{comparison.max_p99_regression:.0%}, above the noise and {floor:g} ms more",
             f"  {'event':<18} {'baseline':>9} {'candidate':>10} {'change':>8} {'noise':>8}"]
    for row in comparison.latency:
        change = "-" if row.change is None else f"{row.change:+.0%}"
        noise = "?" if row.noise is None else f"{row.noise:.0%}"
        flag = {"regression": "  REGRESSION",
                "too few": f"  (under {MIN_P99_SAMPLES} a run: not judged)"}.get(row.verdict, "")
        lines.append(f"  {row.event:<18} {_ms(row.baseline.p99):>9} {_ms(row.candidate.p99):>10}"
                     f" {change:>8} {noise:>8}{flag}")
    if comparison.runs < 2:
        lines.append("  (one run a side: the noise is unknown; --runs 2 measures it)")
    return lines


def load_lines(comparison: Comparison) -> list[str]:
    """The load block: the profile, events/s, violations, errors, p99 per event type."""
    load = comparison.load
    if load is None:
        return []
    base, cand = load.baseline, load.candidate

    def runs(values: tuple[float, ...], scale: float = 1.0, digits: int = 0) -> str:
        return "/".join(f"{v * scale:.{digits}f}" for v in values) or "-"

    def counts(found: dict[str, tuple[int, ...]]) -> str:
        return ", ".join(f"{k} {'/'.join(map(str, v))}" for k, v in found.items()) or "none"

    lines = [f"load ({load.profile}), each run:",
             f"  events/s      baseline {runs(base.rates)}  candidate {runs(cand.rates)}",
             f"  violations    baseline {counts(dict(base.violations))}  candidate "
             f"{counts(dict(cand.violations))}",
             f"  errors        baseline {counts(dict(base.errors))}  candidate "
             f"{counts(dict(cand.errors))}"]
    for event in cand.p99:
        lines.append(f"  {event + ' p99 ms':<13} baseline {runs(base.p99.get(event, ()), 1000, 1)}"
                     f"  candidate {runs(cand.p99[event], 1000, 1)}")
    lines += [f"  REGRESSION {d.summary}" for d in load.differences]
    return lines


def explore_lines(comparison: Comparison) -> list[str]:
    """The explore block: each side's finding with the seed, and the verdict."""
    found = comparison.explore
    if found is None:
        return []
    lines = [f"explore, seed {found.seed}, {found.examples} examples a side:"]
    for name, side in (("baseline", found.baseline), ("candidate", found.candidate)):
        what = f"fails: {side.finding} ({side.file})" if side.finding else "found nothing"
        lines.append(f"  {name:<10} {side.examples} examples, {what}")
    if found.finding_on_baseline is not None:
        lines.append(f"  the candidate's scenario on the baseline: {found.finding_on_baseline}")
    lines += [f"  {d.verdict.upper()} {d.summary}" for d in found.differences]
    return lines


def render_summary(comparison: Comparison, *, verbose: bool = False,
                   report: str | None = None) -> str:
    """The whole summary as text."""
    scenarios = comparison.scenarios
    lines = [f"harness compare: {len(scenarios)} scenario(s), {comparison.runs} run(s) a side, "
             f"{comparison.wall:.1f} s",
             f"  baseline   {comparison.baseline.spec}  ({comparison.baseline.describe})",
             f"  candidate  {comparison.candidate.spec}  ({comparison.candidate.describe})", ""]
    differing = sorted((s for s in scenarios if s.verdict != "same"),
                       key=lambda s: _ORDER.get(s.verdict, 9))
    for scenario in differing:
        lines += scenario_lines(scenario, verbose)
    if differing:
        lines.append("")
    lines += latency_lines(comparison)
    lines += load_lines(comparison)
    lines += explore_lines(comparison)
    lines += [f"note: {note}" for note in comparison.notes]
    counts = {v: sum(1 for s in scenarios if s.verdict == v)
              for v in ("regression", "fixed", "allowed", "same")}
    unstable = sum(len(s.unstable) for s in scenarios)
    regressions = comparison.differences("regression")
    lines.append(f"{counts['same']} scenario(s) the same, {counts['regression']} with "
                 f"regressions, {counts['fixed']} fixed, {counts['allowed']} with allowed "
                 f"differences only; {unstable} difference(s) between runs of one side "
                 "(noise, not judged)")
    if regressions:
        lines.append(f"result: {len(regressions)} regression(s) → exit 1")
    else:
        lines.append("result: no regression → exit 0")
    if report:
        lines.append(f"report: {report}")
    return "\n".join(lines)
