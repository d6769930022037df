"""``harness explore`` live: the reference relay, clean and with a switch, found and shrunk to
a scenario file that ``harness run`` reproduces; the example database; the command line."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from pathlib import Path
from typing import Any

import yaml
from _harness_cli import run_harness as harness

from harness.env import LocalEnvironment
from harness.explore.explorer import RELAY_TIMEOUTS
from harness.outcome.facts import Fact
from harness.scenario import load_file, run_scenario
from harness.selftest import diagnosis_of
from harness.settings import RelaySettings

SWITCH = "lookup-by-socket-id"
TIMEOUTS = ("--drone-ack-timeout", "1", "--termination-ack-timeout", "1",
            "--termination-poll-timeout", "3")


def _env(*switches: str) -> LocalEnvironment:
    settings: dict[str, Any] = dict(RELAY_TIMEOUTS)
    return LocalEnvironment(dataclasses.replace(RelaySettings(), **settings,
                                                regressions=frozenset(switches)))


async def _run_file(file: Path, env: LocalEnvironment) -> tuple[str, tuple[Fact, ...]]:
    (scenario,) = load_file(file)
    await env.start()
    try:
        result = await run_scenario(scenario, env)
    finally:
        await env.stop()
    return result.status, (result.failure.facts if result.failure else ())


def _explore(*args: str) -> tuple[str, Path | None]:
    """``harness explore`` in a child process (the explorer's private event loop and what
    it leaves for the garbage collector stay out of the test session): its output, and the
    scenario it wrote, if any."""
    done = harness("explore", "-q", *args)
    assert done.returncode in (0, 1), done.stdout + done.stderr
    found = re.search(r"^shrunk to \d+ actions, \d+ steps: (\S+)$", done.stdout, re.M)
    assert (done.returncode == 1) == (found is not None), done.stdout
    return done.stdout, Path(found.group(1)) if found else None


async def test_a_switch_is_found_shrunk_and_written_as_a_scenario_that_reproduces_it(
        tmp_path: Path) -> None:
    options = ("--regress", SWITCH, "--budget", "30x", "--seed", "1", "--shrink-budget", "10",
               "--out", str(tmp_path), *TIMEOUTS)
    out, file = await asyncio.to_thread(_explore, *options)
    assert file is not None, out
    assert f"harness run {file}: fails again" in out
    assert file.parent == tmp_path and file.name.endswith(".scenario.yaml")
    text = file.read_text()
    assert "(--seed 1)" in text and "The model of the contract expected: " in text
    assert f"harness run {file}" in text
    assert yaml.safe_load(text)["tags"] == ["explore"]
    actions = re.search(r"shrunk by Hypothesis to (\d+) actions", text)
    assert actions is not None and 1 <= int(actions.group(1)) <= 13
    # The written file fails on the switch with a failure that names the problem, and
    # passes on the clean relay.
    # On the session's event loop, as every scenario of the suite runs.
    status, facts = await _run_file(file, _env(SWITCH))
    assert status == "failed"
    assert diagnosis_of(SWITCH).clue_in(facts) is not None, facts
    status, _ = await _run_file(file, _env())
    assert status == "passed"
    # Hypothesis's example database, under --out, tries the failure first next time.
    again, _ = await asyncio.to_thread(
        _explore, *options[:-len(TIMEOUTS)], "--shrink-budget", "3", *TIMEOUTS)
    assert re.search(r"^FOUND in example 1, after ", again, re.M), again


def test_the_clean_relay_gives_no_false_alarm(tmp_path: Path) -> None:
    out, file = _explore("--budget", "12s", "--seed", "3", "--no-database", "--out",
                         str(tmp_path), *TIMEOUTS)
    assert file is None and re.search(r"^nothing found: \d+ examples, \d+ steps in ", out, re.M)
    assert not list(tmp_path.glob("*.scenario.yaml"))


def test_the_command_exits_0_when_nothing_is_found_and_names_a_bad_budget(
        tmp_path: Path) -> None:
    done = harness("explore", "--budget", "3x", "--seed", "4", "--out", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "nothing found: 3 examples" in done.stdout
    assert "example 1: passed" in done.stdout
    bad = harness("explore", "--budget", "soon")
    assert bad.returncode == 2
    assert bad.stderr.strip() == ("error: --budget 'soon': expected seconds (60s, 2m) or a "
                                  "number of examples (200x)")


async def test_against_an_external_relay_it_asks_only_for_the_contract(tmp_path: Path) -> None:
    """Not the reference relay with its own choices: no reference-only answer is asked for,
    no relay restart is tried, and the relay's timeouts are the ones stated."""
    async with _env() as env:
        done = await asyncio.to_thread(
            harness, "explore", "--env", "external", "--relay-url", env.relay_url,
            "--mongo-uri", env.mongo_uri, "--database", env.database,
            "--admin-token", env.admin_token or "", "--drone-ack-timeout", "1",
            "--termination-ack-timeout", "1", "--termination-poll-timeout", "3",
            "--ping-interval", "2", "--ping-timeout", "3",
            "--budget", "3x", "--seed", "2", "--out", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "environment: external: relay at http://127.0.0.1:" in done.stdout
    assert "nothing found: 3 examples" in done.stdout
