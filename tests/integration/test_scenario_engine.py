"""The scenario engine end to end against the reference relay: results, stories, cleanup."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from conftest import MakeRelayEnv
from pymongo import AsyncMongoClient

from harness.env import ExternalEnvironment, LocalEnvironment
from harness.outcome import render_story
from harness.protocol import ALL_COLLECTIONS, SEED_RUN_FIELD
from harness.scenario import load_file, load_paths, run_scenario
from harness.scenario.model import Scenario
from harness.sim import MessageHistory
from seed import build_world, cleanup

REPO_SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"

LOCK_ONLY = """\
name: lock only
world: {{drones_per_user: 1}}
actors:
  ide: {{ide: {{user: 0}}}}
  d0: {{drone: 0}}
steps:
  - connect: [d0, ide]
  - emit:
      actor: ide
      event: openChatSession
      payload: {{chatSessionId: "${{chat_sessions[0].id}}"}}
      ack: {{ok: true}}
  - emit:
      actor: ide
      event: requestSessionLock
      payload: {{registrationId: "${{drones[0].id}}", chatSessionId: "${{chat_sessions[0].id}}"}}
      ack: {{$any: true}}
  - expect: {{actor: d0, event: requestSessionLock, timeout: 0.5}}
{extra}
"""


def inline(text: str) -> Scenario:
    (scenario,) = load_file(Path("inline.scenario.yaml"), text)
    return scenario


async def seeded_documents(mongo: AsyncMongoClient[Any], database: str) -> int:
    db = mongo[database]
    counts = [await db[name].count_documents({SEED_RUN_FIELD: {"$exists": True}})
              for name in ALL_COLLECTIONS]
    return sum(counts)


@pytest.mark.parametrize("scenario", load_paths([REPO_SCENARIOS]), ids=lambda s: s.name)
async def test_the_repository_scenarios_pass(relay_env: LocalEnvironment,
                                             scenario: Scenario) -> None:
    result = await run_scenario(scenario, relay_env)
    assert result.passed, render_story(result)
    # an alternative of an `either` that lost to another is cancelled, not failed
    assert all(step.status in ("passed", "skipped") or
               (step.status == "cancelled" and step.note == "another alternative passed")
               for step in result.flat_steps())
    assert result.violations == []


async def test_a_lock_that_never_reaches_the_drone_is_named(
        make_relay_env: MakeRelayEnv) -> None:
    env = await make_relay_env(regressions=frozenset({"lookup-by-socket-id"}))
    result = await run_scenario(inline(LOCK_ONLY.format(extra="")), env)
    assert result.status == "failed"
    assert result.failure is not None
    drone_id = result.actor_labels["d0"].split("(")[1].rstrip(")")
    user_id = result.actor_labels["ide"].split("user ")[1].rstrip(")")
    sid = next(m.socket_id for m in result.history if m.actor == "d0" and
               m.direction == "connect")
    assert result.failure.message == (
        f"requestSessionLock never reached drone d0 ({drone_id}): nothing arrived in 0.5 s; "
        f"the relay answered requestSessionLock of ide ide (user {user_id}) with "
        f"drone-offline ('requestSessionLock: drone {drone_id} has no live connection') "
        f"instead, but drone d0 ({drone_id}) is connected as {sid}")
    assert [(f.kind, f.event, f.actor, f.error) for f in result.failure.facts] == [
        ("never-reached", "requestSessionLock", "d0", None),
        ("relay-answered", None, "d0", "drone-offline"),
        ("connected-anyway", None, "d0", "drone-offline")]
    assert result.failure.step == "step 4 (expect)"
    assert result.failure.source is not None and result.failure.source.line == 18
    assert [s.status for s in result.steps] == ["passed", "passed", "passed", "failed"]
    story = render_story(result)
    assert "requestSessionLock never reached drone d0" in story
    assert "relay log" in story


async def test_a_negative_scenario_passes_only_with_its_violation(
        relay_env: LocalEnvironment, make_relay_env: MakeRelayEnv) -> None:
    text = LOCK_ONLY.format(extra="").replace(
        "name: lock only", "name: leaks\nexpect_violations: [leaks]")
    stale = await make_relay_env(regressions=frozenset({"stale-index-on-disconnect"}))
    regressed = await run_scenario(inline(text), stale)
    assert regressed.passed, render_story(regressed)
    assert {v.invariant for v in regressed.violations} == {"leaks"}
    assert any("dronesByRegistration map still holds" in str(v) for v in regressed.violations)
    healthy = await run_scenario(inline(text), relay_env)
    assert healthy.status == "failed"
    assert healthy.failure is not None
    assert healthy.failure.message == "expected leaks to be violated, but it held"


async def test_the_world_is_cleaned_up_after_a_failure(
        relay_env: LocalEnvironment, relay_mongo: AsyncMongoClient[Any]) -> None:
    before = await seeded_documents(relay_mongo, relay_env.database)
    text = LOCK_ONLY.format(extra="  - check_db: {registration: \"${drones[0].id}\", "
                                  "status: offline}")
    result = await run_scenario(inline(text), relay_env)
    assert result.status == "failed"
    assert result.failure is not None
    drone_id = result.actor_labels["d0"].split("(")[1].rstrip(")")
    assert result.failure.message == (
        f"registration {drone_id} has status 'busy', expected \"offline\"")
    assert await seeded_documents(relay_mongo, relay_env.database) == before


async def test_the_world_is_cleaned_up_when_interrupted(
        relay_env: LocalEnvironment, relay_mongo: AsyncMongoClient[Any]) -> None:
    before = await seeded_documents(relay_mongo, relay_env.database)
    text = LOCK_ONLY.format(extra="  - expect: {actor: ide, event: never, timeout: 60}")
    history = MessageHistory()
    task = asyncio.create_task(run_scenario(inline(text), relay_env, history=history))
    await history.wait_for(lambda messages: any(
        m.event == "step" and m.meta.get("label") == "5" for m in messages), 10)
    assert await seeded_documents(relay_mongo, relay_env.database) > before
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await seeded_documents(relay_mongo, relay_env.database) == before


async def test_a_scenario_timeout_cancels_the_running_step(relay_env: LocalEnvironment) -> None:
    text = LOCK_ONLY.format(extra="  - expect: {actor: ide, event: never, timeout: 30}")
    result = await run_scenario(inline(text.replace("name: lock only",
                                                    "name: slow\ntimeout: 1")), relay_env)
    assert result.failure is not None
    assert result.failure.message == "the scenario did not finish within its timeout of 1 s"
    assert result.failure.step == "step 5 (expect)"
    assert [s.status for s in result.steps] == ["passed"] * 4 + ["cancelled"]


async def test_external_without_admin_token_skips_introspection_saying_so(
        relay_env: LocalEnvironment) -> None:
    env = ExternalEnvironment(relay_env.relay_url, relay_env.mongo_uri, relay_env.database)
    await env.start()
    text = LOCK_ONLY.format(extra="  - check_sessions: {map: sessions, has: "
                                  "[\"${actors.d0.sid}\"]}")
    result = await run_scenario(inline(text), env)
    assert result.passed, render_story(result)
    assert result.steps[-1].status == "skipped"
    assert result.steps[-1].note.startswith("no admin token was given")
    assert any(note.startswith("leak checks skipped: no admin token") for note in result.notes)


async def test_restart_relay_step(make_relay_env: MakeRelayEnv) -> None:
    env = await make_relay_env()
    text = """\
