"""``harness run`` as a user runs it: a real process, the embedded environment, exit codes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from _harness_cli import run_harness as harness
from pymongo import AsyncMongoClient

from harness.env import LocalEnvironment
from harness.protocol import ALL_COLLECTIONS

FAILING = """\
name: expects a refusal
actors: {ide: {ide: {user: 0}}}
steps:
  - connect: ide
  - emit:
      actor: ide
      event: openChatSession
      payload: {chatSessionId: "${chat_sessions[0].id}"}
      ack: {ok: false}
"""


def test_run_selects_with_k_and_exits_0_when_all_pass() -> None:
    done = harness("run", "scenarios", "-k", "delivery and full-work-order")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "environment: local: reference relay at http://127.0.0.1:" in done.stdout
    assert "PASSED  scenarios/delivery/full-work-order.scenario.yaml::full work order" \
        in done.stdout
    assert "1 passed, 0 failed" in done.stdout


def test_run_exits_1_and_tells_the_story_of_a_failure(tmp_path: Path) -> None:
    path = tmp_path / "fails.scenario.yaml"
    path.write_text(FAILING)
    done = harness("run", str(path))
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"FAILED {path}::expects a refusal" in done.stdout
    assert "the ack of openChatSession from ide ide (user" in done.stdout
    assert "): expected a refusal, got ok {\"ok\": true}" in done.stdout
    assert "0 passed, 1 failed" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_run_refuses_invalid_files_before_starting_anything(tmp_path: Path) -> None:
    path = tmp_path / "bad.scenario.yaml"
    path.write_text(FAILING.replace("emit:", "emitt:"))
    done = harness("run", str(path))
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {path}:5: step 2: unknown step kind 'emitt'")
    assert "environment:" not in done.stdout


def test_run_with_nothing_selected_exits_5() -> None:
    done = harness("run", "scenarios", "-k", "no-such-scenario")
    assert done.returncode == 5
    assert done.stdout == "no scenario selected\n"


async def test_run_against_an_external_relay_seeds_and_cleans_up_after_itself(
        relay_env: LocalEnvironment, relay_mongo: AsyncMongoClient[Any],
        tmp_path: Path) -> None:
    db = relay_mongo[relay_env.database]
    before = {name: await db[name].count_documents({}) for name in ALL_COLLECTIONS}
    done = await asyncio.to_thread(
        harness, "run", "scenarios/delivery/full-work-order.scenario.yaml",
        "--env", "external", "--relay-url", relay_env.relay_url,
        "--mongo-uri", relay_env.mongo_uri, "--database", relay_env.database,
        "--admin-token", relay_env.admin_token or "", "--report", str(tmp_path / "report"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"environment: external: relay at {relay_env.relay_url}" in done.stdout
    after = {name: await db[name].count_documents({}) for name in ALL_COLLECTIONS}
    assert after == before  # the run's world, work orders included, is gone again


async def test_run_says_which_checks_it_could_not_make_and_stops_on_a_refused_token(
        relay_env: LocalEnvironment, tmp_path: Path) -> None:
    external = ["--env", "external", "--relay-url", relay_env.relay_url,
                "--mongo-uri", relay_env.mongo_uri, "--database", relay_env.database,
                "--report", str(tmp_path / "report")]
    pack = "scenarios/termination/no-socket.scenario.yaml"
    anonymous = await asyncio.to_thread(harness, "run", pack, *external)
    assert anonymous.returncode == 0, anonymous.stdout + anonymous.stderr
    assert "introspection: leak checks and check_sessions steps will be skipped: no admin " \
           "token was given (--admin-token)" in anonymous.stdout
    assert "not checked: leak checks skipped: no admin token was given (--admin-token), so " \
           "the relay's session maps cannot be read (in 1 scenario)" in anonymous.stdout
    wrong = await asyncio.to_thread(harness, "run", pack, *external, "--admin-token", "WRONG")
    assert wrong.returncode == 2, wrong.stdout + wrong.stderr
    assert "introspection: the introspection endpoint refused the admin token (403 " \
           "forbidden); check --admin-token; the leak checks cannot run" in wrong.stderr
    assert "PASSED" not in wrong.stdout and "Traceback" not in wrong.stdout + wrong.stderr
