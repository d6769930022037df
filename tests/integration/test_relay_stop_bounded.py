"""A signalled relay process always ends, whatever its tasks do.

An orphaned reference relay once ran for an hour and a half after the harness that started it
had gone: its database died while it stopped, and tasks cancelled inside pymongo's server
selection never ended, so ``asyncio.Runner`` waited for them forever. Reproduced by hand
(``harness relay`` + ``harness load`` with 300 drones, SIGTERM, the database killed 2 s
later: it hung in one run of five).

Here a real ``harness.relay.serving.run`` runs in a child process with the relay replaced by
a stand-in whose tasks misbehave on purpose: one that ignores cancellation, and a stop that
never returns. The test signals the process as ``harness`` does and times its exit.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.timeout(90)]

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent("""\
    import asyncio, logging, sys
    from pathlib import Path
    from harness.relay import serving
    from harness.settings import RelaySettings

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    serving.STOP_LIMIT = 2.0
    MODE = sys.argv[1]

    async def stubborn():
        while True:  # like a waiter that re-acquires a lock nobody releases
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                pass

    class FakeRelay:
        def __init__(self, settings):
            self.tasks = []

        async def start(self):
            if MODE == "stubborn-task":
                self.tasks.append(asyncio.ensure_future(stubborn()))
            return 1

        async def stop(self):
            if MODE == "stop-hangs":
                await asyncio.Event().wait()

    serving.Relay = FakeRelay
    port_file = Path(sys.argv[2])
    serving.run(RelaySettings(), port_file)
    print("run returned", flush=True)
""")


def start(mode: str, tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    port_file = tmp_path / "port"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, mode, str(port_file)], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 30
    while not port_file.exists():
        assert child.poll() is None, child.communicate()[0]
        assert time.monotonic() < deadline, "the child never wrote its port file"
        time.sleep(0.05)
    return child, port_file


def ended_within(child: subprocess.Popen[str], seconds: float) -> tuple[float, str]:
    began = time.monotonic()
    try:
        output, _ = child.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        child.kill()
        output, _ = child.communicate()
        pytest.fail(f"the relay process was still running {seconds:g} s after SIGTERM:\n"
                    f"{output}")
    return time.monotonic() - began, output


def test_a_task_that_ignores_cancellation_does_not_keep_the_process(tmp_path: Path) -> None:
    child, _ = start("stubborn-task", tmp_path)
    child.send_signal(signal.SIGTERM)
    took, output = ended_within(child, 20)
    assert child.returncode == 0, output
    assert took < 10, output
    assert "1 task(s) did not end 2 s after they were cancelled: 1 waiting at " \
           "<string>:13 (stubborn)" in output, output
    assert "exiting with 1 task(s) still running" in output, output
    assert "run returned" not in output  # it left at once, not through Runner.close


def test_a_stop_that_never_returns_is_cut_short(tmp_path: Path) -> None:
    child, _ = start("stop-hangs", tmp_path)
    child.send_signal(signal.SIGTERM)
    took, output = ended_within(child, 20)
    assert child.returncode == 0, output
    assert "the relay's stop did not finish within 2 s; exiting anyway" in output, output
    assert took < 10, output
    assert "run returned" in output


def test_a_second_signal_ends_a_stop_at_once(tmp_path: Path) -> None:
    child, _ = start("stop-hangs", tmp_path)
    child.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    child.send_signal(signal.SIGTERM)
    took, output = ended_within(child, 20)
    assert child.returncode == 0, output
    assert "signalled again while stopping; exiting now" in output, output
    assert took < 1.5, output
