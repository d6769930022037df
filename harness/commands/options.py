"""Click options shared by every ``harness`` command, so a flag means one thing everywhere.

Every option reads its default from ``GADGET_<NAME>`` (for instance ``GADGET_MONGO_URI``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from harness.env import ENVIRONMENT_KINDS, open_environment
from harness.env.base import Environment
from harness.env.profile import load_profile
from harness.errors import ConfigError
from harness.protocol import DEFAULT_DATABASE, Defaults
from harness.settings import REGRESSIONS, VARIANTS, Heartbeat, RelaySettings, RelayTimeouts

F = TypeVar("F", bound=Callable[..., Any])

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _compose(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    def apply(func: F) -> F:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


mongo_uri_option = click.option(
    "--mongo-uri", envvar="GADGET_MONGO_URI", default="mongodb://127.0.0.1:27017",
    show_default=True, help="MongoDB connection URI.",
)
database_option = click.option(
    "--database", envvar="GADGET_DATABASE", default=DEFAULT_DATABASE, show_default=True,
    help="MongoDB database name.",
)
admin_token_option = click.option(
    "--admin-token", envvar="GADGET_ADMIN_TOKEN", default=None,
    help="Admin token for the relay's introspection endpoint (X-Admin-Token).",
)
log_level_option = click.option(
    "--log-level", envvar="GADGET_LOG_LEVEL", default="INFO", show_default=True,
    type=click.Choice(LOG_LEVELS, case_sensitive=False), help="Logging level.",
)
relay_url_option = click.option(
    "--relay-url", envvar="GADGET_RELAY_URL", default=None,
    help="Base URL of a running relay, e.g. http://127.0.0.1:8080.",
)

mongo_options = _compose(mongo_uri_option, database_option)

relay_tuning_options = _compose(
    database_option,
    click.option("--drone-ack-timeout", envvar="GADGET_DRONE_ACK_TIMEOUT", type=float,
                 default=Defaults.DRONE_ACK_TIMEOUT, show_default=True,
                 help="The relay's wait for a drone's ack of a lock or prompt (s): set on "
                      "the reference relay, stated for any other so scenarios wait it out."),
    click.option("--termination-ack-timeout", envvar="GADGET_TERMINATION_ACK_TIMEOUT",
                 type=float, default=Defaults.TERMINATION_ACK_TIMEOUT, show_default=True,
                 help="The relay's wait for a drone's ack of requestTermination (s); as "
                      "above."),
    click.option("--termination-poll-timeout", envvar="GADGET_TERMINATION_POLL_TIMEOUT",
                 type=float, default=Defaults.TERMINATION_POLL_TIMEOUT, show_default=True,
                 help="The relay's poll for offline after an accepted termination (s); as "
                      "above."),
    click.option("--termination-exit-grace", envvar="GADGET_TERMINATION_EXIT_GRACE",
                 type=float, default=Heartbeat.TERMINATION_EXIT_GRACE, show_default=True,
                 help="Reference relay: how long a drone that accepted termination has to "
                      "go before the relay ends its session itself (s)."),
    click.option("--ping-interval", envvar="GADGET_PING_INTERVAL", type=float,
                 default=Heartbeat.PING_INTERVAL, show_default=True,
                 help="The relay's engine.io heartbeat interval (s): set on the reference "
                      "relay; stated for any other (socket.io's 25 s when not given)."),
    click.option("--ping-timeout", envvar="GADGET_PING_TIMEOUT", type=float,
                 default=Heartbeat.PING_TIMEOUT, show_default=True,
                 help="How long a ping may go unanswered before the relay counts the "
                      "client as gone (s); as above (socket.io's 20 s when not given)."),
    admin_token_option,
    log_level_option,
    click.option("--regress", "regressions", envvar="GADGET_REGRESSIONS", multiple=True,
                 type=click.Choice(REGRESSIONS),
                 help="Turn on a known bug (repeatable), to prove tests catch it."),
    click.option("--variant", "variants", envvar="GADGET_VARIANTS", multiple=True,
                 type=click.Choice(VARIANTS),
                 help="Give the other answer the contract allows on one point (repeatable): "
                      "the pack must pass either way."),
    click.option("--cors-origin", "cors_origins", envvar="GADGET_CORS_ORIGIN", multiple=True,
                 help="A browser origin allowed to call the relay, e.g. "
                      "https://ide.example.com or http://localhost:* (repeatable; '*': any, "
                      "without credentials). Default: the relay's own origin and loopback "
                      "origins."),
)
"""Relay settings that apply wherever the relay runs (not where it listens)."""

relay_options = _compose(
    click.option("--host", envvar="GADGET_HOST", default="127.0.0.1", show_default=True,
                 help="Interface to listen on."),
    click.option("--port", envvar="GADGET_PORT", default=8080, show_default=True, type=int,
                 help="Port to listen on (0 picks a free one)."),
    mongo_uri_option,
    relay_tuning_options,
)
"""Every relay setting: where it listens, its database, timeouts, admin token, switches,
variants."""


relay_profile_option = click.option(
    "--relay-profile", envvar="GADGET_RELAY_PROFILE", default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --env compose: run your relay instead of the reference one, as this YAML "
         "file describes (its image or compose file, port, variable names, readiness path, "
         "timeouts; docs/containers.md).",
)


def _stated(name: str) -> bool:
    """True when option ``name`` was given on the command line or in its variable."""
    context = click.get_current_context(silent=True)
    if context is None:
        return False
    source = context.get_parameter_source(name)
    return source in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


def stated_timeouts(params: dict[str, Any], base: RelayTimeouts) -> RelayTimeouts:
    """``base`` (a profile's timeouts) with the timeout flags the user gave on top."""
    given = {name: params[name] for name in RelayTimeouts.names()
             if name in params and _stated(name)}
    return dataclasses.replace(base, **given)


def relay_settings_from(params: dict[str, Any]) -> RelaySettings:
    """``RelaySettings`` from a command's ``relay_options`` or ``relay_tuning_options``."""
    defaults = RelaySettings()
    return RelaySettings(
        host=params.get("host", defaults.host),
        port=params.get("port", defaults.port),
        mongo_uri=params.get("mongo_uri", defaults.mongo_uri),
        database=params["database"],
        drone_ack_timeout=params["drone_ack_timeout"],
        termination_ack_timeout=params["termination_ack_timeout"],
        termination_poll_timeout=params["termination_poll_timeout"],
        termination_exit_grace=params.get("termination_exit_grace",
                                          defaults.termination_exit_grace),
        ping_interval=params.get("ping_interval", defaults.ping_interval),
        ping_timeout=params.get("ping_timeout", defaults.ping_timeout),
        admin_token=params["admin_token"],
        log_level=params["log_level"].upper(),
        regressions=frozenset(params["regressions"]),
        variants=frozenset(params.get("variants", ())),
        cors_origins=tuple(params.get("cors_origins", ())),
    )


def environment_from(kind: str, params: dict[str, Any],
                     settings: RelaySettings | None = None) -> Environment:
    """The environment a command's ``--env`` and relay options describe (unstarted).

    ``settings`` configure the reference relay (default: from the relay options). A
    ``--relay-profile`` runs the user's relay in containers instead; with ``--env external``
    the switches of the reference relay are refused and the timeout flags state the
    relay's own timeouts.
    """
    profile_path = params.get("relay_profile")
    if profile_path is not None and kind != "compose":
        raise ConfigError(f"--relay-profile {profile_path}: applies to --env compose (with "
                          f"--env {kind} state the relay's timeouts with --drone-ack-timeout "
                          "and friends)")
    if kind in ("local", "compose"):
        settings = settings or relay_settings_from(params)
        if profile_path is None:
            return open_environment(kind, settings=settings)
        profile = load_profile(profile_path)
        return open_environment(kind, settings=settings, profile=profile,
                                timeouts=stated_timeouts(params, profile.timeouts))
    switched = [f"--{flag} {value}" for flag, key in (("regress", "regressions"),
                                                      ("variant", "variants"))
                for value in params.get(key) or ()]
    if switched:
        raise ConfigError(f"{', '.join(switched)}: switches of the reference relay; with "
                          "--env external the relay under test is not the harness's")
    return open_environment("external", relay_url=params["relay_url"],
                            mongo_uri=params["mongo_uri"], database=params["database"],
                            admin_token=params["admin_token"],
                            timeouts=stated_timeouts(params, RelayTimeouts()))


env_option = click.option(
    "--env", "env_kind", type=click.Choice(ENVIRONMENT_KINDS), default="local",
    show_default=True, envvar="GADGET_ENV",
    help="local: start the reference relay and a database; compose: the same in containers "
         "(or your relay, with --relay-profile); external: use --relay-url and --mongo-uri.")

relay_under_test_options = _compose(env_option, relay_url_option, mongo_uri_option,
                                    relay_tuning_options, relay_profile_option)
"""Which relay a command drives and how (``harness run``, ``harness explore``): the
environment, where an external relay and its database are, and the relay's settings."""

load_target_options = _compose(env_option, relay_url_option, mongo_options,
                               admin_token_option, relay_profile_option)
"""Which relay a load drives (``harness load``, ``harness locust``): the environment, where
an external relay and its database are, its admin token, or your relay's profile."""
