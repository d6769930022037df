"""The seed CLI's refusals that need no database, and duration parsing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.commands.seed import seed_group
from harness.errors import ConfigError
from seed.durations import format_duration, parse_duration

# Nothing listens here: any attempt to connect would fail, so these refusals come first.
NOWHERE = ["--mongo-uri", "mongodb://127.0.0.1:9/"]


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(seed_group, [*args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(("text", "expected"), [
    ("30s", timedelta(seconds=30)), ("30m", timedelta(minutes=30)), ("2h", timedelta(hours=2)),
    ("1d", timedelta(days=1)), ("1w", timedelta(weeks=1)), ("1h30m", timedelta(minutes=90)),
    (" 2H ", timedelta(hours=2)), ("1.5h", timedelta(minutes=90)),
])
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "2", "h", "2x", "-2h", "2h-", "two hours"])
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(ConfigError, match=r"--older-than: .* is not a duration; write e\.g\."):
        parse_duration(text, what="--older-than")


def test_parse_duration_refuses_zero() -> None:
    with pytest.raises(ConfigError, match="must be more than zero"):
        parse_duration("0m")


def test_format_duration() -> None:
    assert [format_duration(timedelta(seconds=s))
            for s in (0, 5, 250, 3900, 7200, 183600, 86400)] == [
        "0s", "5s", "4m10s", "1h05m", "2h", "2d03h", "1d"]


def test_gc_without_older_than_refuses_to_run() -> None:
    code, out, err = _run("gc", *NOWHERE)
    assert code == 2 and out == ""
    assert "Missing option '--older-than'" in err


@pytest.mark.parametrize(("value", "message"), [
    ("0h", "must be more than zero"), ("soon", "'soon' is not a duration"),
])
def test_gc_refuses_a_bad_duration(value: str, message: str) -> None:
    code, _, err = _run("gc", "--older-than", value, *NOWHERE)
    assert code == 2 and message in err and "--older-than" in err


def test_seeding_flags_are_refused_with_a_subcommand() -> None:
    code, _, err = _run("--drones", "4", "--run-id", "x", "list", *NOWHERE)
    assert code == 2
    assert "--drones, --run-id: only when seeding, not with `list`" in err


@pytest.mark.parametrize(("args", "message"), [
    (["--drones", "-1"], "Invalid value for '--drones'"),
    (["--users", "0"], "Invalid value for '--users'"),
    (["--providers", "0"], "error: spec field providersPerUser (--providers)"),
    (["--run-id", "a b"], "error: --run-id 'a b': must be 1 to 64"),
    (["--run-id", ""], "error: --run-id '': must be 1 to 64"),
    (["--faker-seed", "x"], "Invalid value for '--faker-seed'"),
])
def test_bad_seeding_flags_name_the_flag(args: list[str], message: str) -> None:
    code, out, err = _run(*args, *NOWHERE)
    assert code == 2 and out == ""
    assert message in err
    assert "Traceback" not in err


def test_bad_spec_file_names_the_file_and_field(tmp_path: Path) -> None:
    spec = tmp_path / "big.yaml"
    spec.write_text("users: 2\ndronesPerUser: many\n")
    code, out, err = _run("--spec", str(spec), *NOWHERE)
    assert code == 2 and out == ""
    assert err.startswith(f"error: {spec}: spec field dronesPerUser (--drones)")
    assert len(err.strip().splitlines()) == 1


def test_unknown_spec_field(tmp_path: Path) -> None:
    spec = tmp_path / "s.json"
    spec.write_text('{"usres": 2}')
    code, _, err = _run("--spec", str(spec), *NOWHERE)
    assert code == 2 and "unknown field 'usres'" in err


def test_cleanup_of_a_missing_or_broken_file_names_it(tmp_path: Path) -> None:
    code, _, err = _run("cleanup", str(tmp_path / "world.json"), *NOWHERE)
    assert code == 2 and "world.json: no such file" in err
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "gadget-harness/world", "version": 1}')
    code, _, err = _run("cleanup", str(broken), *NOWHERE)
    assert code == 2 and f"error: {broken}: runId: missing" in err
    code, _, err = _run("cleanup", "not a run id", *NOWHERE)
    assert code == 2 and "error: RUN_ID 'not a run id'" in err


def test_out_into_a_missing_directory_is_refused_before_seeding(tmp_path: Path) -> None:
    code, _, err = _run("--out", str(tmp_path / "nope" / "w.json"), *NOWHERE)
    assert code == 2 and "does not exist" in err
