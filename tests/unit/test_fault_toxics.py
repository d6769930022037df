"""Toxic parameters are checked on creation: a bad one raises ``ToxicError`` (a
``ConfigError`` and a ``ValueError``) whose one line names the toxic and the parameter."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness import faults
from harness.errors import ConfigError
from harness.faults import (
    FaultProxy,
    Latency,
    Toxic,
    ToxicError,
    bandwidth,
    latency,
    limit_data,
    partition,
    reset_peer,
    slicer,
    slow_close,
    timeout,
)

BAD: list[tuple[Callable[..., Any], dict[str, Any], str]] = [
    (latency, {"ms": -1}, "latency 'latency_downstream': ms must be a number >= 0, got -1"),
    (latency, {"ms": 10, "jitter_ms": "5"}, "jitter_ms"),
    (latency, {"ms": float("nan")}, "ms must be a number"),
    (bandwidth, {"kb_per_s": 0}, "bandwidth 'bandwidth_downstream': kb_per_s must be a number > 0"),
    (timeout, {"ms": -5}, "timeout 'timeout_downstream': ms"),
    (reset_peer, {"ms": True}, "reset_peer 'reset_peer_downstream': ms"),
    (slow_close, {"ms": None}, "slow_close 'slow_close_downstream': ms"),
    (slicer, {"average_size": 0}, "slicer 'slicer_downstream': average_size"),
    (slicer, {"average_size": 10, "size_variation": 10}, "size_variation must be smaller"),
    (slicer, {"average_size": 10.5}, "must be integers"),
    (slicer, {"average_size": 10, "delay_us": -1}, "delay_us"),
    (limit_data, {"bytes": -1}, "limit_data 'limit_data_downstream': bytes must be an integer"),
    (latency, {"ms": 1, "direction": "up"}, "direction must be 'upstream' or 'downstream'"),
    (latency, {"ms": 1, "toxicity": 1.5}, "toxicity must be between 0 and 1, got 1.5"),
    (latency, {"ms": 1, "name": ""}, "latency: name must be a non-empty string"),
]


@pytest.mark.parametrize(("make", "params", "message"), BAD)
def test_bad_parameters_name_the_toxic_and_the_parameter(
        make: Callable[..., Any], params: dict[str, Any], message: str) -> None:
    with pytest.raises(ToxicError) as caught:
        make(**params)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, ConfigError)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(("make", "params", "param"), [
    (latency, {"ms": -1}, "ms"),
    (latency, {"ms": 10, "jitter_ms": "5"}, "jitter_ms"),
    (bandwidth, {"kb_per_s": 0}, "kb_per_s"),
    (slicer, {"average_size": 10.5}, "average_size"),
    (slicer, {"average_size": 10, "size_variation": 1.5}, "size_variation"),
    (slicer, {"average_size": 10, "size_variation": 10}, "size_variation"),
    (limit_data, {"bytes": -1}, "bytes"),
    (latency, {"ms": 1, "direction": "up"}, "direction"),
    (latency, {"ms": 1, "toxicity": 1.5}, "toxicity"),
    (latency, {"ms": 1, "name": ""}, "name"),
])
def test_a_bad_parameter_is_named_in_the_error(
        make: Callable[..., Any], params: dict[str, Any], param: str) -> None:
    with pytest.raises(ToxicError) as caught:
        make(**params)
    assert caught.value.param == param


def test_every_toxic_is_listed_by_kind_with_its_own_parameters() -> None:
    kinds = {v for v in vars(faults).values()
             if isinstance(v, type) and issubclass(v, Toxic) and v is not Toxic}
    assert set(faults.TOXICS.values()) == kinds
    assert all(faults.TOXICS[kind.kind] is kind for kind in kinds)
    assert faults.parameters(faults.Latency) == {"ms": True, "jitter_ms": False}
    assert faults.parameters(faults.Slicer) == {
        "average_size": True, "size_variation": False, "delay_us": False}
    assert faults.parameters(faults.LimitData) == {"bytes": True}


def test_toxics_are_frozen_and_named_after_kind_and_direction() -> None:
    toxic = latency(100, 10, direction="upstream")
    assert toxic == Latency(name="latency_upstream", direction="upstream", ms=100, jitter_ms=10)
    assert toxic.kind == "latency"
    assert slicer(8, 2, name="chop").name == "chop"
    with pytest.raises(AttributeError):
        toxic.ms = 1  # type: ignore[misc]


def test_proxy_controls_check_their_arguments() -> None:
    proxy = FaultProxy("127.0.0.1", 9)
    proxy.add(latency(1))
    with pytest.raises(ToxicError, match="already has a toxic of that name"):
        proxy.add(latency(2))
    with pytest.raises(ToxicError, match=r"no toxic named 'nope'; in force: latency_downstream"):
        proxy.remove("nope")
    with pytest.raises(ToxicError, match="stall: direction must be"):
        proxy.stall("sideways")  # type: ignore[arg-type]
    with pytest.raises(ToxicError, match="partition: needs at least one proxy"):
        partition([])
    with pytest.raises(ToxicError, match="not listening"):
        _ = proxy.port


def test_the_docs_table_names_every_toxic_and_its_parameters() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "faults.md").read_text(encoding="utf-8")
    kinds = [v for v in vars(faults).values()
             if isinstance(v, type) and issubclass(v, Toxic) and v is not Toxic]
    base = {f.name for f in dataclasses.fields(Toxic)}
    for kind in kinds:
        row = next((line for line in doc.splitlines()
                    if line.startswith(f"| `{kind.kind}` |")), None)
        assert row is not None, f"docs/faults.md has no row for {kind.kind}"
        for field in dataclasses.fields(kind):
            if field.name not in base:
                assert f"`{field.name}" in row, f"{kind.kind}: {field.name} not in {row}"