name: restart
actors: {ide: {ide: {user: 0}}}
steps:
  - restart_relay:
  - connect: ide
  - emit:
      actor: ide
      event: openChatSession
      payload: {chatSessionId: "${chat_sessions[0].id}"}
      ack: {ok: true}
"""
    result = await run_scenario(inline(text), env)
    assert result.passed, render_story(result)


TERMINATE = """\
name: terminate
world: {drones_per_user: 1}
actors:
  d0: {drone: 0, behaviour: {on_termination: accept}}
  owner: {http: {user: 0}}
steps:
  - connect: d0
  - http:
      actor: owner
      method: POST
      path: /api/v1/drone/registration/${drones[0].id}/terminate
      expect: {status: 200}
"""


async def test_a_termination_the_drone_never_saw_is_named(make_relay_env: MakeRelayEnv) -> None:
    env = await make_relay_env(regressions=frozenset({"no-termination-handler"}))
    result = await run_scenario(inline(TERMINATE), env)
    assert result.failure is not None
    drone_id = result.actor_labels["d0"].split("(")[1].rstrip(")")
    assert result.failure.message == (
        f"POST /api/v1/drone/registration/{drone_id}/terminate answered 504 "
        f"termination-timeout ('drone {drone_id} did not acknowledge requestTermination "
        f"within 1 s'), expected 200; requestTermination never reached drone d0 ({drone_id})")


async def test_an_offline_answer_for_a_connected_drone_is_named(
        make_relay_env: MakeRelayEnv) -> None:
    env = await make_relay_env(regressions=frozenset({"lookup-by-socket-id"}))
    text = LOCK_ONLY.format(extra="").replace("ack: {$any: true}", "ack: {ok: true}")
    result = await run_scenario(inline(text), env)
    assert result.failure is not None and result.failure.step == "step 3 (emit)"
    drone_id = result.actor_labels["d0"].split("(")[1].rstrip(")")
    message = result.failure.message
    assert message.startswith("the ack of requestSessionLock from ide ide (user ")
    assert f"expected ok, got refused 'drone-offline' ('requestSessionLock: drone {drone_id} " \
           f"has no live connection'), but drone d0 ({drone_id}) is connected as " in message
    assert message.endswith(f"; requestSessionLock never reached drone d0 ({drone_id})")
    other = LOCK_ONLY.format(extra="").replace("ack: {$any: true}",
                                               "ack: {ok: false, error: drone-rejected}")
    result = await run_scenario(inline(other), env)
    assert result.failure is not None
    drone_id = result.actor_labels["d0"].split("(")[1].rstrip(")")
    message = result.failure.message
    assert message.startswith("the ack of requestSessionLock from ide ide (user ")
    assert "expected refused 'drone-rejected', got refused 'drone-offline' " \
           "('requestSessionLock: drone " in message
    assert f"connection'), but drone d0 ({drone_id}) is connected as " in message


async def test_an_emit_sent_without_ack_is_not_an_unanswered_emit(
        relay_env: LocalEnvironment) -> None:
    text = LOCK_ONLY.format(extra="").replace(
        "      ack: {ok: true}", "      no_ack: true", 1)
    result = await run_scenario(inline(text), relay_env)
    assert result.passed, render_story(result)
    sent = next(m for m in result.history if m.event == "openChatSession")
    assert (sent.direction, sent.meta.get("ack")) == ("sent", False)
    assert not any(m.direction == "ack" and m.event == "openChatSession"
                   for m in result.history)


async def test_a_scenario_that_restarts_the_relay_is_skipped_where_it_cannot(
        relay_env: LocalEnvironment) -> None:
    env = ExternalEnvironment(relay_env.relay_url, relay_env.mongo_uri, relay_env.database)
    await env.start()
    text = """\
