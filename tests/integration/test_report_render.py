"""Live: a run against relays with known-bug switches, its HTML report rendered in headless
Chromium, and what a person would see there: the lanes, the arrow that never arrived with
its label, the highlighted failing step.

Needs Debian's ``chromium`` (scripts/ci-chromium.sh installs it). Without it the test skips,
saying so, unless ``GADGET_REQUIRE_CHROMIUM=1`` (set by .ci/run), where it fails.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from collections.abc import Awaitable, Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harness.env import LocalEnvironment
from harness.outcome.results import ScenarioResult
from harness.report import read_trace, write_reports
from harness.scenario.loader import load_file
from harness.scenario.runner import run_scenario

MakeEnv = Callable[..., Awaitable[LocalEnvironment]]
CHROMIUM_TIMEOUT = 120

# One scenario per known-bug switch; each fails against its switch, and passes without it.
SCENARIOS = """
name: lock
world: {drones_per_user: 1}
actors:
  ide: {ide: {user: 0}}
  d0: {drone: 0}
steps:
  - connect: [d0, ide]
  - emit: {actor: ide, event: openChatSession, payload: {chatSessionId: "${chat_sessions[0].id}"},
           ack: {ok: true}}
  - name: lock the drone
    emit:
      actor: ide
      event: requestSessionLock
      payload: {registrationId: "${drones[0].id}", chatSessionId: "${chat_sessions[0].id}"}
      ack: {ok: true}
  - expect: {actor: d0, event: requestSessionLock}
---
name: terminate
world: {drones_per_user: 1}
actors:
  d0: {drone: 0, behaviour: {on_termination: accept}}
  owner: {http: {user: 0}}
steps:
  - connect: [d0]
  - name: terminate
    http:
      actor: owner
      method: POST
      path: /api/v1/drone/registration/${drones[0].id}/terminate
      expect: {status: 200}
---
name: forget
world: {drones_per_user: 1}
actors:
  d0: {drone: 0}
steps:
  - connect: [d0]
  - disconnect: [d0]
  - name: the relay forgets the drone
    wait_until:
      sessions: {map: dronesByRegistration, lacks: ["${drones[0].id}"]}
      timeout: 2
"""
SWITCHES = {"lock": "lookup-by-socket-id", "terminate": "no-termination-handler",
            "forget": "stale-index-on-disconnect"}


def chromium() -> str:
    """The Chromium binary, or skip (fail where GADGET_REQUIRE_CHROMIUM=1)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    reason = "no chromium on PATH (bash scripts/ci-chromium.sh installs Debian's)"
    if os.environ.get("GADGET_REQUIRE_CHROMIUM") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def render(page: Path, profile: Path, screenshot: Path) -> str:
    """The DOM of ``page`` after its scripts ran; also a full-width screenshot."""
    base = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={profile}", "--window-size=1300,2400"]
    url = page.resolve().as_uri()
    dom = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True,
                         timeout=CHROMIUM_TIMEOUT, check=True).stdout
    subprocess.run([*base, f"--screenshot={screenshot}", url], capture_output=True,
                   timeout=CHROMIUM_TIMEOUT, check=True)
    return dom


class Texts(HTMLParser):
    """Every text node with the classes of its enclosing elements, per report section."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, set[str]]] = []
        self.texts: list[tuple[str | None, set[str], str]] = []  # (section id, classes, text)
        self.section: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        classes = set((values.get("class") or "").split())
        if tag == "section" and "scenario" in classes:
            self.section = values.get("id")
        self.stack.append((tag, classes))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if data.strip():
            classes = set().union(*(c for _, c in self.stack)) if self.stack else set()
            self.texts.append((self.section, classes, data.strip()))

    def within(self, section: str, *classes: str) -> list[str]:
        return [t for s, c, t in self.texts if s == section and set(classes) <= c]


@pytest.fixture
async def known_bug_results(make_relay_env: MakeEnv) -> list[ScenarioResult]:
    results: list[ScenarioResult] = []
    for scenario in load_file(Path("report-render.scenario.yaml"), SCENARIOS):
        env = await make_relay_env(regressions=frozenset({SWITCHES[scenario.name]}))
        results.append(await run_scenario(scenario, env))
    return results


async def test_the_report_shows_where_each_known_bug_stopped_the_message(
        known_bug_results: list[ScenarioResult], tmp_path: Path) -> None:
    chromium()
    assert [r.status for r in known_bug_results] == ["failed"] * 3, \
        [r.failure for r in known_bug_results]
    paths = write_reports(known_bug_results, report_dir=tmp_path / "report",
                          junit_xml=tmp_path / "junit.xml", title="known bugs")
    assert paths.index is not None
    shot = tmp_path / "report.png"
    dom = await asyncio.to_thread(render, paths.index, tmp_path / "profile", shot)
    page = Texts()
    page.feed(dom)
    lock, terminate, forget = "s0", "s1", "s2"

    # the lanes: each actor and the relay, named at the top of the diagram
    assert page.within(lock, "lane-title") == ["ide", "relay", "d0"]
    assert page.within(terminate, "lane-title") == ["owner", "relay", "d0"]
    assert page.within(forget, "lane-title") == ["relay", "d0"]

    # lookup-by-socket-id: the lock request stops at the relay, said in words under it
    (lost,) = page.within(lock, "row", "lost", "why")
    assert lost == "requestSessionLock never reached d0 (ack: error drone-offline)"
    assert page.within(lock, "row", "lost", "failing")  # inside the highlighted step
    # ... and the highlighted step is the one that failed, marked as such
    banner = page.within(lock, "row", "step", "failing", "banner")
    assert banner == ['✗ step 3 (emit "lock the drone")  — FAILED HERE']
    assert [t for t in page.within(lock, "banner") if "FAILED" in t] == banner

    # no-termination-handler: the terminate call's requestTermination never reached d0
    (lost,) = page.within(terminate, "row", "lost", "why")
    assert lost == "requestTermination never reached d0 (504 termination-timeout)"
    assert page.within(terminate, "row", "step", "failing", "banner") == [
        '✗ step 2 (http "terminate")  — FAILED HERE']

    # stale-index-on-disconnect: the disconnect reached the relay, which kept the drone
    assert "disconnect (client)" in page.within(forget, "row", "arrow", "label")
    failure = " ".join(page.within(forget, "row", "failure"))
    assert "dronesByRegistration" in failure and "(d0)" in failure

    # the page needs nothing from the network, and the screenshot is a real picture
    assert re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", dom) is None
    assert "@import" not in dom and "url(http" not in dom
    assert shot.stat().st_size > 50_000
    # the traces and the JUnit file tell the same story
    trace = read_trace(paths.traces[known_bug_results[0].scenario.id])
    assert trace.header["failure"]["step"] == 'step 3 (emit "lock the drone")'
    assert paths.junit is not None and 'message="step 3 (emit &quot;lock the drone&quot;)' in \
        paths.junit.read_text()
