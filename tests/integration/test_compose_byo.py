"""A team's own relay in containers: ``--env compose --relay-profile FILE``.

The relay is the Node.js relay of ``tests/relays/node`` built into an image with no Python
and no harness code (``tests/relays/node/image.py``), configured by its own variable names
through ``tests/relays/node/relay-profile.yaml``. The whole pack runs against it in CI
(``.ci/run``); here a part of it, plus each start-up failure a user can meet, each of which
must be one clear line. Every stack is checked to be gone afterwards.

Skips without a Docker engine unless ``GADGET_REQUIRE_DOCKER=1`` (CI), where it fails.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import skip_or_fail

from harness.env.compose import ComposeEnvironment
from harness.env.profile import load_profile
from harness.errors import EnvError
from harness.images.base import BaseRecipe
from harness.images.dockercli import docker, engine_problem, image_id
from harness.images.stacks import PROJECT_LABEL, project_resources

ROOT = Path(__file__).resolve().parents[2]
NODE = ROOT / "tests" / "relays" / "node"
PROFILE = NODE / "relay-profile.yaml"
HARNESS = Path(sys.executable).with_name("harness")

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def node_image() -> Iterator[str]:
    """The Node relay's image (built when missing), exported as the profile reads it."""
    problem = engine_problem()
    skip_or_fail(f"no Docker engine: {problem}" if problem else None, "GADGET_REQUIRE_DOCKER")
    built = subprocess.run([sys.executable, str(NODE / "image.py")], capture_output=True,
                           text=True, check=False, timeout=900)
    assert built.returncode == 0, built.stderr
    tag = built.stdout.strip()
    previous = os.environ.get("NODE_RELAY_IMAGE")
    os.environ["NODE_RELAY_IMAGE"] = tag
    yield tag
    if previous is None:
        os.environ.pop("NODE_RELAY_IMAGE", None)
    else:
        os.environ["NODE_RELAY_IMAGE"] = previous


def nothing_left(project: str) -> dict[str, list[str]]:
    return {kind: ids for kind, ids in project_resources(project).items() if ids}


def profile_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "relay.yaml"
    path.write_text(text)
    return path


def test_the_image_has_no_python_and_no_harness(node_image: str) -> None:
    result = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "sh", node_image, "-c",
         "command -v python3 python || echo none; ls /app"],
        capture_output=True, text=True, check=True, timeout=120)
    lines = result.stdout.split()
    assert lines[0] == "none" and "relay.js" in lines and "harness" not in lines


def test_part_of_the_pack_passes_on_the_node_relay_with_its_own_timeouts(
        node_image: str, tmp_path: Path) -> None:
    # drone-timeout waits out the relay's 16 s drone ack timeout, stated in the profile:
    # above the 15 s the scenario used to wait, so it passes only by reading the profile.
    result = subprocess.run(
        [str(HARNESS), "run", "scenarios", "-k", "smoke or drone-timeout or no-answer",
         "--env", "compose", "--relay-profile", str(PROFILE),
         "--report", str(tmp_path / "report")],
        capture_output=True, text=True, check=False, timeout=600, cwd=ROOT)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "3 passed, 0 failed" in output
    assert f"relay {node_image} (profile {PROFILE})" in output


async def test_stated_timeouts_beat_the_profile_and_the_stack_is_removed(
        node_image: str) -> None:
    profile = load_profile(PROFILE)
    env = ComposeEnvironment(profile=profile)
    assert env.relay_timeouts.drone_ack_timeout == 16.0
    assert not env.reference_relay and env.supports_restart
    async with env:
        assert env.admin_token is not None and env.database == "gadget"
        logs = env.logs()
    assert "listening on 8080" in logs["relay"]
    assert nothing_left(env.project) == {}


async def test_a_missing_image_is_one_line_naming_it_and_the_fix(tmp_path: Path,
                                                                 node_image: str) -> None:
    path = profile_file(tmp_path, "image: gadget-harness/no-such-relay:1\n"
                                  "env: {mongo_uri: DB_URL}\n")
    env = ComposeEnvironment(profile=load_profile(path))
    with pytest.raises(EnvError) as caught:
        await env.start()
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("relay image gadget-harness/no-such-relay:1 (--relay-profile ")
    assert "build it first (docker build -t gadget-harness/no-such-relay:1 .)" in message
    assert nothing_left(env.project) == {}


