"""LocalEnvironment: starts, restarts, reports failures, and leaves no process behind."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import aiohttp
import pytest

from harness.env import LocalEnvironment
from harness.errors import EnvError
from harness.settings import RelaySettings


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); read its state.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


async def _wait_dead(pids: list[int], timeout: float = 10.0) -> list[int]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        alive = [pid for pid in pids if _alive(pid)]
        if not alive:
            return []
        await asyncio.sleep(0.05)
    return [pid for pid in pids if _alive(pid)]


async def _health(url: str) -> tuple[int, object]:
    async with aiohttp.ClientSession() as session, session.get(url + "/healthz") as response:
        return response.status, await response.json()


async def test_start_serves_health_and_stop_ends_every_process() -> None:
    env = LocalEnvironment()
    async with env:
        assert await _health(env.relay_url) == (200, {"ok": True})
        assert env.admin_token
        assert env.mongo_uri.startswith("mongodb://127.0.0.1:")
        assert set(env.logs()) == {"relay", "mongo"}
        pids = [p.pid for p in (env._relay, env._database.process) if p and p.pid]
        assert len(pids) == 2
    assert await _wait_dead(pids) == []


async def test_restart_relay_keeps_the_url() -> None:
    async with LocalEnvironment() as env:
        url = env.relay_url
        await env.restart_relay()
        assert env.relay_url == url
        assert (await _health(url))[0] == 200


async def test_relay_start_failure_names_the_part_and_shows_its_log() -> None:
    env = LocalEnvironment(RelaySettings(log_level="BOGUS"))
    with pytest.raises(EnvError) as caught:
        await env.start()
    message = str(caught.value)
    assert message.startswith("relay exited with status")
    assert "--- last lines of" in message
    assert "BOGUS" in message
    assert env._database.process is not None
    assert not env._database.process.running


async def test_children_die_when_the_parent_is_killed(tmp_path: Path) -> None:
    script = textwrap.dedent("""
        import asyncio, json, sys
        from harness.env import LocalEnvironment

        async def main():
            env = LocalEnvironment()
            await env.start()
            pids = [env._relay.pid, env._database.process.pid]
            print(json.dumps(pids), flush=True)
            await asyncio.sleep(3600)

        asyncio.run(main())
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,  # noqa: ASYNC220
                              stderr=subprocess.DEVNULL, text=True)
    try:
        assert parent.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(parent.stdout.readline), 60)
        pids = json.loads(line)
        assert all(_alive(pid) for pid in pids)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()
    assert await _wait_dead(pids) == []


def test_up_detach_and_down(tmp_path: Path) -> None:
    state_file = tmp_path / "env.json"
    harness = [sys.executable, "-m", "harness.cli"]
    up = subprocess.run([*harness, "up", "--detach", "--state-file", str(state_file)],
                        capture_output=True, text=True, timeout=90)
    assert up.returncode == 0, up.stderr
    assert up.stdout.startswith("up: relay http://127.0.0.1:")
    state = json.loads(state_file.read_text())
    assert oct(state_file.stat().st_mode & 0o777) == "0o600"
    down = subprocess.run([*harness, "down", "--state-file", str(state_file)],
                          capture_output=True, text=True, timeout=60)
    assert down.returncode == 0, down.stderr
    assert f"stopped pid {state['pid']}" in down.stdout
    assert not state_file.exists()
    assert not _alive(state["pid"])
