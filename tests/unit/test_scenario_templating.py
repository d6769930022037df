"""``${...}`` references: load-time checks against a world spec, run-time resolution."""

from __future__ import annotations

import re

import _worlds as worlds
import pytest

from harness.errors import ScenarioError
from harness.scenario.templating import (
    ActorRef,
    TemplateContext,
    captures_of,
    check_duration,
    check_reference,
    references,
)
from harness.settings import RelayTimeouts
from seed.world import (
    World,
    WorldSpec,
)

SPEC = WorldSpec(users=2, drones_per_user=2)


def make_world() -> World:
    return worlds.make_world(SPEC)


@pytest.mark.parametrize("expr", [
    "users[1].token", "drones[3].id", "chat_sessions[1].project_id", "run_id",
    "users[1].drones[1].id", "users[0].chat_sessions[0].id", "capture.wo",
    "capture.wo.nested[0]", "actors.d0.sid",
])
def test_valid_references(expr: str) -> None:
    check_reference(expr, SPEC, {"wo"}, {"d0"})


@pytest.mark.parametrize(("expr", "problem"), [
    ("drones[4].id", "${drones[4].id}: index 4 out of range; the world has 4 drones"),
    ("users[0].drones[2].id",
     "${users[0].drones[2].id}: index 2 out of range; each user has 2 drones"),
    ("users[0]", "${users[0]}: write users[<index>].<field>"),
    ("drones[0].secret",
     "${drones[0].secret}: drones have fields id, user_id, hostname, token"),
    ("capture.missing", "${capture.missing}: no earlier step captures 'missing' "
                        "(captured so far: wo)"),
    ("actors.d9.sid", "${actors.d9.sid}: no actor 'd9'; actors: d0"),
    ("actors.d0.pid", "${actors.d0.pid}: actors have no field 'pid'; fields: name, sid, "
                      "user_id, registration_id, token"),
    ("drones[x]", "${drones[x]}: cannot read '[x]'; write .field or [index]"),
    ("run_id.x", "${run_id.x}: run_id has no fields"),
])
def test_invalid_references_say_why(expr: str, problem: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_reference(expr, SPEC, {"wo"}, {"d0"})
    assert str(caught.value) == problem


def test_render_resolves_deeply_keeps_types_and_escapes() -> None:
    ctx = TemplateContext(make_world(), captures={"wo": "W1", "n": 3},
                          actors=lambda name: ActorRef(name, "sid-1", "u0", "d00", "t"))
    value = {"a": "${users[1].id}", "b": ["${capture.n}", "n=${capture.n}"],
             "c": "${users[1].drones[0].id}/${chat_sessions[0].id}", "d": "$${literal}",
             "e": "${actors.d0.sid}", "f": 7}
    assert ctx.render(value) == {"a": "u1", "b": [3, "n=3"], "c": "d10/c0",
                                 "d": "${literal}", "e": "sid-1", "f": 7}


def test_render_of_an_unset_capture_is_a_scenario_error() -> None:
    ctx = TemplateContext(make_world())
    with pytest.raises(ScenarioError, match=r"\$\{capture.wo\}: nothing was captured"):
        ctx.render("${capture.wo}")


def test_references_and_captures_are_found_in_nested_values() -> None:
    assert references({"a": ["${x}", {"b": "${y} and $${z}"}]}) == ["x", "y"]
    assert captures_of({"a": [{"$capture": "one"}], "b": {"c": {"$capture": "two"}}}) == {
        "one", "two"}


@pytest.mark.parametrize(("value", "seconds"), [
    (None, 7.0),
    (3, 3.0),
    (0.5, 0.5),
    ("${relay.drone_ack_timeout}", 30.0),
    ("${relay.drone_ack_timeout} + 10", 40.0),
    (" 2 + ${ relay.termination_ack_timeout } + 0.5 ", 14.5),
])
def test_durations_read_the_relay_under_tests_own_timeouts(value: object, seconds: float) -> None:
    context = TemplateContext(make_world(), relay=RelayTimeouts(drone_ack_timeout=30,
                                                                termination_ack_timeout=12))
    assert context.seconds(value, 7.0) == seconds


@pytest.mark.parametrize(("value", "problem"), [
    (0, "expected seconds > 0"),
    (True, "expected seconds"),
    ("soon", "expected seconds or a sum"),
    ("${relay.drone_ack_timeout} * 2", "expected seconds or a sum"),
    ("${relay.nope} + 1", "relay.<name>, one of drone_ack_timeout, termination_ack_timeout, "
                          "termination_poll_timeout"),
    ("${users[0].id} + 1", "a duration reads only relay.<name>"),
])
def test_bad_durations_say_what_is_allowed(value: object, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        check_duration(value)
    with pytest.raises(ScenarioError, match=re.escape(problem)):
        TemplateContext(make_world()).seconds(value, 1.0)


def test_relay_references_are_checked_at_load_time() -> None:
    check_reference("relay.termination_poll_timeout", SPEC, set(), set())
    with pytest.raises(ValueError, match=re.escape("write relay.<name>")):
        check_reference("relay.drone_ack", SPEC, set(), set())
