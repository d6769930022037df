"""Choosing an environment by name, and the errors for bad options."""

from __future__ import annotations

import pytest

from harness.env import ExternalEnvironment, LocalEnvironment, open_environment
from harness.errors import ConfigError


def test_local_kind_builds_local_environment() -> None:
    assert isinstance(open_environment("local"), LocalEnvironment)


def test_external_kind_needs_relay_url_and_mongo_uri() -> None:
    with pytest.raises(ConfigError, match="--env external needs --relay-url, --mongo-uri"):
        open_environment("external", database="gadget")


def test_external_rejects_a_relay_url_without_scheme() -> None:
    with pytest.raises(ConfigError, match="--relay-url: expected http"):
        open_environment("external", relay_url="localhost:8080",
                         mongo_uri="mongodb://h", database="gadget")


def test_external_describe_masks_the_password() -> None:
    env = open_environment("external", relay_url="http://127.0.0.1:1",
                           mongo_uri="mongodb://u:pw@h/x", database="gadget")
    assert isinstance(env, ExternalEnvironment)
    assert "pw" not in env.describe()
    assert not env.supports_restart


def test_unknown_kind_lists_the_choices() -> None:
    with pytest.raises(ConfigError, match="unknown environment 'cloud'; choose from local"):
        open_environment("cloud")
