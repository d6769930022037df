"""``--variant``: names, validation, the environment round trip, the CLI option and the plugin."""

from __future__ import annotations

import re
from typing import Any

import click
import pytest
from _harness_cli import parse_relay_settings
from click.testing import CliRunner

from harness.commands.options import relay_settings_from, relay_tuning_options
from harness.errors import ConfigError
from harness.settings import VARIANT_DESCRIPTIONS, VARIANTS, RelaySettings, Variant

NAMES = ("error-precedence", "extra-fields", "underscore-ids", "z-timestamps", "string-dates",
         "ack-after-stream", "recovered-null", "wrong-side-ignored",
         "unknown-work-order-forwarded", "unknown-work-order-refused", "blank-prompt-accepted",
         "other-messages", "lock-pending-refused", "partial-introspection")


def test_the_names_others_depend_on() -> None:
    assert VARIANTS == NAMES
    constants = {value for key, value in vars(Variant).items() if key.isupper()}
    assert constants == set(NAMES)


def test_every_variant_has_a_one_line_description_naming_its_section() -> None:
    for name, description in VARIANT_DESCRIPTIONS.items():
        assert description and "\n" not in description, name
        assert re.fullmatch(r"\d+(\.\d+)?(, \d+(\.\d+)?)*", description.split(":")[0]), (
            name, description)


def test_an_unknown_variant_is_one_line_naming_it_and_the_choices() -> None:
    with pytest.raises(ConfigError) as caught:
        RelaySettings(variants=frozenset({"extra-fields", "nope"}))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("--variant: unknown variant nope; choose from ")
    assert all(name in message for name in NAMES)


def test_variant_tells_whether_one_is_on() -> None:
    settings = RelaySettings(variants=frozenset({Variant.Z_TIMESTAMPS}))
    assert settings.variant("z-timestamps")
    assert not settings.variant("extra-fields")
    assert not RelaySettings().variant("z-timestamps")


def test_the_option_is_repeatable_and_reads_gadget_variants() -> None:
    assert parse_relay_settings([]).variants == frozenset()
    both = parse_relay_settings(["--variant", "z-timestamps", "--variant", "recovered-null"])
    assert both.variants == {"z-timestamps", "recovered-null"}
    from_env = parse_relay_settings([], env={"GADGET_VARIANTS": "string-dates extra-fields"})
    assert from_env.variants == {"string-dates", "extra-fields"}
    assert parse_relay_settings(["--variant", "recovered-null"],
                  env={"GADGET_VARIANTS": "string-dates"}).variants == {"recovered-null"}


def test_the_option_refuses_an_unknown_name() -> None:
    @click.command()
    @relay_tuning_options
    def command(**params: Any) -> None:
        relay_settings_from(params)

    result = CliRunner().invoke(command, ["--variant", "nope"])
    assert result.exit_code == 2
    assert "nope" in result.output and "extra-fields" in result.output


def test_to_env_round_trips_through_the_option() -> None:
    settings = RelaySettings(variants=frozenset({"underscore-ids", "other-messages"}))
    env = settings.to_env()
    assert env["GADGET_VARIANTS"] == "other-messages underscore-ids"
    assert parse_relay_settings([], env=env).variants == settings.variants
    assert parse_relay_settings([], env=RelaySettings().to_env()).variants == frozenset()


def test_the_pytest_plugin_mirrors_harness_regress(pytester: pytest.Pytester) -> None:
    quiet = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
    pytester.makeini(quiet)
    pytester.makepyfile(test_options="""
        from fixtures._support import read_options

        def test_read(request):
            print("VARIANTS=" + ",".join(read_options(request.config).variants))
    """)
    result = pytester.runpytest("-s", "--harness-variant",
                                "z-timestamps", "--harness-variant", "recovered-null")
    result.stdout.fnmatch_lines(["*VARIANTS=z-timestamps,recovered-null*"])
    pytester.makeini(quiet + "harness_variant =\n    string-dates\n")
    result = pytester.runpytest("-s")
    result.stdout.fnmatch_lines(["*VARIANTS=string-dates*"])
    result = pytester.runpytest("-s", "--harness-variant", "nope")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*--harness-variant: unknown variant nope; choose from*"])
