"""RelaySettings validation and its environment-variable form."""

from __future__ import annotations

import pytest

from harness.errors import ConfigError
from harness.settings import RelaySettings, env_default


def test_unknown_regression_switch_is_named() -> None:
    with pytest.raises(ConfigError, match="--regress: unknown switch nope"):
        RelaySettings(regressions=frozenset({"nope"}))


@pytest.mark.parametrize("field", ["drone_ack_timeout", "termination_ack_timeout",
                                   "termination_poll_timeout", "termination_poll_interval"])
def test_timeouts_must_be_positive(field: str) -> None:
    with pytest.raises(ConfigError, match="--" + field.replace("_", "-")):
        RelaySettings(**{field: 0})  # type: ignore[arg-type]


def test_port_range() -> None:
    with pytest.raises(ConfigError, match="--port"):
        RelaySettings(port=70000)


def test_to_env_round_trips_every_set_field() -> None:
    settings = RelaySettings(port=0, admin_token="t",
                             regressions=frozenset({"no-termination-handler",
                                                    "lookup-by-socket-id"}))
    env = settings.to_env()
    assert env["GADGET_PORT"] == "0"
    assert env["GADGET_ADMIN_TOKEN"] == "t"
    assert env["GADGET_REGRESSIONS"] == "lookup-by-socket-id no-termination-handler"
    assert "GADGET_DRONE_ACK_TIMEOUT" in env


def test_to_env_leaves_out_unset_admin_token() -> None:
    assert "GADGET_ADMIN_TOKEN" not in RelaySettings().to_env()


def test_env_default_reads_prefixed_variable() -> None:
    assert env_default("mongo_uri", "d", {"GADGET_MONGO_URI": "mongodb://x"}) == "mongodb://x"
    assert env_default("mongo_uri", "d", {}) == "d"
