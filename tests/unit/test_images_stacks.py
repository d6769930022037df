"""Compose project names: unique per run, owned by a pid, recognisably stale."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from harness.env.compose import ComposeEnvironment
from harness.errors import ConfigError
from harness.images.build import BuildOptions, Images
from harness.images.probe import main as probe_main
from harness.images.stacks import is_stale, new_project_name, owner_pid

# What compose accepts as a project name.
_COMPOSE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def test_names_are_valid_unique_and_carry_the_owner() -> None:
    names = {new_project_name() for _ in range(50)}
    assert len(names) == 50
    for name in names:
        assert _COMPOSE_NAME.match(name)
        assert owner_pid(name) == os.getpid()


def test_only_our_names_with_a_dead_owner_are_stale() -> None:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    dead = int(child.stdout)
    assert is_stale(new_project_name(pid=dead))
    assert not is_stale(new_project_name())
    assert not is_stale("gadget-harness")  # the compose file's own name: a user's stack
    assert not is_stale("otherproject-1-abcdef")
    assert owner_pid("gadgetharness-12-XYZ") is None


def test_each_environment_gets_its_own_project() -> None:
    assert ComposeEnvironment().project != ComposeEnvironment().project


def test_bad_database_choice_names_the_option() -> None:
    with pytest.raises(ConfigError, match="--database-server: expected one of auto"):
        ComposeEnvironment(database_server="postgres")
    with pytest.raises(ConfigError, match="--database-image: expected one of"):
        BuildOptions(database="postgres")  # type: ignore[arg-type]


def test_summary_says_which_database_was_used() -> None:
    mongo = Images("b", "r", "mongo:7", "mongo")
    standin = Images("b", "r", "gadget-harness/standin:1", "standin")
    assert mongo.describe_database() == "MongoDB (mongo:7)"
    assert standin.describe_database().startswith("MongoDB wire-protocol stand-in")


def test_probe_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert probe_main(["ftp", "x"]) == 2
    assert "usage:" in capsys.readouterr().err
    assert probe_main(["mongo", "no-port"]) == 1
    assert "expected HOST:PORT" in capsys.readouterr().err
