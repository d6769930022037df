"""``--env compose`` says in one line why it cannot start, and how to fix it, before it
touches anything: no engine, or no compose plugin (a stand-in ``docker`` command answers)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from harness.env.compose import ComposeEnvironment
from harness.errors import EnvError

NO_PLUGIN = """#!/bin/sh
case "$1" in
  info) echo 20.10.24 ;;
  compose) echo "docker: 'compose' is not a docker command." >&2; exit 1 ;;
  *) echo "unexpected: $*" >&2; exit 3 ;;
esac
"""
NO_ENGINE = """#!/bin/sh
echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker \
daemon running?" >&2
exit 1
"""


def fake_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    binary = tmp_path / "docker"
    binary.write_text(script)
    binary.chmod(binary.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(tmp_path))


@pytest.mark.parametrize(("script", "problem"), [
    (NO_PLUGIN, "the `docker compose` plugin is missing (`docker compose version`: docker: "
                "'compose' is not a docker command.)"),
    (NO_ENGINE, "the Docker engine does not answer: Cannot connect to the Docker daemon at "
                "unix:///var/run/docker.sock. Is the docker daemon running?"),
])
async def test_a_missing_plugin_or_engine_is_one_line_naming_the_cause_and_the_fix(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str, problem: str) -> None:
    fake_docker(tmp_path, monkeypatch, script)
    with pytest.raises(EnvError) as caught:
        await ComposeEnvironment().start()
    assert str(caught.value) == (
        f"--env compose cannot start: {problem}; `bash scripts/ci-docker.sh` (or `make "
        "run-compose`) starts Debian's engine and installs the compose plugin")
