"""The ``harness`` command. Subcommands live beside the code they drive and load lazily."""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import click

from harness.errors import HarnessError

# name -> "module:attribute" of a click command; imported only when used.
_COMMANDS: dict[str, str] = {
    "relay": "harness.relay.cli:relay_command",
    "up": "harness.env.cli:up_command",
    "down": "harness.env.cli:down_command",
    "seed": "seed.cli:seed_group",
    "run": "harness.scenario.cli:run_command",
    "validate": "harness.scenario.cli:validate_command",
    "mongo-standin": "harness.mongowire.cli:mongowire_command",
    "images": "harness.images.cli:images_group",
    "show": "harness.report.cli:show_command",
    "selftest": "harness.selftest.cli:selftest_command",
    "load": "harness.load.cli:load_command",
    "bench": "harness.bench.cli:bench_command",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attribute)
        return command


@click.group(cls=_LazyGroup)
@click.version_option(package_name="gadget-harness")
def harness() -> None:
    """Gadget Harness: drive a Gadget relay with simulated IDEs and drones."""


def main(argv: list[str] | None = None) -> Any:
    """Console entry point: run a subcommand; a ``HarnessError`` exits 2 with its message."""
    try:
        return harness.main(args=argv, prog_name="harness", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.exceptions.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except HarnessError as exc:
        logging.getLogger(__name__).debug("command failed", exc_info=True)
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    sys.exit(main())