async def test_a_relay_that_exits_is_reported_at_once_with_its_log(tmp_path: Path,
                                                                   node_image: str) -> None:
    base = BaseRecipe(packages=("nodejs",), role="node-base").tag
    assert image_id(base) is not None  # built by node_image
    path = profile_file(tmp_path, f"image: {base}\nenv: {{mongo_uri: DB_URL}}\n"
                                  "environment: {GREETING: bye}\nready_timeout: 300\n")
    # The base image's command is a shell that exits at once (no terminal).
    env = ComposeEnvironment(profile=load_profile(path))
    with pytest.raises(EnvError) as caught:
        await env.start()
    message = str(caught.value)
    first = message.splitlines()[0]
    assert first.startswith("the relay container (relay) is exited (status 0) before /healthz "
                            "answered; last lines of its log:"), message
    assert nothing_left(env.project) == {}


async def test_a_relay_that_never_gets_ready_names_the_path_and_shows_its_log(
        tmp_path: Path, node_image: str) -> None:
    # 8 s: long enough for the container's relay to listen on a loaded machine (at 3 s it
    # once still refused, and the last answer was a dropped connection, not the 404).
    path = profile_file(tmp_path, f"image: {node_image}\n"
                                  "env: {mongo_uri: DB_URL, database: DB_NAME}\n"
                                  "ready: /not-here\nready_timeout: 8\n")
    env = ComposeEnvironment(profile=load_profile(path))
    with pytest.raises(EnvError) as caught:
        await env.start()
    lines = str(caught.value).splitlines()
    assert lines[0].startswith("relay not ready: http://127.0.0.1:")
    assert "/not-here did not answer within" in lines[0] and "HTTP 404" in lines[0]
    assert "the relay container (relay) is running; last lines of its log:" in lines[0]
    assert any("listening on 8080" in line for line in lines[1:])
    assert nothing_left(env.project) == {}


async def test_a_port_taken_every_time_is_one_line(monkeypatch: pytest.MonkeyPatch,
                                                   node_image: str) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        taken = held.getsockname()[1]
        monkeypatch.setattr("harness.env.compose.free_port", lambda: taken)
        env = ComposeEnvironment(profile=load_profile(PROFILE))
        with pytest.raises(EnvError) as caught:
            await env.start()
    message = str(caught.value)
    assert "\n" not in message
    assert "a loopback port it publishes was taken by another process 3 times" in message
    assert f"relay {taken}" in message
    assert nothing_left(env.project) == {}


THEIR_COMPOSE = """\
# A team's own compose file: their service names, their variables, a fixed host port
# (which the harness replaces with a free loopback one).
services:
  db:
    image: {database}
  web:
    image: {relay}
    depends_on: [db]
    ports: ["3000:8080"]
    environment:
      DB_URL: mongodb://db:27017/?directConnection=true
      DB_NAME: teamdb
"""


async def test_their_compose_file_with_their_names_runs_a_scenario(
        node_image: str, tmp_path: Path) -> None:
    from harness.images.build import BuildOptions, ensure_images
    from harness.outcome import render_story
    from harness.scenario import load_paths, run_scenario

    database = ensure_images(BuildOptions(database="standin")).database
    (tmp_path / "compose.yml").write_text(THEIR_COMPOSE.format(database=database,
                                                               relay=node_image))
    (tmp_path / "more.yml").write_text("services:\n  web:\n    environment: {LOG_NOTE: hi}\n")
    path = profile_file(tmp_path, "compose: compose.yml\noverride: more.yml\n"
                                  "services: {relay: web, database: db}\n"
                                  "env: {admin_token: DEBUG_TOKEN}\ndatabase: teamdb\n")
    env = ComposeEnvironment(profile=load_profile(path))
    async with env:
        assert env.database == "teamdb" and env.admin_token is not None
        assert ":3000" not in env.relay_url
        assert f"service db of {tmp_path / 'compose.yml'}" in env.describe()
        listed = await asyncio.to_thread(
            docker, "ps", "--quiet", "--filter", f"label={PROJECT_LABEL}={env.project}",
            "--filter", "label=com.docker.compose.service=web")
        inspected = await asyncio.to_thread(
            docker, "inspect", "--format", "{{json .Config.Env}}", listed.stdout.split()[0])
        variables = inspected.stdout
        assert '"LOG_NOTE=hi"' in variables and '"DB_NAME=teamdb"' in variables
        [scenario] = [s for s in load_paths([ROOT / "scenarios"]) if "smoke" in s.tags][:1]
        result = await run_scenario(scenario, env)
        assert result.passed, render_story(result)
    assert nothing_left(env.project) == {}
