"""The self-contained HTML report: one page, inline CSS and SVG, nothing fetched from anywhere.

A summary (counts, delivery latency per event type, an index of scenarios), then one
section per scenario: status, duration, source, the failure story, the steps with their
outcome and timing, the sequence diagram (open for failing scenarios, folded for passing
ones), the message list with every payload expandable, and the relay log tail.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from html import escape

from harness.outcome.results import ScenarioResult, StepResult
from harness.outcome.story import render_story
from harness.report.junit import headline
from harness.report.latency import LatencyStats, format_ms, latency_stats
from harness.report.sequence import diagram_of_result, diagram_of_trace, pretty, short_ids
from harness.report.svg import render_svg
from harness.report.trace import Trace
from harness.sim.history import Message

LOG_LINES = 60
MESSAGE_LIST_LIMIT = 3000  # messages listed per scenario; the trace has them all
_MARK = {"passed": "✓", "failed": "✗", "error": "!", "skipped": "-", "cancelled": "~",
         "not-run": "·"}

_CSS = """
body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;margin:0;color:#1f2933;
  background:#f5f7fa}
header{background:#263238;color:#fff;padding:16px 24px}
header h1{margin:0;font-size:22px}
main{padding:16px 24px}
section.scenario{background:#fff;border:1px solid #d9e2ec;border-radius:6px;margin:16px 0;
  padding:12px 16px}
section.scenario.failed,section.scenario.error{border-left:6px solid #c62828}
section.scenario.passed{border-left:6px solid #2e7d32}
h2{font-size:17px;margin:4px 0}
.status{font-weight:bold;padding:1px 8px;border-radius:4px;color:#fff}
.status.passed{background:#2e7d32}.status.skipped{background:#8d6e63}
section.scenario.skipped{border-left:6px solid #8d6e63}
.status.failed,.status.error{background:#c62828}
table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #d9e2ec;padding:3px 8px;text-align:left;font-size:13px}
th{background:#eef1f5}
tr.failed td,tr.error td{background:#fdecea;font-weight:bold}
pre{background:#f0f4f8;padding:8px;overflow-x:auto;font-size:12px}
pre.story{background:#fff5f5;border:1px solid #f5c2c7}
.diagram{overflow-x:auto;background:#fff;border:1px solid #d9e2ec;margin:8px 0}
.sequence .time{fill:#52606d;font-size:11px}
.sequence a:hover line{stroke-width:3}
details.message{font-size:12px;margin:1px 0}
details.message:target{background:#fff3c4}
details.message summary{cursor:pointer;font-family:monospace}
.muted{color:#616e7c}
p.headline{color:#b71c1c;font-weight:bold;font-size:15px;background:#fff5f5;
  border:1px solid #f5c2c7;padding:6px 10px;border-radius:4px}
"""

# Opens a message's entry when a diagram arrow links to it.
_SCRIPT = """
function openTarget(){var id=location.hash.slice(1);if(!id)return;
 var el=document.getElementById(id);if(el&&el.tagName==='DETAILS'){el.open=true;
 var p=el.parentElement;while(p){if(p.tagName==='DETAILS')p.open=true;p=p.parentElement;}}}
window.addEventListener('hashchange',openTarget);window.addEventListener('load',openTarget);
"""


def _anchor(index: int) -> str:
    return f"s{index}"


def _steps_table(steps: list[StepResult], failing: str | None) -> str:
    rows: list[str] = []

    def visit(results: list[StepResult], depth: int) -> None:
        for result in results:
            step = result.step
            cls = result.status + (" failing" if step.title == failing else "")
            timing = f"{result.duration:.3f} s" if result.status not in ("not-run", "cancelled") \
                else ""
            title = step.title.removeprefix("step ")
            started = f"+{result.started:.3f} s" if timing else ""
            rows.append(
                f'<tr class="{cls}"><td>{_MARK[result.status]} {result.status}</td>'
                f'<td style="padding-left:{8 + depth * 18}px">{escape(title)}</td>'
                f"<td>{step.source.line}</td><td>{started}</td><td>{timing}</td>"
                f"<td>{escape(result.note or (result.failure.message if result.failure else ''))}"
                f"</td></tr>")
            visit(result.children, depth + 1)

    visit(steps, 0)
    return ('<table class="steps"><tr><th>result</th><th>step</th><th>line</th><th>started</th>'
            '<th>took</th><th>note</th></tr>' + "".join(rows) + "</table>")


def _messages(result: ScenarioResult, anchor: str) -> str:
    return message_list(result.history, anchor)


def message_list(history: Sequence[Message], anchor: str) -> str:
    """Every message (up to ``MESSAGE_LIST_LIMIT``), each with its payload expandable."""
    if not history:
        return ""
    t0 = history[0].t
    shown = history[:MESSAGE_LIST_LIMIT]
    items: list[str] = []
    for m in shown:
        body = m.ack if m.direction in ("ack", "acked") else m.payload
        summary = escape(f"#{m.seq} +{m.t - t0:.3f} s  {m.actor} {m.direction} "
                         f"{short_ids(m.event)}")
        meta = {k: v for k, v in m.meta.items() if k != "headers"}
        extra = pretty({"socket_id": m.socket_id, **meta}) if meta or m.socket_id else ""
        items.append(f'<details class="message" id="{anchor}-{m.seq}"><summary>{summary}'
                     f"</summary><pre>{escape(pretty(body) or '(no payload)')}</pre>"
                     + (f"<pre class='muted'>{escape(extra)}</pre>" if extra else "")
                     + "</details>")
    more = len(history) - len(shown)
    tail = f"<p class='muted'>{more} more in the trace file.</p>" if more > 0 else ""
    return (f"<details class='messages'><summary>message list ({len(history)} messages; "
            f"click a row to expand its payload)</summary>{''.join(items)}{tail}</details>")


def scenario_section(index: int, result: ScenarioResult, trace: str | None) -> str:
    """The page's section of the ``index``-th scenario (``trace``: the link to its trace):
    rendered on its own, so a run can render it as soon as the scenario is done."""
    return _scenario(index, result, trace)


def _scenario(index: int, result: ScenarioResult, trace: str | None) -> str:
    scenario = result.scenario
    anchor = _anchor(index)
    failing = result.failure.step if result.failure else None
    parts = [f'<section class="scenario {result.status}" id="{anchor}">',
             f'<h2><span class="status {result.status}">{result.status.upper()}</span> '
             f"{escape(scenario.name)}</h2>",
             f'<p class="muted">{escape(str(scenario.source))} · {result.duration:.2f} s'
             f"{' · run ' + escape(result.run_id) if result.run_id else ''}"
             + (f' · <a href="{escape(trace)}">trace.jsonl</a>' if trace else "") + "</p>"]
    if scenario.description:
        parts.append(f"<p>{escape(scenario.description)}</p>")
    if result.failure is not None:
        parts.append(f'<p class="headline">✗ {escape(headline(result))}</p>')
    if result.history:
        diagram = diagram_of_result(result)
        folded = f" {diagram.collapsed} stream messages grouped;" if diagram.collapsed else ""
        elided = f" {diagram.elided} rows left out;" if diagram.elided else ""
        opened = "" if result.passed else " open"
        parts.append(f"<details class='diagram-box'{opened}><summary>sequence diagram "
                     f"({len(result.history)} messages;{folded}{elided} hover an arrow for its "
                     f"payload, click it to open it in the message list)</summary>"
                     f'<div class="diagram">{render_svg(diagram, anchor=anchor)}</div>'
                     "</details>")
    parts.append(_steps_table(result.steps, failing))
    if not result.passed:
        parts.append(f"<details class='story'><summary>failure story (as printed by harness "
                     f'run)</summary><pre class="story">{escape(render_story(result, logs=False))}'
                     "</pre></details>")
    parts.append(_messages(result, anchor))
    relay_log = result.logs.get("relay", "")
    if relay_log.strip():
        tail = "\n".join(relay_log.rstrip().splitlines()[-LOG_LINES:])
        parts.append(f"<details><summary>relay log (last {LOG_LINES} lines)</summary>"
                     f"<pre>{escape(tail)}</pre></details>")
    parts.append("</section>")
    return "\n".join(parts)


def latency_table_html(stats: Sequence[LatencyStats]) -> str:
    """Delivery latency per event type as an HTML table (empty when nothing was delivered)."""
    if not stats:
        return "<p class='muted'>no drone stream events were sent in this run.</p>"
    rows = "".join(
        f"<tr><td>{escape(s.event)}</td><td>{s.count}</td><td>{format_ms(s.p50)}</td>"
        f"<td>{format_ms(s.p95)}</td><td>{format_ms(s.p99)}</td><td>{format_ms(s.max)}</td>"
        f"<td>{s.undelivered}</td></tr>" for s in stats)
    return ('<table class="latency"><tr><th>event</th><th>deliveries</th><th>p50</th>'
            '<th>p95</th><th>p99</th><th>max</th><th>never delivered</th></tr>'
            f"{rows}</table>")


def render_html(results: Sequence[ScenarioResult], *, title: str,
                traces: Mapping[str, str] | None = None,
                generated: datetime.datetime | None = None,
                rendered: Mapping[tuple[int, str], str] | None = None) -> str:
    """The report page of ``results`` (``traces``: scenario id -> link to its trace;
    ``rendered``: sections already rendered by ``scenario_section``, by (index, id))."""
    traces = traces or {}
    rendered = rendered or {}
    failed = [r for r in results if not r.passed]
    skipped = sum(1 for r in results if r.status == "skipped")
    when = (generated or datetime.datetime.now(datetime.UTC)).isoformat(timespec="seconds")
    index = "".join(
        f'<tr class="{r.status}"><td><a href="#{_anchor(i)}">{escape(r.scenario.id)}</a></td>'
        f"<td>{r.status}</td><td>{r.duration:.2f} s</td>"
        f"<td>{escape(r.failure.message[:200]) if r.failure else ''}</td></tr>"
        for i, r in enumerate(results))
    sections = "\n".join(rendered.get((i, r.scenario.id))
                         or _scenario(i, r, traces.get(r.scenario.id))
                         for i, r in enumerate(results))
    stats = latency_stats(r.history for r in results)
    safe_title = escape(title)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{safe_title}</title><style>{_CSS}</style></head>
<body><header><h1>{safe_title}</h1>
<div id="summary">{len(results) - len(failed) - skipped} passed, {len(failed)} failed{
    f", {skipped} skipped" if skipped else ""} · generated {when}
</div></header><main>
<h2>scenarios</h2>
<table class="index"><tr><th>scenario</th><th>result</th><th>time</th><th>problem</th></tr>
{index}</table>
<h2>delivery latency (drone emit → IDE receipt)</h2>
{latency_table_html(stats)}
{sections}
</main><script>{_SCRIPT}</script></body></html>
"""


def render_trace_html(trace: Trace, *, title: str) -> str:
    """One trace (a recording of ``harness record``, or a scenario's trace.jsonl) as an
    offline page: its sequence diagram and its message list."""
    messages = trace.messages
    diagram = diagram_of_trace(trace)
    header = trace.header
    info = header.get("recording") or {}
    about = (f"recorded from {info.get('upstream')} at {info.get('started')}" if info
             else f"{header.get('scenario', '?')}: {header.get('status', '?')}")
    safe_title = escape(title)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{safe_title}</title><style>{_CSS}</style></head>
<body><header><h1>{safe_title}</h1><div id="summary">{escape(about)} · {len(messages)}
messages</div></header><main><section class="scenario">
<div class="diagram">{render_svg(diagram, anchor="m")}</div>
{message_list(messages, "m")}
</section></main><script>{_SCRIPT}</script></body></html>
"""


def slug(text: str) -> str:
    """A file-name-safe form of a scenario id."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:80] or "scenario"
