"""The ``harness`` command: the subcommands of ``harness.commands``, loaded lazily."""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import click

from harness.commands import COMMANDS
from harness.errors import HarnessError


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
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
