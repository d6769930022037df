"""The offline HTML page of ``harness compare``: one self-contained page, inline CSS and SVG,
nothing fetched from anywhere.

A header (both sides, runs per side, wall time, the counts of regressions, allowed
differences, fixed scenarios and noise, and what the exit code means), the notes, the
delivery latency of each side per event type with the p99 change, the noise and the
verdict, and an index of scenarios with their verdict and statuses per run. Then one
section per scenario that differs: each difference as a card (verdict, rule, summary,
where), its changed fields highlighted, both sides' messages side by side, the two
sequence diagrams side by side for a scenario that regressed or got fixed, and the noise
between runs of one side folded away.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from typing import Any

from harness.compare.diff import MISSING, FieldChange
from harness.compare.model import Comparison, Difference, LatencyRow, ScenarioComparison, Shown
from harness.compare.summary import explore_lines, load_lines
from harness.outcome.results import ScenarioResult
from harness.report.html import _CSS, _SCRIPT, message_list
from harness.report.sequence import diagram_of_result
from harness.report.svg import render_svg

_COMPARE_CSS = """
.badge{font-weight:bold;padding:1px 8px;border-radius:4px;color:#fff;font-size:12px}
.badge.regression{background:#c62828}.badge.fixed{background:#2e7d32}
.badge.allowed{background:#546e7a}.badge.same{background:#9aa5b1}
.badge.unstable{background:#b26a00}
section.scenario.regression{border-left:6px solid #c62828}
section.scenario.fixed{border-left:6px solid #2e7d32}
section.scenario.allowed{border-left:6px solid #546e7a}
tr.regression td{background:#fdecea;font-weight:bold}
.card{border:1px solid #d9e2ec;border-radius:4px;margin:8px 0;padding:6px 10px}
.card.regression{border-left:4px solid #c62828;background:#fffafa}
.card.fixed{border-left:4px solid #2e7d32}.card.allowed{border-left:4px solid #546e7a}
.card.unstable{border-left:4px solid #b26a00}
.rule{color:#37474f;font-family:monospace;font-size:12px}
table.fields tr.removed td,table.fields tr.type td,table.fields tr.value td{background:#fdecea}
table.fields tr.added td{background:#e8f5e9}
table.fields td.value{font-family:monospace;white-space:pre-wrap;word-break:break-all}
.sides{display:grid;grid-template-columns:1fr 1fr;gap:12px}
.sides>div{min-width:0;overflow-x:auto}
.sides h3{font-size:14px;margin:4px 0}
.verdict{font-weight:bold;font-size:15px}
.verdict.fails{color:#ffcdd2}.verdict.passes{color:#c8e6c9}
ul.same{columns:2;font-size:13px}
header .muted{color:#b0bec5}
"""
_VERDICT_ORDER = {"regression": 0, "fixed": 1, "allowed": 2, "same": 3}


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:+.0%}"


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _header(comparison: Comparison, title: str) -> str:
    regressions = len(comparison.differences("regression"))
    allowed = len(comparison.differences("allowed"))
    fixed = len(comparison.differences("fixed"))
    unstable = sum(len(s.unstable) for s in comparison.scenarios)
    if comparison.exit_code:
        verdict = (f'<span class="verdict fails">exit {comparison.exit_code}: fails: '
                   f"{_plural(regressions, 'regression')}</span>")
    else:
        verdict = f'<span class="verdict passes">exit {comparison.exit_code}: passes</span>'
    sides = "".join(
        f"<div>{name}: <b>{escape(side.spec)}</b>"
        + (f" <span class='muted'>({escape(side.describe)})</span>" if side.describe else "")
        + "</div>"
        for name, side in (("baseline", comparison.baseline),
                           ("candidate", comparison.candidate)))
    return (f"<header><h1>{escape(title)}</h1>{sides}"
            f'<div id="summary">{_plural(comparison.runs, "run")} a side · '
            f"{comparison.wall:.1f} s wall · {_plural(regressions, 'regression')} · "
            f"{allowed} allowed · {fixed} fixed · {unstable} unstable (noise) · {verdict}"
            "</div></header>")


def _latency(comparison: Comparison) -> str:
    intro = (f"<p>A p99 is a regression when the candidate's exceeds the baseline's by more "
             f"than {comparison.max_p99_regression:.0%}, by more than the noise (the spread "
             f"of p99 between runs of one side), and by more than "
             f"{comparison.min_p99_delta * 1000:.1f} ms ({comparison.min_p99_delta:g} s). "
             "Times in ms.</p>")
    if not comparison.latency:
        return intro + "<p class='muted'>no drone stream events were delivered.</p>"
    return (intro + '<table class="latency"><tr><th rowspan="2">event</th>'
            '<th colspan="3">baseline</th><th colspan="3">candidate</th>'
            '<th rowspan="2">p99 change</th><th rowspan="2">noise</th>'
            '<th rowspan="2">verdict</th></tr><tr>' + "<th>p50</th><th>p95</th><th>p99</th>" * 2
            + "</tr>" + "".join(_latency_row(row) for row in comparison.latency) + "</table>")


def _latency_row(row: LatencyRow) -> str:
    cells = [_ms(p) for side in (row.baseline, row.candidate) for p in (side.p50, side.p95,
                                                                         side.p99)]
    noise = "unknown (one run a side)" if row.noise is None else f"{row.noise:.0%}"
    return (f'<tr class="{escape(row.verdict)}"><td>{escape(row.event)}</td>'
            + "".join(f"<td>{c}</td>" for c in cells)
            + f"<td>{_pct(row.change)}</td><td>{noise}</td><td>{escape(row.verdict)}</td></tr>")


def _anchor(index: int) -> str:
    return f"s{index}"


def _index(scenarios: Sequence[tuple[int, ScenarioComparison]]) -> str:
    rows: list[str] = []
    same: list[str] = []
    for i, s in scenarios:
        statuses = (escape(" ".join(s.baseline_status)), escape(" ".join(s.candidate_status)))
        if s.verdict == "same":
            same.append(f"<li>{escape(s.id)} <span class='muted'>({statuses[0]} / "
                        f"{statuses[1]})</span></li>")
            continue
        rows.append(f'<tr class="{s.verdict}"><td><a href="#{_anchor(i)}">{escape(s.id)}</a>'
                    f'</td><td><span class="badge {s.verdict}">{s.verdict}</span></td>'
                    f"<td>{statuses[0]}</td><td>{statuses[1]}</td>"
                    f"<td>{len(s.differences)}</td><td>{len(s.unstable)}</td></tr>")
    table = ('<table class="index"><tr><th>scenario</th><th>verdict</th><th>baseline runs</th>'
             "<th>candidate runs</th><th>differences</th><th>unstable</th></tr>"
             + "".join(rows) + "</table>") if rows else ""
    listed = (f"<details><summary>{_plural(len(same), 'scenario')} the same on both sides "
              f"(baseline / candidate statuses)</summary><ul class='same'>{''.join(same)}"
              "</ul></details>") if same else ""
    return table + listed


def _value(value: Any) -> str:
    if value == MISSING:
        return "<span class='muted'>(absent)</span>"
    return escape(json.dumps(value, sort_keys=True, default=str))


def _fields(changes: Sequence[FieldChange]) -> str:
    rows = "".join(f'<tr class="{escape(c.kind)}"><td>{escape(c.path)}</td>'
                   f"<td>{escape(c.kind)}</td><td class='value'>{_value(c.before)}</td>"
                   f"<td class='value'>{_value(c.after)}</td></tr>" for c in changes)
    return ('<table class="fields"><tr><th>field</th><th>change</th><th>baseline</th>'
            f"<th>candidate</th></tr>{rows}</table>")


def _shown(messages: Sequence[Shown]) -> str:
    if not messages:
        return "<p class='muted'>(nothing)</p>"
    out: list[str] = []
    for m in messages:
        out.append(f"<div class='muted'>#{m.seq} {escape(m.actor)} {escape(m.event)}</div>")
        if m.payload is not None:
            out.append(f"<pre>{escape(_json(m.payload))}</pre>")
        if m.answer is not None:
            out.append(f"<div class='muted'>answer</div><pre>{escape(_json(m.answer))}</pre>")
    return "".join(out)


def _card(d: Difference) -> str:
    where = " · ".join(x for x in (
        escape(d.step) if d.step else "", f"line {d.line}" if d.line is not None else "",
        f"actor {escape(d.actor)}" if d.actor else "",
        f"seen {escape(d.seen)}" if d.seen else "") if x)
    parts = [f'<div class="card {escape(d.verdict)}"><div><span class="badge '
             f'{escape(d.verdict)}">{escape(d.verdict)}</span> <b>{escape(d.summary)}</b>'
             + (f' <span class="rule">allowed by: {escape(d.rule)}</span>' if d.rule else "")
             + "</div>",
             f"<div class='muted'>{escape(d.kind)}{' · ' + where if where else ''}</div>"]
    if d.fields:
        parts.append(_fields(d.fields))
    if d.baseline or d.candidate:
        parts.append(f"<div class='sides'><div><h3>baseline</h3>{_shown(d.baseline)}</div>"
                     f"<div><h3>candidate</h3>{_shown(d.candidate)}</div></div>")
    parts.append("</div>")
    return "".join(parts)


def _own_ids(svg: str, anchor: str) -> str:
    """The diagram with its arrowhead markers renamed, so two diagrams' ids never collide."""
    return svg.replace('id="head-', f'id="{anchor}-head-').replace(
        "url(#head-", f"url(#{anchor}-head-")


def _diagrams(index: int, s: ScenarioComparison) -> str:
    base, cand = s.baseline_result, s.candidate_result
    if s.verdict not in ("regression", "fixed") or not (
            isinstance(base, ScenarioResult) and isinstance(cand, ScenarioResult)):
        return ""
    columns = []
    for name, anchor, result in (("baseline", f"b{index}", base),
                                 ("candidate", f"c{index}", cand)):
        svg = _own_ids(render_svg(diagram_of_result(result), anchor=anchor), anchor)
        columns.append(f"<div><h3>{name}: {escape(result.status)}</h3>"
                       f'<div class="diagram">{svg}</div>{message_list(result.history, anchor)}'
                       "</div>")
    opened = " open" if s.verdict == "regression" else ""
    return (f"<details class='diagram-box'{opened}><summary>sequence diagrams (first run of "
            f"each side)</summary><div class='sides'>{''.join(columns)}</div></details>")


def _scenario(index: int, s: ScenarioComparison) -> str:
    parts = [f'<section class="scenario {s.verdict}" id="{_anchor(index)}">',
             f'<h2><span class="badge {s.verdict}">{s.verdict.upper()}</span> '
             f"{escape(s.id)}</h2>",
             f"<p class='muted'>{escape(s.file)} · baseline {escape(' '.join(s.baseline_status))}"
             f" · candidate {escape(' '.join(s.candidate_status))}</p>"]
    for name, failure in (("baseline", s.baseline_failure), ("candidate", s.candidate_failure)):
        if failure:
            parts.append(f"<details><summary>{name} failure</summary>"
                         f'<pre class="story">{escape(failure)}</pre></details>')
    parts += [_card(d) for d in s.differences]
    parts.append(_diagrams(index, s))
    if s.unstable:
        parts.append(f"<details class='unstable'><summary>{len(s.unstable)} differences seen "
                     "between runs of one side (noise, not judged)</summary>"
                     + "".join(_card(d) for d in s.unstable) + "</details>")
    parts.append("</section>")
    return "\n".join(parts)


def _load(comparison: Comparison) -> str:
    """The --load block, as the terminal shows it."""
    out = []
    for name, lines in (("load", load_lines(comparison)),
                        ("explore", explore_lines(comparison))):
        if lines:
            out.append(f"<h2>{name}</h2><pre>{escape(chr(10).join(lines))}</pre>")
    return "".join(out)


def render_compare_html(comparison: Comparison, *, title: str = "harness compare") -> str:
    """The report page of ``comparison``."""
    ordered = sorted(enumerate(comparison.scenarios),
                     key=lambda pair: (_VERDICT_ORDER.get(pair[1].verdict, 9), pair[0]))
    sections = "\n".join(_scenario(i, s) for i, s in ordered
                         if s.differences or s.unstable)
    notes = ("<h2>notes</h2><ul>" + "".join(f"<li>{escape(n)}</li>" for n in comparison.notes)
             + "</ul>") if comparison.notes else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><style>{_CSS}{_COMPARE_CSS}</style></head>
<body>{_header(comparison, title)}<main>
{notes}
<h2>delivery latency (drone emit → IDE receipt)</h2>
{_latency(comparison)}
{_load(comparison)}
<h2>scenarios</h2>
{_index(ordered)}
{sections}
</main><script>{_SCRIPT}</script></body></html>
"""
