"""The engine accepts every answer the contract allows and still fails a wrong one, against
the reference relay and its --variant switches (contract v1.1 section 11)."""

from __future__ import annotations

from pathlib import Path

from conftest import MakeRelayEnv

from harness.env import LocalEnvironment
from harness.scenario import load_file, run_scenario
from harness.scenario.model import Scenario


def inline(text: str) -> Scenario:
    (scenario,) = load_file(Path("inline.scenario.yaml"), text)
    return scenario


LOCKED = """\
name: {name}
world: {{drones_per_user: 2}}
actors:
  ide: {{ide: {{user: 0}}}}
  d0: {{drone: 0, behaviour: {{script: {{thinking: 3, responses: 0}}}}}}
  mute: {{drone: 1, behaviour: {{on_lock: ignore}}}}
steps:
  - connect: [d0, mute, ide]
  - emit: {{actor: ide, event: openChatSession, ack: {{ok: true}},
           payload: {{chatSessionId: "${{chat_sessions[0].id}}"}}}}
  - emit:
      actor: ide
      event: requestSessionLock
      payload: {{registrationId: "${{drones[0].id}}", chatSessionId: "${{chat_sessions[0].id}}"}}
      ack: {{ok: true}}
{steps}
"""

PROMPT = """\
  - emit:
      actor: ide
      event: submitPrompt
      payload: {registrationId: "${drones[0].id}", chatSessionId: "${chat_sessions[0].id}",
                prompt: hi}
      ack: {ok: true, workOrderId: {$capture: wo}}
"""

# Branch 2 waits out the mute drone's lock (the relay's 1 s ack timeout) before it looks for
# seq 0; branch 1 has long since matched the end of the same stream on the same IDE.
BRANCHES = PROMPT + """\
  - parallel:
      - expect: {actor: ide, event: workOrderComplete, payload: {workOrderId: "${capture.wo}"}}
      - sequence:
          - emit:
              actor: ide
              event: requestSessionLock
              payload: {registrationId: "${drones[1].id}",
                        chatSessionId: "${chat_sessions[0].id}"}
              ack: {ok: false, error: drone-timeout}
          - expect: {actor: ide, event: thinking, timeout: 1,
                     payload: {workOrderId: "${capture.wo}", seq: 0}}
  - name: after the group, the cursor is past the furthest match
    expect_nothing: {actor: ide, for: 0.1, events: [workOrderComplete]}
"""


async def test_parallel_branches_on_one_actor_do_not_share_a_cursor(
        relay_env: LocalEnvironment) -> None:
    scenario = inline(LOCKED.format(name="branches", steps=BRANCHES))
    result = await run_scenario(scenario, relay_env)
    assert result.passed, result.failure
    group = next(r for r in result.steps if r.step.kind == "parallel")
    late = group.children[1].children[1]
    assert late.status == "passed" and late.started > 1.0  # it did start after the stream


EITHER = PROMPT.replace("{", "{{").replace("}", "}}") + """\
  - either:
      - expect: {{actor: d0, event: protocolError, timeout: 0.5}}
      - expect: {{actor: ide, event: {second}, timeout: 2,
                 payload: {{workOrderId: "${{capture.wo}}"}}}}
  - name: the winning alternative's cursor is kept
    expect: {{actor: ide, event: thinking, payload: {{seq: 2}}}}
"""


async def test_either_passes_when_one_alternative_holds_and_names_every_failure(
        relay_env: LocalEnvironment) -> None:
    good = inline(LOCKED.format(name="either", steps=EITHER.format(second="thinking")))
    result = await run_scenario(good, relay_env)
    assert result.passed, result.failure
    group = next(r for r in result.steps if r.step.kind == "either")
    assert [c.status for c in group.children] == ["cancelled", "passed"]
    bad = inline(LOCKED.format(name="neither", steps=EITHER.format(second="droneRecovered")))
    result = await run_scenario(bad, relay_env)
    assert result.failure is not None
    assert result.failure.message.startswith("no alternative held: protocolError never "
                                             "reached drone d0 (")
    assert result.failure.message.endswith("(and 1 more, below)")
    assert result.failure.details[0].startswith(
        "alternative 5.2 (expect): droneRecovered never reached ide ide (user ")


WRONG_SIDE = """\
  - emit:
      actor: d0
      event: submitPrompt
      payload: {{registrationId: "${{drones[0].id}}", chatSessionId: "${{chat_sessions[0].id}}",
                prompt: from the drone}}
      ack: {{ok: false, error: forbidden}}
      {extra}
  - expect_nothing: {{actor: d0, for: 0.2, events: [submitPrompt]}}
"""


