"""``harness run -j``: scenarios side by side on one relay, those that cannot share it alone
after the rest, and results and reports the same as a serial run's."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from pathlib import Path

from _harness_cli import run_harness
from conftest import FAST_SETTINGS

from harness.env import LocalEnvironment
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


def _write(folder: Path) -> list[Scenario]:
    (folder / "steps").mkdir(parents=True)
    pack = Path(__file__).resolve().parents[2] / "scenarios" / "steps"
    for group in ("open-chat", "lock", "open-and-lock"):
        (folder / "steps" / f"{group}.steps.yaml").write_text(
            (pack / f"{group}.steps.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    scenarios: list[Scenario] = []
    for index, extra in enumerate(["", "", "exclusive: it wants the relay to itself\n", ""]):
        file = folder / f"s{index}.scenario.yaml"
        file.write_text(QUIET.format(name=f"quiet {index}", extra=extra), encoding="utf-8")
        scenarios += load_file(file)
    return scenarios


async def test_scenarios_share_the_relay_and_an_exclusive_one_runs_alone(
        tmp_path: Path) -> None:
    scenarios = _write(tmp_path)
    began: dict[str, float] = {}
    ended: dict[str, float] = {}

    def done(result: ScenarioResult) -> None:
        ended[result.scenario.name] = time.monotonic()

    async with LocalEnvironment(FAST_SETTINGS) as env:
        results = await run_scenarios(
            scenarios, env, jobs=3, on_result=done,
            on_start=lambda s: began.setdefault(s.name, time.monotonic()))
    assert [r.scenario.name for r in results] == [s.name for s in scenarios]  # as given
    assert all(r.passed for r in results), [r.failure for r in results]
    shared = ["quiet 0", "quiet 1", "quiet 3"]
    assert max(began[n] for n in shared) < min(ended[n] for n in shared)  # side by side
    assert began["quiet 2"] >= max(ended[n] for n in shared)  # alone, after the rest


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
