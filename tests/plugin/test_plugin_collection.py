"""The plugin collects scenario files as items: tags as markers, -k, located load errors."""

from __future__ import annotations

import pytest

GOOD = """\
name: {name}
tags: [{tags}]
actors: {{ide: {{ide: {{}}}}}}
steps:
  - connect: ide
"""


@pytest.fixture(autouse=True)
def quiet_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")


@pytest.fixture
def scenario_dir(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".scenario.yaml", locking=GOOD.format(name="lock race", tags="locking")
                      + "---\n" + GOOD.format(name="lock again", tags="locking, slow"))
    pytester.makefile(".scenario.yaml", stream=GOOD.format(name="in order", tags="delivery"))
    return pytester


def test_each_scenario_is_an_item(scenario_dir: pytest.Pytester) -> None:
    result = scenario_dir.runpytest("--collect-only", "-q", "--strict-markers")
    result.stdout.fnmatch_lines([
        "locking.scenario.yaml::lock race",
        "locking.scenario.yaml::lock again",
        "stream.scenario.yaml::in order",
        "3 tests collected*",
    ])
    assert result.ret == 0


def test_tags_are_markers_even_with_strict_markers(scenario_dir: pytest.Pytester) -> None:
    result = scenario_dir.runpytest("--collect-only", "-q", "--strict-markers",
                                    "-m", "locking and not slow")
    result.stdout.fnmatch_lines(["locking.scenario.yaml::lock race", "1/3 tests collected*"])


def test_k_selects_by_name(scenario_dir: pytest.Pytester) -> None:
    result = scenario_dir.runpytest("--collect-only", "-q", "-k", "order")
    result.stdout.fnmatch_lines(["stream.scenario.yaml::in order", "1/3 tests collected*"])


def test_a_bad_file_is_a_collection_error_naming_file_line_and_step(
        pytester: pytest.Pytester) -> None:
    pytester.makefile(".scenario.yaml", bad="name: b\nactors: {ide: {ide: {}}}\nsteps:\n"
                                            "  - emit: {actor: ide, event: x, acks: {}}\n")
    result = pytester.runpytest("-q")
    result.stdout.fnmatch_lines([
        "*ERROR collecting bad.scenario.yaml*",
        "bad.scenario.yaml:4: step 1 (emit): unknown field 'acks'; allowed: actor, event, "
        "payload, ack, no_ack, may_ignore, timeout, negative, may_drop",
    ])
    assert "Traceback" not in result.stdout.str()
    assert result.ret == pytest.ExitCode.INTERRUPTED


def test_options_and_ini_keys_are_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines([
        "Gadget Harness scenarios and fixtures:",
        "*--harness-env=HARNESS_ENV*",
        "*--harness-relay-profile=HARNESS_RELAY_PROFILE*",
        "*--harness-relay-url=HARNESS_RELAY_URL*",
        "*--harness-mongo-uri=HARNESS_MONGO_URI*",
        "*--harness-database=HARNESS_DATABASE*",
        "*--harness-admin-token=HARNESS_ADMIN_TOKEN*",
        "*harness_env (string):*",
        "*harness_mongo_uri (string):*",
    ])


def test_plain_tests_load_nothing_heavy(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import sys

        def test_light():
            heavy = [m for m in sys.modules
                     if m.startswith(("harness.scenario", "harness.env", "harness.sim",
                                      "fixtures._support"))]
            assert heavy == []
    """)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_a_relay_profile_outside_compose_is_one_line(scenario_dir: pytest.Pytester) -> None:
    result = scenario_dir.runpytest("-p", "no:cacheprovider", "--harness-relay-profile",
                                    "relay.yaml")
    result.assert_outcomes(failed=3)  # every item says why, in one line
    result.stdout.fnmatch_lines(["ConfigError: --harness-relay-profile relay.yaml: applies to "
                                 "--harness-env compose, not local"] * 3)
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
