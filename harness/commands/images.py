"""``harness images build | list | prune``: the container tier's images."""

from __future__ import annotations

import logging
import time

import click

from harness.commands.options import log_level_option
from harness.errors import EnvError
from harness.images.build import (
    BASE_CHOICES,
    DATABASE_IMAGE_CHOICES,
    BaseChoice,
    BuildOptions,
    DatabaseImageChoice,
    ensure_images,
)
from harness.images.dockercli import engine_problem, our_images, remove_images


def _reference(row: dict[str, str]) -> str:
    if row["tag"] in ("", "<none>"):
        return row["id"]
    return f"{row['repository']}:{row['tag']}"


def _setup(log_level: str) -> None:
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(message)s")
    problem = engine_problem()
    if problem is not None:
        raise EnvError(f"no usable Docker engine: {problem}")


@click.group("images")
def images_group() -> None:
    """Build, list and prune the container tier's images."""


@images_group.command("build")
@click.option("--base", type=click.Choice(BASE_CHOICES), default="auto", show_default=True,
              help="Relay base: the official Python image, or a Debian base built with "
                   "debootstrap (auto: official when present or pullable).")
@click.option("--database-image", type=click.Choice(DATABASE_IMAGE_CHOICES), default="auto",
              show_default=True,
              help="Database: the official MongoDB image, or the wire-protocol stand-in "
                   "(auto: MongoDB when present or pullable).")
@click.option("--pull/--no-pull", default=True, show_default=True,
              help="Try to pull the official images before building replacements.")
@log_level_option
def build_command(base: BaseChoice, database_image: DatabaseImageChoice, pull: bool,
                  log_level: str) -> None:
    """Build whatever is missing (cached by content: a second run builds nothing)."""
    _setup(log_level)
    started = time.monotonic()
    images = ensure_images(BuildOptions(base=base, database=database_image, pull=pull))
    elapsed = time.monotonic() - started
    click.echo(f"relay:    {images.relay} (base {images.base})")
    click.echo(f"database: {images.describe_database()}")
    if images.built:
        click.echo(f"built {len(images.built)} image(s) in {elapsed:.1f} s: "
                   + ", ".join(images.built))
    else:
        click.echo(f"all images cached ({elapsed:.1f} s)")


@images_group.command("list")
@log_level_option
def list_command(log_level: str) -> None:
    """List the images this project built."""
    _setup(log_level)
    for row in our_images():
        click.echo(f"{_reference(row)}  {row['id']}  {row['size']}  {row['created']}")


@images_group.command("prune")
@click.option("--all", "remove_all", is_flag=True,
              help="Remove every image of ours, the newest ones too.")
@log_level_option
def prune_command(remove_all: bool, log_level: str) -> None:
    """Remove images of ours but the newest base, relay and stand-in (or all of them)."""
    _setup(log_level)
    kept_roles: set[str] = set()
    stale: list[str] = []
    for row in our_images():  # newest first
        tagged = row["tag"] not in ("", "<none>")
        if tagged and not remove_all and row["role"] not in kept_roles:
            kept_roles.add(row["role"])
            continue
        stale.append(_reference(row))
    remove_images(stale)
    click.echo(f"removed {len(stale)} image(s)")
