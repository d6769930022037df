"""The explorer's model of the contract and the scenario text it writes (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.errors import ConfigError
from harness.explore.explorer import ExploreOptions
from harness.explore.model import OK, POLLING_EXIT, Chat, Model
from harness.explore.program import Program, ack_matcher, actor_specs
from harness.protocol import ErrorCode
from harness.scenario.loader import load_file


@pytest.fixture
def model() -> Model:
    model = Model.of_cast(reference=False)
    for name in ("d0", "d1", "d2"):
        model.drone_connected(model.drones[name])
    for name in ("ide0", "ide0b", "ide1", "ide2"):
        model.ides[name].connected = True
    return model


def test_a_lock_is_refused_forbidden_for_another_users_drone(model: Model) -> None:
    answer, asks = model.lock(model.ides["ide2"], model.drones["d0"])
    assert answer.codes == {ErrorCode.FORBIDDEN} and not asks


def test_an_offline_drone_is_drone_offline_and_not_asked(model: Model) -> None:
    drone = model.drones["d0"]
    model.drone_gone(drone)
    answer, asks = model.lock(model.ides["ide0"], drone)
    assert answer.codes == {ErrorCode.DRONE_OFFLINE} and not asks


@pytest.mark.parametrize(("behaviour", "code"), [("accept", OK),
                                                 ("refuse", ErrorCode.DRONE_REJECTED),
                                                 ("ignore", ErrorCode.DRONE_TIMEOUT)])
def test_an_unlocked_drone_is_asked_and_its_answer_decides(model: Model, behaviour: str,
                                                           code: str) -> None:
    drone = model.drones["d0"]
    drone.on_lock = behaviour
    answer, asks = model.lock(model.ides["ide0"], drone)
    assert answer.codes == {code} and asks


def test_relocking_by_the_holder_is_ok_without_asking_and_others_are_drone_locked(
        model: Model) -> None:
    drone = model.drones["d0"]
    model.locked(drone, model.ides["ide0"].chat)
    assert model.lock(model.ides["ide0b"], drone) == (model.lock(model.ides["ide0"], drone))
    answer, asks = model.lock(model.ides["ide0b"], drone)
    assert answer.ok and not asks
    answer, asks = model.lock(model.ides["ide1"], drone)
    assert answer.codes == {ErrorCode.DRONE_LOCKED} and not asks


def test_a_prompt_to_an_offline_drone_may_be_drone_offline_or_not_locked(model: Model) -> None:
    """Contract 11.1: an offline drone holds no lock, and a relay may check either first."""
    drone = model.drones["d1"]
    model.drone_gone(drone)
    answer, _ = model.submit(model.ides["ide0"], drone)
    assert answer.codes == {ErrorCode.DRONE_OFFLINE, ErrorCode.NOT_LOCKED}


def test_release_never_answers_drone_offline(model: Model) -> None:
    drone = model.drones["d0"]
    model.drone_gone(drone)
    assert model.release(model.ides["ide0"], drone).codes == {ErrorCode.NOT_LOCKED}


def test_a_race_and_a_retry_are_never_required_to_be_ok(model: Model) -> None:
    drone = model.drones["d0"]
    assert model.race(model.ides["ide0"], model.ides["ide1"], drone).codes == \
        {OK, ErrorCode.DRONE_LOCKED}
    assert OK not in model.retry(drone).codes


def test_a_disconnect_aborts_running_work_orders_and_clears_the_lock(model: Model) -> None:
    drone, chat = model.drones["d0"], model.ides["ide0"].chat
    model.locked(drone, chat)
    running = model.new_work_order(drone, chat, "running")
    done = model.new_work_order(drone, chat, "complete")
    assert model.drone_gone(drone) == [running]
    assert (running.status, done.status) == ("aborted", "complete")
    assert (drone.status, drone.locked_by, drone.connected) == ("offline", None, False)


def test_crash_recovery_reports_the_newest_running_work_order_of_the_lock(model: Model) -> None:
    drone = model.drones["d0"]
    c0, c1 = Chat(0, 0), Chat(0, 1)
    model.locked(drone, c1)
    model.new_work_order(drone, c0, "running")  # of a lock released before
    older = model.new_work_order(drone, c1, "running")
    newer = model.new_work_order(drone, c1, "running")
    assert model.recovery(drone) == (c1, newer) and older is not newer
    model.released(drone)
    assert model.recovery(drone) == (None, None)


def test_a_polling_drone_that_exits_silently_may_take_the_heartbeat_except_on_our_relay(
        model: Model) -> None:
    drone = model.drones["d1"]
    drone.exit_mode = "silent"
    assert model.terminate(0, drone).statuses == {200, 504}
    assert not model.references
    reference = Model.of_cast(reference=True)
    reference.drone_connected(reference.drones["d1"])
    reference.drones["d1"].exit_mode = "silent"
    answer = reference.terminate(0, reference.drones["d1"])
    assert answer.statuses == {200} and answer.reference_only == POLLING_EXIT
    assert reference.references == [POLLING_EXIT]


def test_terminate_checks_ownership_then_liveness(model: Model) -> None:
    drone = model.drones["d2"]
    assert model.terminate(0, drone).error == ErrorCode.FORBIDDEN
    model.drone_gone(drone)
    assert model.terminate(1, drone).error == ErrorCode.DRONE_OFFLINE
    assert model.terminate(0, drone).error == ErrorCode.FORBIDDEN


def test_the_maps_the_relay_must_and_must_not_hold(model: Model) -> None:
    model.drone_gone(model.drones["d2"])
    model.ide_gone(model.ides["ide2"])
    model.ides["ide0"].opened = True
    maps = model.expected_maps()
    assert maps["dronesByRegistration"] == (["${d0.id}", "${d1.id}"], ["${d2.id}"])
    assert maps["codeSessionsByUser"] == (["${users[0].id}"], ["${users[1].id}"])
    has, lacks = maps["codeSessionsByChatSession"]
    assert has == [Chat(0, 0).ref] and Chat(0, 1).ref in lacks and len(lacks) == 3


@pytest.mark.parametrize(("codes", "matcher"), [
    ({OK}, {"ok": True}),
    ({"drone-locked"}, {"ok": False, "error": "drone-locked"}),
    ({"drone-offline", "not-locked"},
     {"ok": False, "error": {"$one_of": ["drone-offline", "not-locked"]}}),
    ({OK, "drone-locked"}, {"$one_of": [{"ok": True}, {"ok": False, "error": "drone-locked"}]}),
])
def test_ack_matchers(codes: set[str], matcher: object) -> None:
    assert ack_matcher(frozenset(codes)) == matcher


def test_a_program_loads_as_a_scenario_and_prunes_actors_no_step_names(tmp_path: Path) -> None:
    program = Program()
    shared = {"$one_of": [{"ok": True}, {"ok": False, "error": "drone-locked"}]}
    program.add("connect", [{"connect": ["d0", "ide0", "ide0b"]}])
    program.add("race", [{"parallel": [
        {"emit": {"actor": name, "event": "requestSessionLock", "ack": shared,
                  "payload": {"registrationId": "${d0.id}",
                              "chatSessionId": "${ide0.chat_session.id}"},
                  "timeout": "${relay.drone_ack_timeout} + 5"}}
        for name in ("ide0", "ide0b")]}])
    program.add("wait", [{"wait_until": {"db": {"registration": "${d0.id}",
                                                "status": "busy"}, "timeout": 3}}])
    program.header = ["a comment"]
    text = program.render(prune=True)
    assert "&id" not in text and "*id" not in text  # no YAML anchors: each step reads alone
    assert "\n...\n" not in text  # a plain scalar did not end the document
    (scenario,) = load_file(tmp_path / "x.scenario.yaml", text)
    assert {a.name for a in scenario.actors} == {"d0", "ide0", "ide0b"}
    assert len(scenario.steps) == 3 and scenario.steps[1].kind == "parallel"
    assert text.startswith("# a comment\n")
    full = yaml.safe_load(program.render())
    assert set(full["actors"]) == set(actor_specs())


def test_reference_only_reasons_are_written_once(tmp_path: Path) -> None:
    program = Program(reference_only=["why", "why"])
    program.add("x", [{"connect": ["d0"]}])
    (scenario,) = load_file(tmp_path / "x.scenario.yaml", program.render())
    assert scenario.reference_only == "why"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"budget": None}, "--budget"),
    ({"budget": -1.0}, "--budget"),
    ({"budget": None, "examples": 0}, "--budget"),
    ({"max_steps": 0}, "--max-steps"),
])
def test_bad_options_are_one_line_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ExploreOptions(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "parsed"), [
    ("60s", (60.0, None)), ("90", (90.0, None)), ("2m", (120.0, None)),
    ("1.5 min", (90.0, None)), ("200x", (None, 200)), ("5 examples", (None, 5)),
])
def test_budgets(text: str, parsed: tuple[float | None, int | None]) -> None:
    from harness.commands.explore import parse_budget

    assert parse_budget(text) == parsed


@pytest.mark.parametrize("text", ["", "soon", "0s", "-5", "10 seconds please"])
def test_a_bad_budget_is_named(text: str) -> None:
    from harness.commands.explore import parse_budget

    with pytest.raises(ConfigError, match=r"^--budget '.*': expected"):
        parse_budget(text)


def test_the_stream_expected_is_the_one_the_cast_sends() -> None:
    """The explorer's expectations and the simulated drone's script agree on the order (a
    script interleaves its kinds unless told not to: a clean relay once failed here)."""
    from harness.explore.expectations import script_kinds
    from harness.explore.program import SCRIPT
    from harness.scenario.actors import make_script
    from harness.sim.script import stream_events

    sent = [event for event, _ in stream_events(make_script(SCRIPT), "w" * 24, "c" * 24)]
    assert sent == [*script_kinds(), "workOrderComplete"]
