"""``harness validate``: good and bad files, exit status, the published schema."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from harness.commands.scenario import validate_command

GOOD = "name: ok\nactors: {ide: {ide: {}}}\nsteps:\n  - connect: ide\n"


def test_validate_accepts_good_files_and_counts_scenarios(tmp_path: Path) -> None:
    (tmp_path / "a.scenario.yaml").write_text(GOOD + "---\n" + GOOD.replace("ok", "two"))
    result = CliRunner().invoke(validate_command, [str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.output == "ok: 2 scenario(s) in 1 file(s)\n"


def test_validate_reports_each_bad_file_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "a.scenario.yaml").write_text(GOOD)
    bad = tmp_path / "b.scenario.yaml"
    bad.write_text(GOOD.replace("connect: ide", "connect: ghost"))
    result = CliRunner().invoke(validate_command, [str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{bad}:4: step 1 (connect): no actor named 'ghost'; allowed: ide",
        "1 of 2 file(s) invalid",
    ]


def test_print_schema_prints_the_published_schema() -> None:
    result = CliRunner().invoke(validate_command, ["--print-schema"])
    assert result.exit_code == 0
    assert json.loads(result.output)["$id"] == "urn:gadget-harness:scenario:v1"


def test_validate_with_no_scenario_files_exits_5_like_run(tmp_path: Path) -> None:
    # Issue 13, finding 7: it said "ok: 0 scenario(s)" and exited 0 while run exited 5.
    result = CliRunner().invoke(validate_command, [str(tmp_path)])
    assert result.exit_code == 5
    assert result.output.strip() == f"no scenario files (*.scenario.yaml) under {tmp_path}"
