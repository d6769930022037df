"""Issue 13, finding 7: ``harness down`` no longer signals whatever pid a stale state file names.

Before the fix it sent SIGTERM to the pid in ``.harness/env.json`` unchecked: a stale file
killed an unrelated process. Now it checks that the pid is still the process `harness up`
recorded (its start time and boot on Linux, else its command line) and refuses, in one
line, when it is not or cannot tell.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _harness_cli import REPO, run_harness

LINUX_PROC = Path("/proc/self/stat").exists()


def _proc_identity(pid: int) -> dict[str, Any]:
    """Start time (field 22 of /proc/<pid>/stat) and boot id, as `harness up` records them."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return {"start_ticks": int(stat.rpartition(")")[2].split()[19]),
            "boot_id": Path("/proc/sys/kernel/random/boot_id").read_text().strip()}


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A harmless process that a stale state file might name."""
    process = subprocess.Popen(["sleep", "60"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def _state(path: Path, pid: object, **extra: Any) -> Path:
    path.write_text(json.dumps({
        "pid": pid, "relay_url": "http://127.0.0.1:1", "mongo_uri": "mongodb://127.0.0.1:9/",
        "database": "gadget", "database_kind": "stand-in", "admin_token": "t",
        "log_dir": "/nowhere", "started_at": 0, **extra}))
    return path


def _refusal(result: subprocess.CompletedProcess[str], state_file: Path) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: --state-file {state_file}"), lines[0]
    assert f"rm {state_file}" in lines[0]  # how to clean up
    assert state_file.exists()  # the user decides
    return lines[0]


def test_down_does_not_signal_an_unrelated_process(
        sleeper: subprocess.Popen[bytes], tmp_path: Path) -> None:
    state_file = _state(tmp_path / "env.json", sleeper.pid)
    result = run_harness("down", "--state-file", str(state_file), "--timeout", "2", timeout=60)
    line = _refusal(result, state_file)
    assert f"pid {sleeper.pid}" in line and "not signalled" in line
    assert sleeper.poll() is None, "harness down killed an unrelated process"


@pytest.mark.skipif(not LINUX_PROC, reason="start times come from /proc")
def test_down_does_not_signal_a_reused_pid(
        sleeper: subprocess.Popen[bytes], tmp_path: Path) -> None:
    # The file records the process it was written for; the pid now belongs to another one.
    recorded = _proc_identity(sleeper.pid)
    recorded["start_ticks"] -= 1
    state_file = _state(tmp_path / "env.json", sleeper.pid, process=recorded)
    result = run_harness("down", "--state-file", str(state_file), "--timeout", "2", timeout=60)
    assert "another process now" in _refusal(result, state_file)
    assert sleeper.poll() is None


@pytest.mark.parametrize("pid", [0, "abc", None, 2**40])
def test_down_refuses_a_pid_that_is_no_process(pid: object, tmp_path: Path) -> None:
    # pid 0 would signal the caller's whole process group: a session of its own keeps a
    # failure of this test from reaching pytest.
    state_file = _state(tmp_path / "env.json", pid)
    result = subprocess.run([sys.executable, "-m", "harness.cli", "down", "--state-file",
                             str(state_file), "--timeout", "2"], cwd=REPO, capture_output=True,
                            text=True, timeout=60, start_new_session=True, check=False)
    assert "not a state file of `harness up`" in _refusal(result, state_file)


def test_down_removes_the_file_of_a_process_that_is_gone(tmp_path: Path) -> None:
    done = subprocess.Popen(["true"])
    done.wait()
    state_file = _state(tmp_path / "env.json", done.pid)
    result = run_harness("down", "--state-file", str(state_file), timeout=60)
    assert result.returncode == 0, result.stderr
    assert "nothing running" in result.stdout and not state_file.exists()


@pytest.mark.skipif(not LINUX_PROC, reason="start times come from /proc")
def test_identity_tells_this_process_from_another(sleeper: subprocess.Popen[bytes]) -> None:
    from harness.commands.env import _identity, _not_ours

    ours = {"pid": os.getpid(), "process": _identity(os.getpid())}
    assert ours["process"] == _proc_identity(os.getpid())  # what `harness up` records
    assert _not_ours(os.getpid(), ours) is None
    verdict = _not_ours(sleeper.pid, ours)
    assert verdict is not None and verdict[0] is True
