"""``harness run -j``: scenarios side by side on one relay, longest first; those that cannot
share it on a relay apart (or, where there is none, alone after the rest); and results and
reports the same as a serial run's."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from _harness_cli import run_harness
from conftest import FAST_SETTINGS
from pymongo import AsyncMongoClient

from harness.env import Environment, ExternalEnvironment, LocalEnvironment
from harness.env.local import APART_SUFFIX
from harness.outcome.results import ScenarioResult
from harness.scenario.loader import load_file
from harness.scenario.model import Scenario
from harness.scenario.schedule import run_scenarios

QUIET = """\
name: {name}
{extra}world: {{drones_per_user: 1}}
actors:
  ide: {{ide: {{user: 0}}}}
  d0: {{drone: 0}}
steps:
  - connect: [ide, d0]
  - use: open-and-lock
    with: {{ide: ide, drone: d0}}
  - expect_nothing: {{actor: ide, for: 0.6, events: [thinking]}}
"""


ALONE = """\
name: quiet 2
exclusive: it counts the relay's whole maps
world: {drones_per_user: 1}
actors:
  d0: {drone: 0}
steps:
  - connect: [d0]
  - wait_until: {sessions: {map: dronesByRegistration, size: 1}}
"""


def _write(folder: Path) -> list[Scenario]:
    (folder / "steps").mkdir(parents=True)
    pack = Path(__file__).resolve().parents[2] / "scenarios" / "steps"
    for group in ("open-chat", "lock", "open-and-lock"):
        (folder / "steps" / f"{group}.steps.yaml").write_text(
            (pack / f"{group}.steps.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    scenarios: list[Scenario] = []
    for index in range(4):
        file = folder / f"s{index}.scenario.yaml"
        file.write_text(ALONE if index == 2 else QUIET.format(name=f"quiet {index}", extra=""),
                        encoding="utf-8")
        scenarios += load_file(file)
    return scenarios


async def _run(scenarios: list[Scenario], env: Environment,
               began: dict[str, float], ended: dict[str, float]) -> list[ScenarioResult]:
    def done(result: ScenarioResult) -> None:
        ended[result.scenario.name] = time.monotonic()

    results = await run_scenarios(scenarios, env, jobs=3, on_result=done,
                                  on_start=lambda s: began.setdefault(s.name, time.monotonic()))
    assert [r.scenario.name for r in results] == [s.name for s in scenarios]  # as given
    assert all(r.passed for r in results), [r.failure for r in results]
    shared = ["quiet 0", "quiet 1", "quiet 3"]
    assert max(began[n] for n in shared) < min(ended[n] for n in shared)  # side by side
    return results


async def test_an_exclusive_scenario_runs_on_a_relay_apart_beside_the_others(
        tmp_path: Path) -> None:
    scenarios = _write(tmp_path)
    async with LocalEnvironment(FAST_SETTINGS) as env:
        await _run(scenarios, env, {}, {})
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(env.mongo_uri)
        try:
            names = await client.list_database_names()
        finally:
            await client.close()
    # Its world was seeded where the second relay reads; its count of the relay's whole
    # maps (one drone: its own) held although the others' drones were connected.
    assert env.database + APART_SUFFIX in names


async def test_without_a_relay_apart_an_exclusive_scenario_runs_after_the_rest(
        tmp_path: Path) -> None:
    scenarios = _write(tmp_path)
    began: dict[str, float] = {}
    ended: dict[str, float] = {}
    async with LocalEnvironment(FAST_SETTINGS) as local:
        external = ExternalEnvironment(local.relay_url, local.mongo_uri, local.database,
                                       local.admin_token, timeouts=local.relay_timeouts)
        async with external:
            await _run(scenarios, external, began, ended)
    assert began["quiet 2"] >= max(ended[n] for n in ("quiet 0", "quiet 1", "quiet 3"))


async def test_the_longest_expected_scenarios_start_first(tmp_path: Path) -> None:
    scenarios = [s for s in _write(tmp_path) if s.name != "quiet 2"]
    order: list[str] = []
    async with LocalEnvironment(FAST_SETTINGS) as env:
        await run_scenarios(scenarios, env, jobs=1, on_start=lambda s: order.append(s.name),
                            expected={scenarios[2].id: 3.0, scenarios[0].id: 0.5})
    assert order == ["quiet 3", "quiet 1", "quiet 0"]  # 3 s, unknown (a guess of 1 s), 0.5 s


def _junit(path: Path) -> list[tuple[str, str]]:
    cases = ET.parse(path).getroot().iter("testcase")
    outcome = ("failure", "error", "skipped")
    return [(case.get("name", ""), next((c.tag for c in case if c.tag in outcome), "ok"))
            for case in cases]


def test_a_parallel_run_reports_what_a_serial_run_does(tmp_path: Path) -> None:
    _write(tmp_path / "pack")
    (tmp_path / "pack" / "s1.scenario.yaml").write_text(
        QUIET.format(name="quiet 1", extra="").replace(
            "for: 0.6, events: [thinking]}", "for: 0.6, events: [droneStatus]}"),
        encoding="utf-8")  # fails: the IDE hears droneStatus busy after the lock
    reports = {}
    for jobs in ("1", "4"):
        run = run_harness("run", str(tmp_path / "pack"), "-j", jobs,
                          "--report", str(tmp_path / f"report-{jobs}"),
                          "--junit-xml", str(tmp_path / f"junit-{jobs}.xml"))
        assert run.returncode == 1, run.stdout[-2000:]
        assert "3 passed, 1 failed" in run.stdout
        reports[jobs] = sorted(p.name for p in (tmp_path / f"report-{jobs}").iterdir()
                               if p.is_dir() and p.name != "logs")
    assert _junit(tmp_path / "junit-1.xml") == _junit(tmp_path / "junit-4.xml") == [
        ("quiet 0", "ok"), ("quiet 1", "failure"), ("quiet 2", "ok"), ("quiet 3", "ok")]
    assert reports["1"] == reports["4"]
    assert len(reports["1"]) == 4
