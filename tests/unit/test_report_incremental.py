"""``RunReport`` and ``TailWriter``: the report written as a run goes (in its tail) is the
report written at its end."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from pathlib import Path

import pytest
from _report_results import Recorder, make_result, stream

from harness.errors import ConfigError
from harness.outcome.results import ScenarioResult
from harness.report import RunReport, write_reports
from harness.report.files import trace_name
from harness.report.tail import TailWriter
from harness.scenario.model import Source


def _results() -> list[ScenarioResult]:
    results = []
    for index, failing in enumerate((None, "step 2 (expect)", None)):
        rec = Recorder()
        rec.step(0.0, "step 1 (connect)", "1")
        rec.add(0.1, "d0", "drone", "out", "thinking", stream(0.1, 1))
        rec.add(0.2, "ide", "ide", "in", "thinking", stream(0.1, 1))
        rec.step(0.3, "step 2 (expect)", "2")
        result = make_result(rec.messages, failing=failing)
        scenario = dataclasses.replace(result.scenario, name=f"s{index}",
                                       source=Source(Path(f"scenarios/s{index}.scenario.yaml"),
                                                     1))
        results.append(dataclasses.replace(result, scenario=scenario))
    return results


def _page(folder: Path) -> str:
    text = (folder / "index.html").read_text(encoding="utf-8")
    return re.sub(r"generated [0-9T:+-]+", "generated <when>", text)


def _files(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text(encoding="utf-8")
            for p in sorted(folder.rglob("trace.jsonl"))}


def test_a_report_written_as_results_come_is_the_one_written_at_the_end(
        tmp_path: Path) -> None:
    results = _results()
    write_reports(results, report_dir=tmp_path / "end", junit_xml=tmp_path / "end.xml",
                  title="harness run")
    report = RunReport(tmp_path / "going", title="harness run")
    for position in (2, 0, 1):  # in the order they finished
        report.add(position, results[position])
    report.finish(results, tmp_path / "going.xml")
    assert _page(tmp_path / "going") == _page(tmp_path / "end")
    assert _files(tmp_path / "going") == _files(tmp_path / "end")
    assert len(_files(tmp_path / "end")) == 3


def test_a_result_added_at_another_position_is_written_where_it_ends_up(
        tmp_path: Path) -> None:
    results = _results()
    write_reports(results[1:], report_dir=tmp_path / "end", junit_xml=None, title="t")
    report = RunReport(tmp_path / "going", title="t")
    report.add(1, results[1])  # the run stopped early: it ends up first
    report.add(2, results[2])
    report.finish(results[1:], None)
    assert _page(tmp_path / "going") == _page(tmp_path / "end")
    written = _files(tmp_path / "going")
    assert set(_files(tmp_path / "end")) <= set(written)  # the early copies stay, unlinked


async def test_parts_are_written_only_once_every_scenario_has_started(tmp_path: Path) -> None:
    results = _results()
    tail = TailWriter(RunReport(tmp_path, title="t"), total=3)
    tail.started()
    tail.finished(0, results[0])  # two scenarios have yet to start: not now
    await asyncio.sleep(0.05)
    assert _files(tmp_path) == {}
    tail.started()
    tail.started()  # the last one: the tail opens, the finished part is written
    tail.finished(1, results[1])
    await tail.close()
    assert sorted(_files(tmp_path)) == [f"{trace_name(i, results[i])}/trace.jsonl"
                                        for i in (0, 1)]


async def test_an_unwritable_report_folder_is_one_error_at_close(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("", encoding="utf-8")
    tail = TailWriter(RunReport(tmp_path / "file" / "report", title="t"), total=1)
    tail.started()
    tail.finished(0, _results()[0])
    with pytest.raises(ConfigError, match="cannot write the report to"):
        await tail.close()
