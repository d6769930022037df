"""Validation of StreamScript and DroneBehaviour, and client argument checks."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from harness.errors import ConfigError, HarnessError
from harness.sim import DroneBehaviour, HttpActor, MessageHistory, SimDrone, SimIDE, StreamScript


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("thinking", -1, "StreamScript.thinking must be an integer >= 0, got -1"),
        ("responses", 1.5, "StreamScript.responses must be an integer >= 0, got 1.5"),
        ("tool_calls", True, "StreamScript.tool_calls must be an integer >= 0, got True"),
        ("text_size", "32", "StreamScript.text_size must be an integer >= 0, got '32'"),
        ("pacing", -0.1, "StreamScript.pacing must be a number >= 0, got -0.1"),
        ("pacing", float("nan"), "StreamScript.pacing must be a number >= 0"),
        ("interleave", "yes", "StreamScript.interleave must be true or false"),
        ("final_status", "done", "StreamScript.final_status must be one of"),
        ("summary", 3, "StreamScript.summary must be a string"),
    ],
)
def test_stream_script_rejects(field: str, value: Any, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        StreamScript(**{field: value})
    assert fragment in str(info.value)


def test_stream_script_accepts_edges() -> None:
    script = StreamScript(
        thinking=0, responses=0, tool_calls=0, text_size=0, pacing=0, final_status=None
    )
    assert script.event_count == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("on_lock", "maybe"),
        ("on_release", "refuse"),  # release can only be accepted or ignored
        ("on_prompt", "later"),
        ("on_termination", None),
    ],
)
def test_drone_behaviour_rejects_unknown_answers(field: str, value: Any) -> None:
    with pytest.raises(ConfigError) as info:
        DroneBehaviour(**{field: value})
    message = str(info.value)
    assert f"DroneBehaviour.{field} must be one of" in message
    assert repr(value) in message


def test_drone_behaviour_rejects_a_non_script() -> None:
    with pytest.raises(ConfigError, match=r"DroneBehaviour\.script must be a StreamScript"):
        DroneBehaviour(script={"thinking": 1})  # type: ignore[arg-type]


def test_drone_behaviour_variants_with_replace() -> None:
    base = DroneBehaviour()
    refusing = dataclasses.replace(base, on_lock="refuse")
    assert refusing.on_lock == "refuse" and base.on_lock == "accept"
    with pytest.raises(ConfigError):
        dataclasses.replace(base, on_prompt="nope")  # type: ignore[arg-type]


def test_config_errors_are_harness_errors() -> None:
    assert issubclass(ConfigError, HarnessError)


def test_clients_reject_bad_transport_and_url() -> None:
    history = MessageHistory()
    with pytest.raises(ConfigError, match="transport must be 'websocket' or 'polling'"):
        SimIDE("ide", "http://127.0.0.1:1", token="t", history=history, transport="carrier-pigeon")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="relay URL must start with http"):
        SimIDE("ide", "127.0.0.1:1", token="t", history=history)
    with pytest.raises(ConfigError, match="relay URL"):
        HttpActor("http", "ws://127.0.0.1:1", history)


def test_drone_behaviour_assignment_is_checked() -> None:
    drone = SimDrone(
        "d",
        "http://127.0.0.1:1",
        registration_id="c" * 24,
        token="secret",
        history=MessageHistory(),
    )
    drone.behaviour = DroneBehaviour(on_lock="ignore")
    assert drone.behaviour.on_lock == "ignore"
    with pytest.raises(ConfigError, match="behaviour must be a DroneBehaviour"):
        drone.behaviour = "refuse"  # type: ignore[assignment]


def test_repr_never_shows_the_token() -> None:
    drone = SimDrone(
        "d",
        "http://127.0.0.1:1",
        registration_id="c" * 24,
        token="very-secret-token",
        history=MessageHistory(),
    )
    ide = SimIDE("i", "http://127.0.0.1:1", token="very-secret-token", history=MessageHistory())
    assert "very-secret-token" not in repr(drone)
    assert "very-secret-token" not in repr(ide)
    assert drone.sid is None and not drone.connected
    assert dict(drone.work_orders) == {}
