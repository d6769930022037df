"""The offline HTML page of ``harness compare``: sides, verdicts, highlighted fields, the two
sides' messages and diagrams, latency, noise, and escaping of whatever the relays sent."""

from __future__ import annotations

import re

from _report_results import REG, Recorder, make_result

from harness.compare.diff import MISSING, FieldChange
from harness.compare.html import render_compare_html
from harness.compare.model import (
    Comparison,
    Difference,
    LatencyRow,
    Percentiles,
    ScenarioComparison,
    Shown,
    SideInfo,
)
from harness.outcome.results import ScenarioResult

EVIL = "<script>alert(1)</script>"


def _result(*, failing: str | None) -> ScenarioResult:
    rec = Recorder()
    rec.step(0.0, "step 1 (emit)", "1")
    rec.add(0.01, "ide", "ide", "sent", "requestSessionLock",
            {"registrationId": REG, "chatSessionId": "d" * 24})
    rec.add(0.02, "ide", "ide", "ack", "requestSessionLock",
            ack={"ok": failing is None, "error": EVIL}, sent_seq=1)
    return make_result(rec.messages, failing=failing, message="lock refused")


def _comparison() -> Comparison:
    regression = Difference(
        "lock/refused", "payload", "regression", "requestSessionLock answer changed",
        actor="ide", event="requestSessionLock", step="step 1 (emit)", line=12,
        fields=(FieldChange("answer.ok", "value", True, False),
                FieldChange("answer.error", "added", MISSING, EVIL),
                FieldChange("answer.lockId", "removed", "L-1", MISSING)),
        baseline=(Shown(3, "ide", "requestSessionLock", {"chatSessionId": "d" * 24},
                        {"ok": True, "lockId": "L-1"}),),
        candidate=(Shown(3, "ide", "requestSessionLock", {"chatSessionId": "d" * 24},
                         {"ok": False, "error": EVIL}),),
        seen="2 of 2")
    allowed = Difference("lock/refused", "appeared", "allowed", "an extra status event",
                         rule="contract 11.3 extra events")
    noise = Difference("lock/refused", "reordered", "unstable", "thinking and text swapped")
    differing = ScenarioComparison(
        "lock/refused", "scenarios/lock.scenario.yaml", ("passed", "passed"),
        ("failed", "failed"), candidate_failure=f"lock refused {EVIL}",
        differences=[regression, allowed], unstable=[noise, noise],
        baseline_result=_result(failing=None), candidate_result=_result(failing="step 1 (emit)"))
    same = ScenarioComparison("stream/basic", "scenarios/stream.scenario.yaml",
                              ("passed", "passed"), ("passed", "passed"))
    latency = [
        LatencyRow("thinking", Percentiles(40, 0.010, 0.020, 0.030, (0.029, 0.031)),
                   Percentiles(40, 0.020, 0.040, 0.060, (0.059, 0.061)), 1.0, 0.07,
                   "regression"),
        LatencyRow("text", Percentiles(10, 0.010, 0.011, 0.012, (0.012, 0.012)),
                   Percentiles(10, 0.010, 0.011, 0.0125, (0.0125, 0.0125)), 0.04, 0.0, "ok"),
        LatencyRow("toolCall", Percentiles(1, 0.005, 0.005, 0.005, (0.005,)),
                   Percentiles(1, 0.006, 0.006, 0.006, (0.006,)), 0.2, None, "ok"),
    ]
    return Comparison(SideInfo("image:relay:1.4", "relay 1.4.0 (node 20)"),
                      SideInfo("path:../relay-next", "relay 1.5.0-dev"), 2, [differing, same],
                      latency, max_p99_regression=0.2, min_p99_delta=0.002, wall=83.4,
                      notes=["the candidate's /healthz answered slowly"])


def _section(page: str, anchor: str) -> str:
    start = page.index(f'id="{anchor}"')
    return page[start:page.index("</section>", start)]


def test_the_header_names_both_sides_and_says_it_fails() -> None:
    page = render_compare_html(_comparison(), title="relay 1.4 vs next")
    assert "<title>relay 1.4 vs next</title>" in page
    assert "image:relay:1.4" in page and "relay 1.4.0 (node 20)" in page
    assert "path:../relay-next" in page and "relay 1.5.0-dev" in page
    assert "2 runs a side" in page and "83.4 s wall" in page
    # one scenario regression and one latency regression
    assert "fails: 2 regressions" in page
    assert "1 allowed" in page and "0 fixed" in page and "2 unstable" in page
    assert "the candidate&#x27;s /healthz answered slowly" in page


def test_a_regression_shows_its_fields_both_sides_and_both_diagrams() -> None:
    page = render_compare_html(_comparison())
    section = _section(page, "s0")
    assert "requestSessionLock answer changed" in section
    assert "step 1 (emit)" in section and "line 12" in section and "seen 2 of 2" in section
    assert "contract 11.3 extra events" in section
    assert '<tr class="value"><td>answer.ok</td>' in section
    assert '<tr class="added"><td>answer.error</td>' in section
    assert '<tr class="removed"><td>answer.lockId</td>' in section
    assert "&quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;" in section
    assert "(absent)" in section
    assert "<h3>baseline</h3>" in section and "<h3>candidate</h3>" in section
    assert "&quot;lockId&quot;: &quot;L-1&quot;" in section  # pretty-printed, escaped JSON
    assert section.count("<svg") == 2
    assert "<details class='diagram-box' open>" in section
    ids = re.findall(r'id="([^"]+)"', section)
    assert len(ids) == len(set(ids)), "the two diagrams' element ids collide"
    assert "2 differences seen between runs of one side (noise, not judged)" in section


def test_nothing_the_relays_sent_reaches_the_page_unescaped() -> None:
    page = render_compare_html(_comparison())
    assert "<script>alert" not in page
    assert page.count("<script>") == 1  # the page's own few lines


def test_latency_marks_the_regression_and_unknown_noise() -> None:
    page = render_compare_html(_comparison())
    assert "more than 20%" in page and "2.0 ms (0.002 s)" in page
    row = re.search(r'<tr class="regression"><td>thinking</td>.*?</tr>', page)
    assert row is not None
    assert "<td>30.0</td>" in row.group(0) and "<td>60.0</td>" in row.group(0)
    assert "<td>+100%</td>" in row.group(0) and "<td>7%</td>" in row.group(0)
    assert '<tr class="ok"><td>text</td>' in page
    assert "unknown (one run a side)" in page


def test_the_index_links_differing_scenarios_and_lists_the_same_ones_compactly() -> None:
    page = render_compare_html(_comparison())
    assert '<a href="#s0">lock/refused</a>' in page
    assert "<td>passed passed</td><td>failed failed</td>" in page
    assert "<li>stream/basic" in page
    assert 'id="s1"' not in page  # no section for a scenario that is the same


def test_a_comparison_without_differences_passes() -> None:
    same = ScenarioComparison("stream/basic", "scenarios/stream.scenario.yaml",
                              ("passed",), ("passed",))
    page = render_compare_html(Comparison(SideInfo("a"), SideInfo("b"), 1, [same]))
    assert "exit 0: passes" in page
    assert "fails:" not in page
    assert "<svg" not in page and "<section" not in page