name: restart
actors: {ide: {ide: {user: 0}}}
steps:
  - connect: ide
  - parallel:
      - restart_relay:
      - connect: ide
"""
    result = await run_scenario(inline(text), env)
    assert result.status == "skipped" and result.passed
    assert result.steps == [] and result.run_id is None  # nothing ran, nothing was seeded
    assert result.notes == [
        "skipped: the scenario restarts the relay, which this environment cannot do "
        f"({env.describe()})"]


SET_DB = """\
name: set_db
world: {{drones_per_user: 1}}
actors: {{ide: {{ide: {{user: 0}}}}}}
steps:
  - set_db: {{registration: "${{drones[0].id}}", status: online}}
  - check_db: {{registration: "${{drones[0].id}}", status: online}}
  - set_db: {{{target}: "{ident}", status: {status}}}
"""


async def test_set_db_writes_only_documents_of_its_own_run(
        relay_env: LocalEnvironment, relay_mongo: AsyncMongoClient[Any]) -> None:
    other = await build_world(relay_mongo[relay_env.database])
    try:
        cases = [("registration", other.drones[0].id, "online",
                  f"set_db: registration {other.drones[0].id} is not of this run's world; "
                  "only its own documents may be written"),
                 ("work_order", "0123456789abcdef01234567", "aborted",
                  "set_db: work order 0123456789abcdef01234567 is not in the database")]
        for target, ident, status, message in cases:
            text = SET_DB.format(target=target, ident=ident, status=status)
            result = await run_scenario(inline(text), relay_env)
            assert [s.status for s in result.steps] == ["passed", "passed", "error"]
            assert result.failure is not None and result.failure.message == message
        registration = await relay_mongo[relay_env.database]["droneRegistrations"].find_one(
            {"_id": ObjectId(other.drones[0].id)})
        assert registration is not None and registration["status"] == "offline"
    finally:
        await cleanup(relay_mongo[relay_env.database], other.run_id)
