"""Relay profiles: what a foreign relay's file must say, and the compose layer made from it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from harness.env.compose import profile_layer
from harness.env.profile import RelayProfile, load_profile
from harness.errors import ConfigError
from harness.settings import RelayTimeouts

FULL = """\
image: acme/gadget-web:candidate
override: extra.yml
services: {relay: web, database: db}
port: 3000
database_port: 27018
ready: /health
ready_timeout: 30
env: {mongo_uri: MONGODB_URL, database: MONGODB_DB, admin_token: DEBUG_TOKEN}
environment: {NODE_ENV: test, DRONE_ACK_MS: 2000, VERBOSE: true}
database: acme
timeouts: {drone_ack_timeout: 2, termination_poll_timeout: 12.5}
"""


def write(tmp_path: Path, text: str, name: str = "relay.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_a_full_profile_is_read_with_paths_relative_to_it(tmp_path: Path) -> None:
    (tmp_path / "extra.yml").write_text("services: {}\n")
    profile = load_profile(write(tmp_path, FULL))
    assert profile.image == "acme/gadget-web:candidate"
    assert profile.compose is None and profile.override == (tmp_path / "extra.yml").resolve()
    assert (profile.relay_service, profile.database_service) == ("web", "db")
    assert (profile.port, profile.database_port, profile.ready) == (3000, 27018, "/health")
    assert profile.ready_timeout == 30.0 and profile.database == "acme"
    assert profile.environment == {"NODE_ENV": "test", "DRONE_ACK_MS": "2000", "VERBOSE": "true"}
    assert profile.timeouts == RelayTimeouts(drone_ack_timeout=2, termination_ack_timeout=5,
                                             termination_poll_timeout=12.5)
    assert profile.timeouts_given == {"drone_ack_timeout", "termination_poll_timeout"}


def test_defaults_of_a_minimal_profile(tmp_path: Path) -> None:
    profile = load_profile(write(tmp_path, "image: r:1\nenv: {mongo_uri: DB}\n"))
    assert (profile.relay_service, profile.database_service, profile.port) == \
        ("relay", "mongo", 8080)
    assert profile.ready == "/healthz" and profile.timeouts == RelayTimeouts()


@pytest.mark.parametrize(("text", "error"), [
    ("imgae: r:1\n", "relay.yaml:1: imgae: unknown key; known: image, compose"),
    ("env: {mongo_uri: DB}\n", "relay.yaml:1: give the relay as image: (run on the harness's "
                               "compose file) or compose: (your own)"),
    ("image: r:1\n", "relay.yaml:1: env: mongo_uri: needed with image:"),
    ("image: r:1\nenv: {mongo_uri: DB, token: T}\n", "relay.yaml:2: env.token: unknown key; "
                                                     "known: mongo_uri, database, admin_token"),
    ("image: r:1\nenv:\n  mongo_uri: has space\n",
     "relay.yaml:3: env.mongo_uri: expected an environment variable name, got 'has space'"),
    ("image: r:1\nenv: {mongo_uri: DB}\nport: 70000\n",
     "relay.yaml:3: port: expected a port 1..65535, got 70000"),
    ("image: r:1\nenv: {mongo_uri: DB}\nready: healthz\n",
     "relay.yaml:3: ready: expected an HTTP path such as /healthz"),
    ("image: r:1\nenv: {mongo_uri: DB}\ntimeouts:\n  drone_ack: 3\n",
     "relay.yaml:4: timeouts.drone_ack: unknown timeout; known: drone_ack_timeout"),
    ("image: r:1\nenv: {mongo_uri: DB}\ntimeouts:\n  drone_ack_timeout: -1\n",
     "relay.yaml:4: timeouts.drone_ack_timeout: expected seconds > 0, got -1"),
    ("compose: nope.yml\n", "relay.yaml:1: compose: no such file: "),
    ("image: r:1\nenvironment: {A: [1]}\nenv: {mongo_uri: DB}\n",
     "relay.yaml:2: environment.A: expected a text or number"),
    ("- image: r:1\n", "relay.yaml:1: a relay profile is one YAML mapping"),
    ("image: r:1\nimage: r:2\n", "relay.yaml:2: duplicate key"),
])
def test_bad_profiles_say_file_line_and_what_is_wrong(tmp_path: Path, text: str,
                                                      error: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_profile(write(tmp_path, text))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(tmp_path / "relay.yaml").removesuffix("relay.yaml"))
    assert error in message


def test_a_missing_profile_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope.yaml: cannot read: No such file"):
        load_profile(tmp_path / "nope.yaml")


def test_the_layer_publishes_loopback_ports_and_hands_over_under_the_relays_names(
        tmp_path: Path) -> None:
    (tmp_path / "extra.yml").write_text("services: {}\n")
    profile = load_profile(write(tmp_path, FULL))
    text = profile_layer(profile, 41000, 41001, "acme", "s3cret")
    assert "ports: !override" in text  # replaces the user's ports instead of adding to them

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!override", lambda loader, node: loader.construct_sequence(node))
    layer = yaml.load(text, Loader=Loader)
    web, db = layer["services"]["web"], layer["services"]["db"]
    assert web["image"] == "acme/gadget-web:candidate"
    assert web["ports"] == ["127.0.0.1:41000:3000"] and db["ports"] == ["127.0.0.1:41001:27018"]
    assert web["healthcheck"] == {"disable": True}
    assert web["environment"] == {
        "NODE_ENV": "test", "DRONE_ACK_MS": "2000", "VERBOSE": "true",
        "MONGODB_URL": "mongodb://db:27018/?directConnection=true", "MONGODB_DB": "acme",
        "DEBUG_TOKEN": "s3cret"}


def test_no_admin_token_variable_without_a_token_and_theirs_keeps_its_healthcheck() -> None:
    profile = RelayProfile(source=Path("p.yaml"), compose=Path("c.yml"),
                           env={"mongo_uri": "DB", "admin_token": "TOKEN"})
    text = profile_layer(profile, 1, 2, "gadget", None)
    assert "TOKEN" not in text and "healthcheck" not in text and "image" not in text


def test_the_image_may_come_from_the_environment(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "image: ${RELAY_IMAGE}\nenv: {mongo_uri: DB}\n")
    monkeypatch.setenv("RELAY_IMAGE", "acme/relay:abc123")
    assert load_profile(path).image == "acme/relay:abc123"
    monkeypatch.delenv("RELAY_IMAGE")
    with pytest.raises(ConfigError, match=r"relay.yaml:1: image: \$\{RELAY_IMAGE\} is not set"):
        load_profile(path)


def test_dollars_reach_the_relay_literally() -> None:
    profile = RelayProfile(source=Path("p.yaml"), image="r:1", env={"mongo_uri": "DB"},
                           environment={"PASSWORD": "a$b${c}"})
    assert 'PASSWORD: "a$$b$${c}"' in profile_layer(profile, 1, 2, "gadget", None)
