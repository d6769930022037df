"""Loading scenario files: good files become models; bad files give exact, located errors."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from harness.errors import ScenarioError
from harness.scenario.kinds import STEP_KINDS
from harness.scenario.loader import find_scenario_files, load_file, load_paths
from harness.scenario.schema import scenario_schema
from harness.sim.reconnect import Reconnection
from seed.world import WorldSpec

FILE = Path("x.scenario.yaml")
REPO_SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"

GOOD = """\
name: lock and stream
description: a drone locks and streams
tags: [locking, smoke]
world: {users: 2, drones_per_user: 1}
timeout: 20
actors:
  ide: {ide: {user: 0}, transport: polling}
  d0: {drone: 0, behaviour: {on_lock: accept, script: {thinking: 2}}}
  d1: {drone: {index: 0, user: 1}}
  api: {http: {user: 0}}
steps:
  - connect: [d0, ide]
  - name: lock
    emit:
      actor: ide
      event: requestSessionLock
      payload: {registrationId: "${drones[0].id}", chatSessionId: "${chat_sessions[0].id}"}
      ack: {ok: true}
  - parallel:
      - emit:
          actor: ide
          event: submitPrompt
          payload: {prompt: hi}
          ack: {workOrderId: {$capture: wo}}
      - sequence:
          - expect: {actor: d0, event: submitPrompt}
          - check_db: {registration: "${users[0].drones[0].id}", status: busy}
  - expect:
      actor: [ide]
      events:
        - {event: thinking, payload: {workOrderId: "${capture.wo}"}}
  - http: {method: GET, path: "/api/v1/drone/registration/${drones[0].id}", expect: {status: 200}}
