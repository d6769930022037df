"""Retention of reports in the default location."""

from __future__ import annotations

from pathlib import Path

from harness.report import prune_default_reports


def test_prune_keeps_the_newest_and_only_folders(tmp_path: Path) -> None:
    for name in ("20261126-080000", "20261126-090000", "20261126-090000-2", "20261126-100000"):
        (tmp_path / name).mkdir()
    (tmp_path / "notes.txt").write_text("kept")
    removed = prune_default_reports(tmp_path, keep=2)
    assert [p.name for p in removed] == ["20261126-080000", "20261126-090000"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "20261126-090000-2", "20261126-100000", "notes.txt"]


def test_prune_of_a_missing_root_removes_nothing(tmp_path: Path) -> None:
    assert prune_default_reports(tmp_path / "absent") == []
