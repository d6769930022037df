"""The port file is written atomically and holds just the port number."""

from __future__ import annotations

from pathlib import Path

from harness.host import write_port_file


def test_write_port_file_replaces_atomically(tmp_path: Path) -> None:
    target = tmp_path / "mongo.port"
    target.write_text("stale")
    write_port_file(target, 40123)
    assert target.read_text() == "40123\n"
    assert [p.name for p in tmp_path.iterdir()] == ["mongo.port"]  # no temp file left behind