"""


def errors_of(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load_file(FILE, textwrap.dedent(text))
    return str(caught.value).splitlines()


def test_a_good_file_becomes_a_scenario_with_lines_and_labels() -> None:
    (scenario,) = load_file(FILE, GOOD)
    assert scenario.name == "lock and stream"
    assert scenario.id == "x.scenario.yaml::lock and stream"
    assert scenario.tags == ("locking", "smoke")
    assert scenario.world == WorldSpec(users=2, drones_per_user=1)
    assert scenario.timeout == 20.0
    assert [(a.name, a.type, a.user, a.drone) for a in scenario.actors] == [
        ("ide", "ide", 0, None), ("d0", "drone", None, 0), ("d1", "drone", 1, 0),
        ("api", "http", 0, None)]
    assert scenario.actor("ide").transport == "polling"
    assert scenario.actor("d0").behaviour == {"on_lock": "accept", "script": {"thinking": 2}}
    lock = scenario.steps[1]
    assert (lock.kind, lock.label, lock.source.line, lock.title) == (
        "emit", "2", 13, 'step 2 (emit "lock")')
    assert lock.line_of("payload.registrationId") == 17
    parallel = scenario.steps[2]
    assert [c.label for c in parallel.children] == ["3.1", "3.2"]
    assert [c.label for c in parallel.children[1].children] == ["3.2.1", "3.2.2"]
    assert parallel.children[1].children[1].source.line == 27


def test_several_scenarios_per_file_as_yaml_documents() -> None:
    text = GOOD + "---\n" + GOOD.replace("lock and stream", "second")
    assert [s.name for s in load_file(FILE, text)] == ["lock and stream", "second"]


def test_unknown_step_kind_names_file_line_step_and_the_allowed_kinds() -> None:
    assert errors_of("""\
        name: n
        actors: {ide: {ide: {}}}
        steps:
          - connect: ide
          - emitt: {actor: ide}
        """) == [f"x.scenario.yaml:5: step 2: unknown step kind 'emitt'; allowed: "
                 f"{', '.join(STEP_KINDS)} (and name)"]


def test_unknown_field_in_a_step() -> None:
    assert errors_of("""\
        name: n
        actors: {ide: {ide: {}}}
        steps:
          - name: open
            emit:
              actor: ide
              event: openChatSession
              payloads: {}
        """) == ['x.scenario.yaml:8: step 1 (emit "open"): unknown field \'payloads\'; '
                 "allowed: actor, event, payload, ack, no_ack, may_ignore, timeout, negative, "
                 "may_drop"]


def test_wrong_types_and_values_say_what_is_allowed() -> None:
    assert errors_of("""\
        name: n
        actors:
          ide: {ide: {}}
          d0: {drone: 0, behaviour: {on_lock: maybe}}
        steps:
          - emit: {actor: ide, event: x, timeout: soon}
          - expect: {actor: ide, event: a, order: sideways}
        """) == [
        'x.scenario.yaml:4: actor d0, field behaviour.on_lock: "maybe" is not allowed; '
        "allowed: accept, refuse, ignore",
        "x.scenario.yaml:6: step 1 (emit), field timeout: must be seconds (a number > 0) or a "
        "sum such as '${relay.drone_ack_timeout} + 10', got string \"soon\"",
        'x.scenario.yaml:7: step 2 (expect), field order: "sideways" is not allowed; '
        "allowed: in_order, any",
    ]


def test_a_step_with_two_kinds_or_none() -> None:
    assert errors_of("""\
        name: n
        actors: {ide: {ide: {}}}
        steps:
          - disconnect: ide
            crash: ide
          - name: lonely
        """) == [
        "x.scenario.yaml:4: step 1 (disconnect): a step needs exactly one step kind; "
        f"found disconnect, crash; allowed: {', '.join(STEP_KINDS)}",
        'x.scenario.yaml:6: step 2 ("lonely"): a step needs exactly one step kind; found none; '
        f"allowed: {', '.join(STEP_KINDS)}",
    ]


def test_missing_top_level_fields() -> None:
    assert errors_of("name: n\n") == ["x.scenario.yaml:1: missing field 'actors', 'steps'"]


def test_errors_inside_parallel_groups_carry_the_nested_label() -> None:
    assert errors_of("""\
        name: n
        actors: {ide: {ide: {}}, d0: {drone: 0}}
        steps:
          - parallel:
              - connect: ide
              - sequence:
                  - restart: ide
        """) == ["x.scenario.yaml:7: step 1.2.1 (restart): actor 'ide' is an ide, this step "
                 "needs a drone; allowed: d0"]


def test_unknown_actor_and_wrong_actor_type() -> None:
    assert errors_of("""\
        name: n
        actors: {ide: {ide: {}}, api: {http: {}}}
        steps:
          - connect: [ide, ghost]
          - emit: {actor: api, event: x}
        """) == [
        "x.scenario.yaml:4: step 1 (connect): no actor named 'ghost'; allowed: ide, api",
        "x.scenario.yaml:5: step 2 (emit), field actor: actor 'api' is an http actor, this "
        "step needs an ide or a drone; allowed: ide",
    ]


def test_reconnection_follows_socket_io_client_unless_the_actor_says_otherwise() -> None:
    (scenario,) = load_file(FILE, textwrap.dedent("""\
        name: n
        actors:
          ide: {ide: {}, on_reconnect: {reopen: true}}
          d0: {drone: 0, reconnect: {delay: 0.1, delay_max: 0.5, attempts: 3},
               on_reconnect: {recover: true}}
          d1: {drone: 0, reconnect: false}
        steps:
          - connect: [ide, d0, d1]
        """))
    ide, d0, d1 = (scenario.actor(n) for n in ("ide", "d0", "d1"))
    assert ide.reconnection == Reconnection() and ide.reopen and not ide.recover
    assert d0.reconnection == Reconnection(delay=0.1, delay_max=0.5, attempts=3) and d0.recover
    assert d1.reconnection == Reconnection(enabled=False)


def test_bad_reconnection_settings_are_located() -> None:
    assert errors_of("""\
        name: n
        actors:
          ide: {ide: {}, reconnect: {delay: 2, delay_max: 1}, on_reconnect: {recover: true}}
          d0: {drone: 0, reconnect: false, on_reconnect: {recover: true}}
          api: {http: {}, reconnect: true}
        steps:
          - connect: [ide, d0]
        """) == [
        "x.scenario.yaml:3: actor ide, field reconnect.delay_max: reconnect.delay_max (1) "
        "must not be below reconnect.delay (2)",
        "x.scenario.yaml:3: actor ide, field on_reconnect.recover: only for drones (a drone "
        "asks for crash recovery)",
        "x.scenario.yaml:4: actor d0, field on_reconnect.recover: the actor never reconnects "
        "by itself (reconnect: false)",
        "x.scenario.yaml:5: actor api, field reconnect: an HTTP actor has no connection to "
        "reconnect",
    ]
    assert errors_of("""\
        name: n
        actors: {d1: {drone: 0, reconnect: {speed: 1}}}
        steps: [connect: d1]
        """) == ["x.scenario.yaml:2: actor d1, field reconnect: unknown field 'speed'; allowed: "
                 "delay, delay_max, randomization, attempts, timeout"]


def test_indexes_are_checked_against_the_world() -> None:
    assert errors_of("""\
        name: n
        world: {users: 1, drones_per_user: 2}
        actors:
          ide: {ide: {user: 1}}
          d0: {drone: 2}
          d1: {drone: {index: 2}}
        steps:
          - emit: {actor: d0, event: x, payload: {a: "${chat_sessions[1].id}"}}
        """) == [
        "x.scenario.yaml:4: actor ide, field ide.user: user 1 out of range; the world has "
        "1 user(s) (indexes from 0)",
        "x.scenario.yaml:5: actor d0, field drone: drone 2 out of range; the world has 2 "
        "drone(s) (indexes from 0)",
        "x.scenario.yaml:6: actor d1, field drone.index: drone 2 out of range; each user has "
        "2 drone(s)",
        "x.scenario.yaml:8: step 1 (emit), field payload.a: ${chat_sessions[1].id}: index 1 "
        "out of range; the world has 1 chat_sessions",
    ]


def test_references_must_be_known_and_captures_come_before_use() -> None:
    assert errors_of("""\
        name: n
        actors: {ide: {ide: {}}}
        steps:
          - emit: {actor: ide, event: x, payload: {a: "${capture.wo}", b: "${user[0].id}"}}
          - emit: {actor: ide, event: x, ack: {workOrderId: {$capture: wo}}}
          - emit: {actor: ide, event: x, payload: "${capture.wo} ${users[0].secret}"}
        """) == [
        "x.scenario.yaml:4: step 1 (emit), field payload.a: ${capture.wo}: no earlier step "
        "captures 'wo' (captured so far: none yet)",
        "x.scenario.yaml:4: step 1 (emit), field payload.b: ${user[0].id}: unknown name "
        "'user'; use one of users, providers, projects, chat_sessions, drones, run_id, "
        "capture, actors, relay, vars or an actor's name (ide)",
        "x.scenario.yaml:6: step 3 (emit), field payload: ${users[0].secret}: users have "
        "fields id, email, display_name, token, drones, chat_sessions, projects, providers "
        "(per user)",
    ]


def test_bad_matchers_are_errors_at_load_time() -> None:
    assert errors_of("""\
        name: n
        actors: {ide: {ide: {}}}
        steps:
          - emit:
              actor: ide
              event: x
              ack:
                ok: {$regx: yes}
                id: {$type: uuid}
                n: {$len: -1}
                both: {$any: true, plain: 1}
        """) == [
        "x.scenario.yaml:8: step 1 (emit), field ack.ok: unknown matcher '$regx'; allowed: "
        "$exact, $subset, $regex, $type, $any, $len, $absent, $capture, $one_of, $rfc3339, "
        "$with_id",
        "x.scenario.yaml:9: step 1 (emit), field ack.id: $type: unknown type 'uuid'; allowed: "
        "string, integer, number, boolean, null, object, array, objectid",
        "x.scenario.yaml:10: step 1 (emit), field ack.n: $len: write a count >= 0 or "
        "{min: a, max: b}",
        "x.scenario.yaml:11: step 1 (emit), field ack.both: mixes matcher keys ($any) with "
        "plain keys (plain); nest the plain keys in $subset",
    ]


def test_yaml_syntax_errors_and_duplicate_keys_have_lines() -> None:
    assert errors_of("name: n\nactors: [\n") == [
        "x.scenario.yaml:3: YAML syntax error: expected the node content, but found "
        "'<stream end>'"]
    assert errors_of("name: n\nname: m\n") == [
        "x.scenario.yaml:2: duplicate key 'name' (first on line 1)"]


def test_duplicate_scenario_names_in_one_file() -> None:
    text = GOOD + "---\n" + GOOD
    assert errors_of(text)[-1] == ("x.scenario.yaml:34: field name: a scenario named "
                                   "'lock and stream' is already on line 1")


def test_an_empty_file_is_an_error() -> None:
    assert errors_of("# nothing\n") == ["x.scenario.yaml:1: no scenario in this file"]


def test_load_paths_reports_every_bad_file(tmp_path: Path) -> None:
    (tmp_path / "a.scenario.yaml").write_text(GOOD)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.scenario.yaml").write_text("name: b\n")
    (tmp_path / "c.scenario.yaml").write_text("name: c\nname: c\n")
    (tmp_path / "ignored.yaml").write_text("not: a scenario\n")
    with pytest.raises(ScenarioError) as caught:
        load_paths([tmp_path])
    lines = str(caught.value).splitlines()
    assert [line.split(": ", 1)[0].rsplit("/", 1)[-1] for line in lines] == [
        "c.scenario.yaml:2", "b.scenario.yaml:1"]
    with pytest.raises(ScenarioError, match="no such file or directory"):
        find_scenario_files([tmp_path / "missing"])


def test_the_published_schema_is_valid_and_accepts_the_repository_scenarios() -> None:
    schema = scenario_schema()
    Draft202012Validator.check_schema(schema)
    assert set(schema["$defs"]["step"]["properties"]) == {*STEP_KINDS, "name", "with"}
    files = find_scenario_files([REPO_SCENARIOS])
    assert len(files) >= 3
    assert load_paths(files)
    json.dumps(schema)


def test_set_db_statuses_and_fields_are_checked_per_document_kind() -> None:
    assert errors_of("""\
        name: n
        actors: {ide: {ide: {}}}
        steps:
          - set_db: {registration: "${drones[0].id}", status: running}
          - set_db: {work_order: "0123456789abcdef01234567", status: aborted, locked_by: null}
          - set_db: {work_order: "0123456789abcdef01234567", status: busy}
        """) == [
        "x.scenario.yaml:4: step 1 (set_db), field status: 'running' is not a registration "
        "status; allowed: offline, online, busy",
        "x.scenario.yaml:5: step 2 (set_db), field locked_by: a work order has no lock; "
        "locked_by is for registrations",
        "x.scenario.yaml:6: step 3 (set_db), field status: 'busy' is not a work order status; "
        "allowed: pending, running, complete, failed, aborted",
    ]


def test_set_db_needs_a_document_and_something_to_set() -> None:
    good = """\
        name: n
        actors: {ide: {ide: {}}}
        steps:
          - set_db: {registration: "${drones[0].id}", status: online, locked_by: null}
        """
    (scenario,) = load_file(FILE, textwrap.dedent(good))
    assert scenario.steps[0].kind == "set_db"
    for bad, message in (('{registration: "${drones[0].id}"}',
                          "needs at least one of status, locked_by"),
                         ("{status: online}",
                          "needs exactly one of registration, work_order; found none")):
        assert errors_of(good.replace(
            '{registration: "${drones[0].id}", status: online, locked_by: null}', bad)) == [
            f"x.scenario.yaml:4: step 1 (set_db): {message}"]
