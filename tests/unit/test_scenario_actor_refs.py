"""Actor-relative references (``${d0.id}``, ``${ide.chat_session.id}``) and ``vars:``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import _worlds as worlds
import pytest

import harness.scenario.templating as templating
from harness.errors import ScenarioError
from harness.scenario.actorrefs import ACTOR_REF_FIELDS
from harness.scenario.model import ActorSpec, Source
from harness.scenario.templating import (
    RESERVED_NAMES,
    ROOTS,
    ActorRef,
    TemplateContext,
    check_actor_name,
    check_reference,
    check_variable,
)
from harness.settings import RelayTimeouts
from seed.world import (
    World,
    WorldSpec,
)

# Two users, each with two drones and two chat sessions (one project).
SPEC = WorldSpec(users=2, drones_per_user=2, chat_sessions_per_project=2)
SOURCE = Source(Path("x.scenario.yaml"), 1)


def actor(name: str, kind: str, **fields: Any) -> ActorSpec:
    return ActorSpec(name=name, type=kind, source=SOURCE, **fields)  # type: ignore[arg-type]


ACTORS: dict[str, ActorSpec] = {a.name: a for a in (
    actor("d0", "drone", drone=3),                       # global drone 3: user 1's second
    actor("d1", "drone", user=1, drone=0),               # user 1's first drone
    actor("ide", "ide", user=1, chat_session=1),
    actor("ide0", "ide"),                                # user 0, chat session 0
    actor("api", "http", user=1),
    actor("anon", "http"),
    actor("forged", "drone", drone=0, token="${users[1].token}-x", registration="r-9"),
    actor("ide_t", "ide", user=0, token="${vars.secret}"),
    actor("my-drone", "drone", drone=1),
)}
VARS: dict[str, Any] = {
    "prompt": "hello", "n": 3, "obj": {"k": ["v0", "v1"]}, "chat": "${chat_sessions[1].id}",
    "via": "${vars.chat}", "line": "to ${d0.hostname}: ${vars.prompt}", "secret": "s3",
    "wo": "${capture.wo}",
}


def make_world() -> World:
    return worlds.make_world(SPEC)


def live(name: str) -> ActorRef:
    return ActorRef(name, f"sid-{name}", f"uid-{name}", f"reg-{name}", f"live-tok-{name}")


def context(**fields: Any) -> TemplateContext:
    return TemplateContext(make_world(), actors=live, actor_specs=ACTORS, variables=VARS,
                           **fields)


@pytest.mark.parametrize(("expr", "value"), [
    ("d0.id", "d11"), ("d0.token", "tok-d11"), ("d0.hostname", "h11"),
    ("d0.user.id", "u1"), ("d0.user.token", "tok-u1"), ("d0.user.email", "u1@x"),
    ("d0.user.display_name", "U1"), ("d0.user.drones[0].id", "d10"),
    ("d0.user.chat_sessions[1].id", "c11"),
    ("d1.id", "d10"), ("d1.user.id", "u1"), ("d1.hostname", "h10"),
    ("ide.user.id", "u1"), ("ide.user.token", "tok-u1"), ("ide.token", "tok-u1"),
    ("ide.chat_session.id", "c11"), ("ide.chat_session.title", "t1"),
    ("ide.chat_session.project_id", "j1"), ("ide.user.chat_sessions[0].id", "c10"),
    ("ide.user.projects[0].id", "j1"), ("ide.user.providers[0].id", "p1"),
    ("ide0.user.id", "u0"), ("ide0.chat_session.id", "c00"), ("ide0.token", "tok-u0"),
    ("api.user.id", "u1"), ("api.token", "tok-u1"), ("api.user.drones[1].hostname", "h11"),
    ("forged.token", "tok-u1-x"), ("forged.id", "d00"), ("ide_t.token", "s3"),
    ("my-drone.id", "d01"), ("actors.my-drone.sid", "sid-my-drone"),
])
def test_seeded_actor_fields_resolve_from_the_world(expr: str, value: str) -> None:
    assert context().lookup(expr) == value
    check_reference(expr, SPEC, set(), ACTORS, VARS)


@pytest.mark.parametrize(("expr", "value"), [
    ("d0.sid", "sid-d0"), ("d0.user_id", "uid-d0"), ("d0.registration_id", "reg-d0"),
    ("forged.registration_id", "reg-forged"), ("ide.sid", "sid-ide"),
    ("ide.user_id", "uid-ide"),
])
def test_live_actor_fields_are_read_from_the_actors_callable(expr: str, value: str) -> None:
    assert context().lookup(expr) == value


def test_actor_references_render_inside_text_and_keep_types_when_whole() -> None:
    assert context().render({"a": "drone ${d0.hostname} of ${d0.user.email}",
                             "b": ["${ide.chat_session.id}"]}) == {
        "a": "drone h11 of u1@x", "b": ["c11"]}


def test_live_fields_without_live_actors_are_a_scenario_error() -> None:
    ctx = TemplateContext(make_world(), actor_specs=ACTORS)
    assert ctx.lookup("d0.id") == "d11"  # seeded values need no live actor
    with pytest.raises(ScenarioError, match="actors are not available here"):
        ctx.lookup("d0.sid")


OLD_FORMS: list[tuple[str, Any]] = [
    ("users[1].id", "u1"), ("users[0].token", "tok-u0"), ("drones[3].id", "d11"),
    ("drones[2].hostname", "h10"), ("chat_sessions[3].id", "c11"),
    ("users[1].drones[0].id", "d10"), ("users[0].chat_sessions[1].id", "c01"),
    ("users[1].projects[0].id", "j1"), ("run_id", "run1"), ("capture.wo", "W1"),
    ("actors.d0.sid", "sid-d0"), ("actors.ide.user_id", "uid-ide"),
    ("actors.d0.token", "live-tok-d0"),
    ("relay.drone_ack_timeout", RelayTimeouts().drone_ack_timeout),
]


@pytest.mark.parametrize(("expr", "value"), OLD_FORMS)
def test_old_forms_resolve_as_before_with_or_without_actor_specs(expr: str,
                                                                 value: Any) -> None:
    bare = TemplateContext(make_world(), captures={"wo": "W1"}, actors=live)
    full = context(captures={"wo": "W1"})
    assert bare.lookup(expr) == full.lookup(expr) == value
    check_reference(expr, SPEC, {"wo"}, ACTORS, VARS)
    check_reference(expr, SPEC, {"wo"}, set(ACTORS))


@pytest.mark.parametrize(("expr", "value"), [
    ("vars.prompt", "hello"), ("vars.n", 3), ("vars.obj", {"k": ["v0", "v1"]}),
    ("vars.obj.k[1]", "v1"), ("vars.chat", "c01"), ("vars.via", "c01"),
    ("vars.line", "to h11: hello"),
])
def test_variables_resolve_rendered(expr: str, value: Any) -> None:
    assert context().lookup(expr) == value
    check_reference(expr, SPEC, set(), ACTORS, VARS)


def test_variables_render_inside_text() -> None:
    assert context().render("say ${vars.prompt} x${vars.n}") == "say hello x3"


def test_a_variable_reads_captures_where_it_is_used() -> None:
    assert context(captures={"wo": "W7"}).lookup("vars.wo") == "W7"
    with pytest.raises(ValueError, match=re.escape(
            "${vars.wo}: in vars.wo: ${capture.wo}: no earlier step captures 'wo' "
            "(captured so far: none yet)")):
        check_reference("vars.wo", SPEC, set(), ACTORS, VARS)
    check_reference("vars.wo", SPEC, {"wo"}, ACTORS, VARS)


@pytest.mark.parametrize(("variables", "expr", "problem"), [
    ({"a": "${vars.a}"}, "vars.a", "${vars.a}: vars.a refers to itself"),
    ({"a": "x ${vars.b}", "b": ["${vars.a}"]}, "vars.a",
     "${vars.a}: vars.a -> vars.b -> vars.a refer to each other in a loop"),
    ({"c": "${vars.a}", "a": "${vars.b}", "b": {"k": "${vars.a}"}}, "vars.c",
     "${vars.c}: vars.a -> vars.b -> vars.a refer to each other in a loop"),
    ({"a": "${vars.b}", "b": "${users[0].id} ${users[5].id}"}, "vars.a",
     "${vars.a}: in vars.b: ${users[5].id}: index 5 out of range; the world has 2 users"),
])
def test_variable_problems_name_the_reference(variables: dict[str, Any], expr: str,
                                              problem: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_reference(expr, SPEC, set(), ACTORS, variables)
    assert str(caught.value) == problem
    ctx = TemplateContext(make_world(), actor_specs=ACTORS, variables=variables)
    with pytest.raises(ScenarioError) as failed:
        ctx.lookup(expr)
    if "loop" in problem or "itself" in problem:
        assert str(failed.value) == problem  # the same words at run time
    else:
        assert str(failed.value) == "${vars.a}: in vars.b: ${users[5].id}: not found"


def test_a_token_override_that_reads_itself_is_a_loop() -> None:
    looped = {"t": actor("t", "ide", token="${t.token}")}
    with pytest.raises(ValueError, match=re.escape("${t.token}: t.token refers to itself")):
        check_reference("t.token", SPEC, set(), looped)
    with pytest.raises(ScenarioError, match=re.escape("${t.token}: t.token refers to itself")):
        TemplateContext(make_world(), actor_specs=looped).lookup("t.token")


@pytest.mark.parametrize(("expr", "problem"), [
    ("vars.zz", "${vars.zz}: no variable 'zz'; declared: chat, line, n, obj, prompt, "
                "secret, via, wo"),
    ("vars", "${vars}: write vars.<name>"),
    ("d0.user.idd", "${d0.user.idd}: users have fields id, email, display_name, token, "
                    "drones, chat_sessions, projects, providers (per user)"),
    ("ide.id", "${ide.id}: an ide actor has no id; write ${ide.user.id} or "
               "${ide.chat_session.id}"),
    ("api.id", "${api.id}: an http actor has no id; write ${api.user.id}"),
    ("ide.chat_sessions[1].id", "${ide.chat_sessions[1].id}: an ide actor has no "
                                "chat_sessions; write ${ide.user.chat_sessions[1].id}"),
    ("ide.email", "${ide.email}: an ide actor has no email; write ${ide.user.email}"),
    ("api.sid", "${api.sid}: an http actor has no sid; it has fields user, token"),
    ("d0", "${d0}: write d0.<field>; a drone actor has fields id, token, hostname, user, "
           "sid, user_id, registration_id"),
    ("d0.user", "${d0.user}: write d0.user.<field>"),
    ("ide.chat_session", "${ide.chat_session}: write ide.chat_session.<field>"),
    ("d0.sid.x", "${d0.sid.x}: d0.sid has no fields"),
    ("d0.id.x", "${d0.id.x}: d0.id has no fields"),
    ("ide.chat_session.idd", "${ide.chat_session.idd}: chat_sessions have fields id, "
                             "user_id, project_id, provider_id, title"),
    ("d0.user.drones[2].id", "${d0.user.drones[2].id}: index 2 out of range; each user "
                             "has 2 drones"),
    ("anon.user.id", "${anon.user.id}: actor anon has no user; declare it as "
                     "{http: {user: <index>}} to read its user or token"),
    ("anon.token", "${anon.token}: actor anon has no user; declare it as "
                   "{http: {user: <index>}} to read its user or token"),
    ("nope.id", "${nope.id}: unknown name 'nope'; use one of users, providers, projects, "
                "chat_sessions, drones, run_id, capture, actors, relay, vars or an actor's "
                "name (anon, api, d0, d1, forged, ide, ide0, ide_t, my-drone)"),
    ("ide_t.token", "${ide_t.token}: in ide_t.token: ${vars.secret}: no variable 'secret'; "
                    "declared: none (declare them under vars:)"),
])
def test_wrong_references_say_why_in_one_line(expr: str, problem: str) -> None:
    variables = {} if expr == "ide_t.token" else VARS
    with pytest.raises(ValueError) as caught:
        check_reference(expr, SPEC, set(), ACTORS, variables)
    assert str(caught.value) == problem


@pytest.mark.parametrize(("spec", "expr", "problem"), [
    (actor("a", "drone", drone=4), "a.id",
     "${a.id}: actor a is drone 4, out of range; the world has 4 drones (indexes 0 to 3)"),
    (actor("a", "drone", user=2, drone=0), "a.user.id",
     "${a.user.id}: actor a is user 2, out of range; the world has 2 users "
     "(indexes 0 to 1)"),
    (actor("a", "drone", user=0, drone=2), "a.token",
     "${a.token}: actor a is drone 2 of user 0, out of range; each user has 2 drones "
     "(indexes 0 to 1)"),
    (actor("a", "ide", user=5), "a.token",
     "${a.token}: actor a is user 5, out of range; the world has 2 users (indexes 0 to 1)"),
    (actor("a", "ide", chat_session=2), "a.chat_session.id",
     "${a.chat_session.id}: actor a works on chat session 2 of its user, out of range; "
     "each user has 2 chat_sessions (indexes 0 to 1)"),
])
def test_an_index_out_of_range_in_the_actors_declaration_names_the_range(
        spec: ActorSpec, expr: str, problem: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_reference(expr, SPEC, set(), {"a": spec})
    assert str(caught.value) == problem
    with pytest.raises(ScenarioError) as failed:
        TemplateContext(make_world(), actor_specs={"a": spec}).lookup(expr)
    assert str(failed.value) == problem


def test_a_world_without_chat_sessions_says_so() -> None:
    bare = WorldSpec(users=1, chat_sessions_per_project=0)
    with pytest.raises(ValueError, match=re.escape(
            "each user has 0 chat_sessions (none)")):
        check_reference("ide.chat_session.id", bare, set(), {"ide": actor("ide", "ide")})


def test_a_plain_set_of_actor_names_checks_only_the_name() -> None:
    check_reference("d0.whatever", SPEC, set(), {"d0"})
    with pytest.raises(ValueError, match=re.escape("${d0}: write d0.<field>")):
        check_reference("d0", SPEC, set(), {"d0"})
    with pytest.raises(ValueError, match=re.escape("${d9.id}: unknown name 'd9'")):
        check_reference("d9.id", SPEC, set(), {"d0"})


def test_old_callers_without_variables_get_a_clear_error_for_vars() -> None:
    with pytest.raises(ValueError, match=re.escape(
            "${vars.x}: no variable 'x'; declared: none (declare them under vars:)")):
        check_reference("vars.x", SPEC, set(), {"d0"})


def test_roots_are_reserved_actor_names() -> None:
    assert set(RESERVED_NAMES) >= {"users", "drones", "chat_sessions", "projects",
                                   "providers", "capture", "vars", "relay", "run_id",
                                   "actors"}
    assert set(RESERVED_NAMES) == set(ROOTS)
    for name in RESERVED_NAMES:
        with pytest.raises(ValueError, match=re.escape(f"actor name {name!r} is reserved")):
            check_actor_name(name)
    check_actor_name("d0")  # a free name passes


def test_check_variable_checks_the_name_the_references_and_loops() -> None:
    variables = {"ok": "${ide.user.id} ${capture.later}", "bad name": 1,
                 "wrong": "${ide.id}", "loop": "${vars.loop}"}
    check_variable("ok", variables, SPEC, ACTORS)  # captures are checked where used
    for name, problem in [
        ("bad name", "vars: 'bad name' cannot be written as ${vars.bad name}"),
        ("wrong", "${vars.wrong}: in vars.wrong: ${ide.id}: an ide actor has no id"),
        ("loop", "${vars.loop}: vars.loop refers to itself"),
    ]:
        with pytest.raises(ValueError, match=re.escape(problem)):
            check_variable(name, variables, SPEC, ACTORS)


def test_the_module_docstring_shows_every_actor_field() -> None:
    doc = templating.__doc__ or ""
    for kind, fields in ACTOR_REF_FIELDS.items():
        for field in fields:
            assert re.search(rf"\$\{{\w+\.{field}\b", doc), (kind, field)
