"""Scenario items and the Python fixtures, run for real against the embedded environment."""

from __future__ import annotations

import pytest

PASSING = """\
name: opens its chat session
tags: [smoke]
actors: {ide: {ide: {user: 0}}}
steps:
  - connect: ide
  - emit:
      actor: ide
      event: openChatSession
      payload: {chatSessionId: "${chat_sessions[0].id}"}
      ack: {ok: true}
"""

FAILING = """\
name: expects a refusal that does not come
actors: {ide: {ide: {user: 0}}}
steps:
  - connect: ide
  - emit:
      actor: ide
      event: openChatSession
      payload: {chatSessionId: "${chat_sessions[0].id}"}
      ack: {ok: false, error: forbidden}
"""

PYTHON_TEST = """
import pytest
from harness.protocol import Event

@pytest.mark.harness_world(users=2, drones_per_user=1)
async def test_lock_through_the_fixtures(harness_env, harness_world, harness_history,
                                         sim_ide, sim_drone):
    assert harness_env.relay_url.startswith("http://127.0.0.1:")
    assert len(harness_world.users) == 2
    ide, drone = sim_ide("ide", user=1), sim_drone("d0", drone=0, user=1)
    await drone.connect()
    await ide.connect()
    chat = harness_world.chat_sessions_of(harness_world.users[1].id)[0].id
    assert await ide.emit(Event.OPEN_CHAT_SESSION, {"chatSessionId": chat}) == {"ok": True}
    answer = await ide.emit(Event.REQUEST_SESSION_LOCK,
                            {"registrationId": drone.registration_id, "chatSessionId": chat})
    assert answer == {"ok": True}
    assert harness_history.select(actor="d0", direction="received",
                                  event=Event.REQUEST_SESSION_LOCK)
"""


@pytest.mark.slow
def test_scenarios_and_fixtures_run_with_stories_for_failures(
        pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = auto\n"
                     "asyncio_default_fixture_loop_scope = function\n")
    pytester.makefile(".scenario.yaml", passing=PASSING, failing=FAILING)
    pytester.makepyfile(test_fixtures=PYTHON_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--strict-markers",
                                           "-rA", timeout=180)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "*_ scenario: expects a refusal that does not come _*",
        "FAILED failing.scenario.yaml::expects a refusal that does not come*",
        "  at step 2 (emit), failing.scenario.yaml:5 at +*",
        "  the ack of openChatSession from ide ide (user *): expected refused 'forbidden', got "
        'ok {"ok": true}',
        "*expected * | actual",
        "*differences:",
        "*at ok: expected false, got true",
        "*steps:",
        "*last messages per actor:",
    ])
    assert "Traceback" not in result.stdout.str()


RESTARTS = """\
name: restarts the relay
actors: {ide: {ide: {user: 0}}}
steps:
  - restart_relay:
  - connect: ide
"""


@pytest.mark.slow
async def test_a_scenario_the_environment_cannot_run_is_skipped_saying_why(
        pytester: pytest.Pytester) -> None:
    from harness.env import LocalEnvironment

    pytester.makefile(".scenario.yaml", restarts=RESTARTS)
    async with LocalEnvironment() as env:
        result = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "-rs", "--harness-env", "external",
            "--harness-relay-url", env.relay_url, "--harness-mongo-uri", env.mongo_uri,
            "--harness-database", env.database, timeout=180)
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED * skipped: the scenario restarts the relay, which "
                                 "this environment cannot do (external*"])


EXPLORE_TEST = """
def test_a_switch_is_found(harness_explore):
    harness_explore.check(budget=None, examples=5, seed=1, shrink_budget=3)
"""


@pytest.mark.slow
def test_the_explore_fixture_fails_telling_the_finding_and_naming_the_scenario_it_wrote(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_explore=EXPLORE_TEST)
    switched = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--harness-regress", "lookup-by-socket-id", timeout=180)
    switched.assert_outcomes(failed=1)
    switched.stdout.fnmatch_lines(["*harness explore found: *",
                                   "shrunk to * actions: *finding-*.scenario.yaml",
                                   "*steps:*"])
    assert "Traceback" not in switched.stdout.str()


@pytest.mark.slow
def test_scenarios_run_over_xdist_workers(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = auto\n"
                     "asyncio_default_fixture_loop_scope = function\n")
    pytester.makefile(".scenario.yaml", passing=PASSING, failing=FAILING,
                      other=PASSING.replace("opens its chat session", "opens it again"))
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider", timeout=180)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*created: 2/2 workers*",
                                 "*expects a refusal that does not come*"])
