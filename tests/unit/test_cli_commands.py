"""Every subcommand in the lazy command table loads and answers --help."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from harness.cli import harness
from harness.commands import COMMANDS


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_subcommand_loads_and_shows_help(name: str) -> None:
    result = CliRunner().invoke(harness, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: harness {name}")


def test_unknown_subcommand_is_refused_with_its_name() -> None:
    result = CliRunner().invoke(harness, ["nope"])
    assert result.exit_code == 2
    assert "No such command 'nope'" in result.output


def test_locust_master_and_worker_exclude_each_other() -> None:
    result = CliRunner().invoke(harness, ["locust", "--master", "--worker"])
    assert result.exit_code == 2
    assert "Error: --master and --worker exclude each other" in result.output
