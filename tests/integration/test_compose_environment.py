"""The container tier: a real compose stack (relay + database images) on a real engine.

Skips when no Docker engine is reachable, unless ``GADGET_REQUIRE_DOCKER=1`` (CI), where a
missing engine fails. Every test ends by checking that nothing of its stack is left.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from conftest import skip_or_fail
from pymongo import AsyncMongoClient

from harness.env import Environment, open_environment
from harness.env.compose import ComposeEnvironment
from harness.images.dockercli import docker, engine_problem
from harness.images.stacks import PROJECT_LABEL, project_resources, sweep_stale_projects
from harness.protocol import Route
from harness.settings import RelaySettings

# Cold image builds take minutes; a cached start takes seconds.
pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]


@pytest.fixture(scope="module", autouse=True)
def docker_engine() -> None:
    """Skip (or, with GADGET_REQUIRE_DOCKER=1, fail) without a usable engine."""
    problem = engine_problem()
    skip_or_fail(f"no Docker engine: {problem}" if problem else None, "GADGET_REQUIRE_DOCKER")


def nothing_left(project: str) -> dict[str, list[str]]:
    """What `docker ps -a`, `docker network ls`, `docker volume ls` still show of ``project``."""
    return {kind: ids for kind, ids in project_resources(project).items() if ids}


@pytest.fixture
async def stack() -> AsyncIterator[ComposeEnvironment]:
    env = open_environment("compose", settings=RelaySettings(drone_ack_timeout=2.0))
    assert isinstance(env, ComposeEnvironment)
    async with env:
        yield env
    assert nothing_left(env.project) == {}


async def _healthz(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.get(url + Route.HEALTHZ) as response:
        return response.status, await response.json()


async def test_stack_is_healthy_on_loopback_and_names_its_database(
        stack: ComposeEnvironment) -> None:
    assert isinstance(stack, Environment)
    assert await _healthz(stack.relay_url) == (200, {"ok": True})
    client: AsyncMongoClient[Any] = AsyncMongoClient(stack.mongo_uri)
    try:
        assert (await client.admin.command("ping"))["ok"] == 1
    finally:
        await client.close()
    kind = stack.database_kind
    assert ("stand-in" in stack.describe()) == (kind == "standin")
    assert stack.project in stack.describe()
    # Published on 127.0.0.1 only, and the relay runs as a non-root user.
    ports = docker("ps", "--filter", f"label={PROJECT_LABEL}={stack.project}",
                   "--format", "{{.Ports}}").stdout
    bindings = [part.strip() for line in ports.splitlines() for part in line.split(",")
                if "->" in part]
    assert len(bindings) == 2 and all(b.startswith("127.0.0.1:") for b in bindings), bindings
    relay_id = project_resources(stack.project)["container"]
    users = {docker("inspect", "--format", "{{.Config.User}}", cid).stdout.strip()
             for cid in relay_id}
    assert "10001:10001" in users


async def test_relay_restart_keeps_url_and_data(stack: ComposeEnvironment) -> None:
    client: AsyncMongoClient[Any] = AsyncMongoClient(stack.mongo_uri)
    try:
        await client[stack.database]["restartProbe"].insert_one({"n": 1})
        url = stack.relay_url
        await stack.restart_relay()
        assert stack.relay_url == url
        assert await _healthz(url) == (200, {"ok": True})
        assert await client[stack.database]["restartProbe"].count_documents({"n": 1}) == 1
    finally:
        await client.close()
    logs = stack.logs()
    assert set(logs) == {"relay", "mongo"}
    # Two starts of the relay in its container's log: before and after the restart.
    assert logs["relay"].count("relay listening") == 2, logs["relay"]


async def test_failure_inside_the_context_still_tears_down() -> None:
    env = ComposeEnvironment()
    with pytest.raises(RuntimeError, match="scenario blew up"):
        async with env:
            assert nothing_left(env.project) != {}
            raise RuntimeError("scenario blew up")
    assert nothing_left(env.project) == {}
    assert "relay listening" in env.logs()["relay"]  # logs outlive the containers


_CHILD = textwrap.dedent("""
    import asyncio, os, signal, sys
    from harness.env.compose import ComposeEnvironment

    # A shell that starts jobs in the background (as CI runners may) leaves SIGINT ignored,
    # and Python then installs no KeyboardInterrupt handler: restore what a terminal gives.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    async def main():
        env = ComposeEnvironment()
        await env.start()
        print(env.project, flush=True)
        if sys.argv[1] == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        await asyncio.Event().wait()

    async def in_context():
        async with ComposeEnvironment() as env:
            print(env.project, flush=True)
            await asyncio.Event().wait()

    asyncio.run(main() if sys.argv[1] == "kill" else in_context())
""")


async def _child(mode: str) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _CHILD, mode, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    line = await process.stdout.readline()
    if not line:
        _, err = await process.communicate()
        pytest.fail(f"child could not start a stack:\n{err.decode()[-2000:]}")
    return process, line.decode().strip()


async def test_ctrl_c_tears_the_stack_down() -> None:
    process, project = await _child("interrupt")
    assert nothing_left(project) != {}
    process.send_signal(signal.SIGINT)
    await asyncio.wait_for(process.communicate(), 60)
    assert nothing_left(project) == {}


async def test_stack_of_a_killed_run_is_swept_by_the_next_start() -> None:
    process, project = await _child("kill")
    await process.communicate()
    assert process.returncode == -signal.SIGKILL
    assert set(nothing_left(project)) >= {"container", "network"}  # the crash left it
    async with ComposeEnvironment() as env:
        assert nothing_left(project) == {}
        assert nothing_left(env.project) != {}
    assert nothing_left(env.project) == {}
    assert sweep_stale_projects() == []
