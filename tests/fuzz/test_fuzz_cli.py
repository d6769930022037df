"""Fuzz ``harness run``'s arguments and ``GADGET_*`` variables: every refusal is one line
and an exit status, never a traceback.

In process through ``harness.cli.main`` (what the console script runs), stopped before
anything starts: ``--env external`` without ``--relay-url`` is refused after the options,
the variables, the scenario file and ``-k`` were all read.
"""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.cli import main

SCENARIO = "name: one\ntags: [smoke]\nactors: {ide: {ide: {}}}\nsteps:\n  - connect: ide\n"
VARIABLES = ("GADGET_DRONE_ACK_TIMEOUT", "GADGET_TERMINATION_ACK_TIMEOUT", "GADGET_LOG_LEVEL",
             "GADGET_REGRESSIONS", "GADGET_VARIANTS", "GADGET_DATABASE", "GADGET_MONGO_URI",
             "GADGET_ADMIN_TOKEN", "GADGET_RELAY_PROFILE", "GADGET_TERMINATION_POLL_TIMEOUT")
FLAGS = ("--drone-ack-timeout", "--termination-ack-timeout", "--log-level", "--regress",
         "--variant", "--database", "--mongo-uri", "--admin-token", "--relay-profile",
         "--report", "--junit-xml", "-k")

# Text a shell can put in argv or the environment: no NUL, no lone surrogates.
_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                max_size=40)
_words = st.sampled_from(["smoke", "not", "and", "or", "(", ")", "one", "x", "", "-1", "1e9",
                          "nan", "inf", "0", "DEBUG", "lookup-by-socket-id", "[/x]", "*"])
_value = st.one_of(_text, _words)


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fuzz-cli") / "one.scenario.yaml"
    path.write_text(SCENARIO)
    return path


def _run(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    runner = CliRunner()
    with runner.isolation(env=env) as (out, err, *_):
        try:
            main(argv)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # what a user would see as a traceback
            return -1, traceback.format_exc()
        return code, out.getvalue().decode(errors="replace") + err.getvalue().decode(
            errors="replace")


@settings(max_examples=300)  # cheap (~2 ms a case): a larger share of the budget
@given(flags=st.lists(st.tuples(st.sampled_from(FLAGS), _value), max_size=4),
       variables=st.dictionaries(st.sampled_from(VARIABLES), _text, max_size=4))
def test_run_refuses_bad_arguments_and_variables_in_one_line(
        scenario_file: Path, flags: list[tuple[str, str]], variables: dict[str, str]) -> None:
    argv = ["run", str(scenario_file), "--env", "external"]
    for flag, value in flags:
        argv += [flag, value]
    code, output = _run(argv, variables)
    assert code != -1, output
    assert code in (2, 5), output  # refused (usage or harness error), or nothing selected
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if line.startswith(("error:", "Error:"))]
    assert len(errors) <= 1, output