async def test_may_ignore_accepts_silence_and_still_checks_an_ack(
        make_relay_env: MakeRelayEnv, relay_env: LocalEnvironment) -> None:
    ignoring = await make_relay_env(variants=frozenset({"wrong-side-ignored"}))
    allowed = inline(LOCKED.format(name="may ignore",
                                   steps=WRONG_SIDE.format(extra="may_ignore: true")))
    assert (await run_scenario(allowed, ignoring)).passed
    assert (await run_scenario(allowed, relay_env)).passed  # refused forbidden: also fine
    strict = inline(LOCKED.format(name="strict", steps=WRONG_SIDE.format(extra="timeout: 1")))
    result = await run_scenario(strict, ignoring)
    assert result.failure is not None
    assert result.failure.message.startswith("no ack for submitPrompt reached drone d0 (")


SESSIONS = """\
  - check_sessions: {map: codeSessionsByChatSession, has: ["${chat_sessions[0].id}"]}
  - check_sessions: {map: dronesByRegistration, has: ["${drones[0].id}"]}
"""


async def test_a_map_the_relay_does_not_name_is_skipped_by_name_never_read_as_empty(
        make_relay_env: MakeRelayEnv) -> None:
    env = await make_relay_env(variants=frozenset({"partial-introspection"}))
    result = await run_scenario(inline(LOCKED.format(name="maps", steps=SESSIONS)), env)
    assert result.passed, result.failure
    skipped, checked = (r for r in result.steps if r.step.kind == "check_sessions")
    assert skipped.status == "skipped"
    assert skipped.note.startswith("the relay's introspection answer does not name the map "
                                   "codeSessionsByChatSession (it names: ")
    assert checked.status == "passed"
    assert any(note.startswith("leak checks of codeSessionsByChatSession skipped: the "
                               "relay's introspection answer does not name the map")
               for note in result.notes)


async def test_a_refused_admin_token_is_an_error_not_a_skip(
        relay_env: LocalEnvironment) -> None:
    from harness.env import ExternalEnvironment

    env = ExternalEnvironment(relay_env.relay_url, relay_env.mongo_uri, relay_env.database,
                              admin_token="wrong")
    result = await run_scenario(inline(LOCKED.format(name="token", steps=SESSIONS)), env)
    assert result.status == "failed"
    assert result.failure is not None and result.failure.kind == "error"
    assert result.failure.message == (
        "cannot check the relay's session maps: the introspection endpoint refused the admin "
        "token (403 forbidden); check --admin-token")
    quiet = inline(LOCKED.format(name="no checks", steps=""))
    result = await run_scenario(quiet, env)
    assert result.status == "error"
    assert result.failure is not None and result.failure.message == (
        "the leak checks cannot run: the introspection endpoint refused the admin token (403 "
        "forbidden); check --admin-token")


async def test_reference_only_scenarios_run_only_on_the_reference_relay(
        make_relay_env: MakeRelayEnv, relay_env: LocalEnvironment) -> None:
    text = LOCKED.format(name="pinned", steps="") + "reference_only: our own choice\n"
    scenario = inline(text)
    assert scenario.reference_only == "our own choice"
    assert (await run_scenario(scenario, relay_env)).status == "passed"
    varied = await make_relay_env(variants=frozenset({"z-timestamps"}))
    result = await run_scenario(scenario, varied)
    assert result.status == "skipped"
    assert result.notes[0].startswith("skipped: reference relay only (our own choice); the "
                                      "relay under test is not the reference relay")


ORDER = PROMPT.replace("{", "{{").replace("}", "}}") + """\
{first}
  - expect:
      actor: ide
      timeout: 2
      events: {events}
"""


async def test_an_event_that_arrived_out_of_place_is_named_as_such(
        relay_env: LocalEnvironment) -> None:
    swapped = "[{event: thinking, payload: {seq: 1}}, {event: thinking, payload: {seq: 0}}]"
    result = await run_scenario(inline(LOCKED.format(
        name="order", steps=ORDER.format(events=swapped, first=""))), relay_env)
    assert result.failure is not None
    assert result.failure.message.startswith(
        "thinking did not reach ide ide (user ")
    assert "(expected event 2 of 2) where expected within 2 s: a matching one arrived at " \
           "+" in result.failure.message
    assert result.failure.message.endswith(
        "s, but before the event expected ahead of it (out of the expected order)")
    consumed = "[{event: thinking, payload: {seq: 0}}]"
    first = "  - expect: {actor: ide, event: workOrderComplete}"
    result = await run_scenario(inline(LOCKED.format(
        name="consumed", steps=ORDER.format(events=consumed, first=first))), relay_env)
    assert result.failure is not None
    assert result.failure.message.endswith(
        "s, before this step's window (an earlier expect had already read past it)")
