"""The bench Markdown table and machine description."""

from __future__ import annotations

from typing import Any

from harness.bench.machine import describe_machine
from harness.bench.recorder import recorder_markdown
from harness.bench.suite import markdown_table


def _results() -> dict[str, Any]:
    return {
        "ratio": 0.613, "p99Ratio": 1.186,
        "relay": {"rate": 1580.0, "p99Ms": 58.88, "rounds": []},
        "forwarder": {"rate": 2578.0, "p99Ms": 49.66, "rounds": []},
        "overhead": {"coldStartSeconds": 0.95,
                     "defaultWorld": {"seedSeconds": 0.1, "cleanupSeconds": 0.02, "drones": 3},
                     "bigWorld": {"seedSeconds": 0.25, "cleanupSeconds": 0.1, "drones": 1000},
                     "scenarioPack": {"path": "scenarios", "wallSeconds": 25.0,
                                      "exitStatus": 0}},
        "load": {"drones": 6, "workers": 1, "events_per_prompt": 20, "text_size": 64,
                 "duration": 2.0},
        "machine": {"cpu": "Some CPU", "cores": 2, "memoryGiB": 8.0, "os": "Linux",
                    "python": "3.11.7", "loadAverage": [1.0, 1.0, 1.0]},
    }


def test_markdown_table_has_every_figure_and_the_machine() -> None:
    table = markdown_table(_results())
    lines = table.splitlines()
    assert lines[0] == "| measure | value | against | note |"
    assert "| relay throughput (events/s) | 1580 | 2578 (forwarder) | ratio **0.613** |" in lines
    assert "| relay delivery p99 (ms) | 58.88 | 49.66 (forwarder) | ratio 1.186 |" in lines
    assert "| seed / cleanup, 1,000-drone world (s) | 0.25 | 0.10 |  |" in lines
    assert "| scenario pack wall time (s) | 25.0 | exit 0 |  |" in lines
    assert "Machine: Some CPU, 2 cores, 8.0 GiB" in table


def test_markdown_table_without_scenario_pack() -> None:
    results = _results()
    del results["overhead"]["scenarioPack"]
    assert "scenario pack" not in markdown_table(results)


def test_describe_machine() -> None:
    machine = describe_machine()
    assert isinstance(machine["cores"], int) and machine["cores"] >= 1
    assert machine["python"] and machine["cpu"]


def test_recorder_table_has_both_sides_and_the_difference() -> None:
    results = {"roundTrips": 2000, "rounds": 4,
               "direct": {"n": 2000, "p50Ms": 0.8, "p99Ms": 2.1},
               "recorder": {"n": 2000, "p50Ms": 1.3, "p99Ms": 5.0},
               "addedP50Ms": 0.5, "addedP99Ms": 2.9,
               "machine": _results()["machine"]}
    lines = recorder_markdown(results).splitlines()
    assert "| median | 0.800 | 1.300 | 0.500 |" in lines
    assert "| p99 | 2.100 | 5.000 | 2.900 |" in lines
    assert lines[-1].startswith("Machine: Some CPU, 2 cores")


def test_the_pack_table_gives_each_settings_median_and_speedup() -> None:
    from harness.bench.pack import pack_markdown

    table = pack_markdown({
        "path": "scenarios", "repeats": 3,
        "jobs": [{"jobs": 1, "wallSeconds": [30.0, 31.5, 29.0], "medianSeconds": 30.0,
                  "speedup": 1.0, "failedRuns": 0},
                 {"jobs": 4, "wallSeconds": [12.0, 11.0, 13.5], "medianSeconds": 12.0,
                  "speedup": 2.5, "failedRuns": 1},
                 {"jobs": 4, "cores": 1, "wallSeconds": [20.0, 20.0, 20.0],
                  "medianSeconds": 20.0, "speedup": 1.5, "failedRuns": 0}],
        "machine": {"cpu": "Some CPU", "cores": 2}})
    assert "| 1 | all (2) | 30.0 s | 30.0, 31.5, 29.0 | 1.00 x | 0 |" in table
    assert "| 4 | all (2) | 12.0 s | 12.0, 11.0, 13.5 | 2.50 x | 1 |" in table
    assert "| 4 | 1 | 20.0 s | 20.0, 20.0, 20.0 | 1.50 x | 0 |" in table
    assert "Machine: Some CPU, 2 cores." in table


def test_each_bench_run_is_kept_with_its_commit(tmp_path: Any) -> None:
    import json

    from harness.bench.history import save_history

    assert save_history({"x": 1}, "pack", tmp_path / "missing" / "history") is None
    path = save_history({"x": 1}, "pack", tmp_path / "history")
    assert path is not None and path.name.endswith(".json") and "-pack-" in path.name
    record = json.loads(path.read_text())
    assert record["results"] == {"x": 1} and record["kind"] == "pack"
    assert len(record["commit"]) == 40  # the tests run in a checkout: its HEAD


def test_the_pack_is_timed_at_each_job_count_and_on_fewer_cores() -> None:
    from harness.bench.pack import PackSetting, default_settings

    assert default_settings(cores=2) == [PackSetting(1), PackSetting(2), PackSetting(4),
                                         PackSetting(8), PackSetting(8, 1)]
    assert default_settings(cores=1) == [PackSetting(j) for j in (1, 2, 4, 8)]


def test_the_clients_table_gives_both_sides_their_rounds_and_the_ratio() -> None:
    from harness.bench.clients import clients_markdown

    def side(per_1000: float, runs: list[float]) -> dict[str, Any]:
        return {"cpuMsPer1000": per_1000, "rate": 500.0,
                "rounds": [{"cpuMsPer1000": r} for r in runs]}

    table = clients_markdown({
        "ratio": 1.2, "harness": side(420.0, [410.0, 420.0, 430.5]),
        "bare": side(350.0, [340.0, 350.0, 360.0]), "pairs": 20, "events": 10000,
        "rounds": 3, "eventsPerPrompt": 20, "textSize": 64, "rate": 0.0,
        "machine": _results()["machine"]})
    lines = table.splitlines()
    assert "| harness (load worker) | 420.0 | 410.0, 420.0, 430.5 | 500 |" in lines
    assert "| bare python-socketio | 350.0 | 340.0, 350.0, 360.0 | 500 |" in lines
    assert "| ratio harness / bare | **1.20** | | |" in lines
    assert lines[-1].startswith("Machine: Some CPU, 2 cores")
