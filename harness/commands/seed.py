"""``harness seed`` / ``python -m seed``: seed a world, clean up, list runs, gc old ones.

Errors are one line, ``error: ...``, exit status 2, no traceback.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource
from click.decorators import FC
from pymongo.asynchronous.database import AsyncDatabase

from harness.commands.options import log_level_option, mongo_options
from harness.errors import HarnessError, SpecError
from seed.connect import open_database
from seed.durations import format_duration, parse_duration
from seed.output import load_world_file, world_from_json, world_to_json, write_world_file
from seed.runid import check_run_id, new_run_id
from seed.spec import load_spec_file
from seed.store import (
    CleanupReport,
    RunInfo,
    build_world,
    cleanup,
    describe_foreign,
    gc_candidates,
    list_runs,
)
from seed.world import MAX_PER_FIELD, World, WorldSpec

T = TypeVar("T")

# gc: the stale run ids, the foreign seedRunId values left alone, the cleanups done.
_GcResult = tuple[tuple[str, ...], tuple[RunInfo, ...], tuple[CleanupReport, ...]]

# CLI flag (parameter name) -> WorldSpec field.
_SPEC_FLAGS = {
    "users": "users",
    "providers": "providers_per_user",
    "projects": "projects_per_user",
    "chat_sessions": "chat_sessions_per_project",
    "drones": "drones_per_user",
}


class _CliError(click.ClickException):
    """A ``HarnessError`` shown as one line, exit status 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


class _SeedGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HarnessError as exc:
            logging.getLogger(__name__).debug("seed command failed", exc_info=True)
            raise _CliError(str(exc)) from None


def _run(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(factory())


def _mongo(ctx: click.Context) -> tuple[str, str, bool]:
    """URI and database: the subcommand's flags, else the group's; and whether the
    database was chosen explicitly (flag or environment)."""
    chosen: dict[str, Any] = {}
    explicit = False
    for name in ("mongo_uri", "database"):
        source = ctx.get_parameter_source(name)
        if source in (None, ParameterSource.DEFAULT) and ctx.parent is not None:
            chosen[name] = ctx.parent.params[name]
            source = ctx.parent.get_parameter_source(name)
        else:
            chosen[name] = ctx.params[name]
        if name == "database":
            explicit = source not in (None, ParameterSource.DEFAULT)
    return chosen["mongo_uri"], chosen["database"], explicit


def _count_option(name: str, minimum: int, text: str) -> Callable[[FC], FC]:
    return click.option(
        f"--{name}", type=click.IntRange(minimum, MAX_PER_FIELD), default=None, help=text
    )


@click.group(cls=_SeedGroup, invoke_without_command=True)
@mongo_options
@_count_option("users", 1, "Users.  [default: 1]")
@_count_option("providers", 0, "AI providers per user.  [default: 1]")
@_count_option("projects", 0, "Projects per user.  [default: 1]")
@_count_option("chat-sessions", 0, "Chat sessions per project.  [default: 1]")
@_count_option("drones", 0, "Drone registrations per user.  [default: 3]")
@click.option("--spec", "spec_file", type=click.Path(dir_okay=False, path_type=Path),
              help="World spec file (JSON or YAML); flags override its counts.")
@click.option("--faker-seed", type=int, default=None,
              help="Seed Faker so names repeat (ids and tokens stay random).")
@click.option("--run-id", default=None, help="Run id to use instead of a fresh one.")
@click.option("--out", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              default=None, help="Write the world JSON here (mode 600) instead of stdout.")
@log_level_option
@click.pass_context
def seed_group(ctx: click.Context, /, **params: Any) -> None:
    """Seed a world into MongoDB and print it as JSON (see docs/seed.md).

    Without a subcommand, seeds the default world (1 user, 1 provider, 1 project,
    1 chat session, 3 drones) or the one the flags and --spec describe.
    """
    logging.basicConfig(level=params["log_level"].upper(), stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    seed_only = [name for name in (*_SPEC_FLAGS, "spec_file", "faker_seed", "run_id", "out")
                 if params[name] is not None]
    if ctx.invoked_subcommand is not None:
        if seed_only:
            flags = ", ".join("--" + name.replace("_file", "").replace("_", "-")
                              for name in seed_only)
            raise click.UsageError(f"{flags}: only when seeding, not with"
                                   f" `{ctx.invoked_subcommand}`")
        return
    spec = load_spec_file(params["spec_file"]) if params["spec_file"] else WorldSpec()
    overrides = {field: params[flag] for flag, field in _SPEC_FLAGS.items()
                 if params[flag] is not None}
    spec = dataclasses.replace(spec, **overrides)
    run_id = new_run_id() if params["run_id"] is None \
        else check_run_id(params["run_id"], what="--run-id")
    out: Path | None = params["out"]
    if out is not None and not out.resolve().parent.is_dir():
        raise SpecError(f"--out {out}: directory {out.parent} does not exist")

    async def seed() -> World:
        async with open_database(params["mongo_uri"], params["database"]) as db:
            world = await build_world(db, spec, run_id, faker_seed=params["faker_seed"])
            if out is not None:
                try:
                    write_world_file(world, out)
                except HarnessError:
                    await cleanup(db, world.run_id)  # the tokens would be lost
                    raise
            return world

    world = _run(seed)
    if out is None:
        click.echo(world_to_json(world), nl=False)
    else:
        click.echo(
            f"seeded run {world.run_id} into database {world.database}: "
            f"{len(world.users)} users, {len(world.providers)} providers, "
            f"{len(world.projects)} projects, {len(world.chat_sessions)} chat sessions, "
            f"{len(world.drones)} drones; wrote {out}", err=True)


def _print_report(report: CleanupReport) -> None:
    if not report.found:
        click.echo(f"run {report.run_id}: nothing to delete in database {report.database}"
                   " (unknown run, or already cleaned up)")
        return
    click.echo(f"run {report.run_id}: deleted {report.total} documents from database"
               f" {report.database}")
    for name, count in report.deleted.items():
        click.echo(f"  {name:<20} {count}")


def _target(target: str) -> tuple[str, World | None]:
    """The run id named by RUN_ID|FILE, and the world when it is a file."""
    if target == "-":
        world = world_from_json(sys.stdin.read(), source="stdin")
        return world.run_id, world
    path = Path(target)
    if path.is_file():
        world = load_world_file(path)
        return world.run_id, world
    if os.sep in target or path.suffix.lower() in (".json", ".yaml", ".yml"):
        raise SpecError(f"{target}: no such file")
    return check_run_id(target, what="RUN_ID"), None


@seed_group.command("cleanup")
@click.argument("target", metavar="RUN_ID|FILE")
@mongo_options
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def cleanup_command(ctx: click.Context, /, target: str, as_json: bool, **_: Any) -> None:
    """Remove one run, by id or by its world file.

    RUN_ID|FILE is a run id, the world JSON file seeding wrote, or - to read that JSON
    from stdin. A file's database is used unless --database is given. Deletes the run's
    documents and the work orders of its chat sessions and drones, nothing else.
    """
    uri, database, explicit = _mongo(ctx)
    run_id, world = _target(target)
    if world is not None and not explicit:
        database = world.database

    async def run() -> CleanupReport:
        async with open_database(uri, database) as db:
            return await cleanup(db, run_id)

    report = _run(run)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _print_report(report)


@seed_group.command("list")
@mongo_options
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON.")
@click.pass_context
def list_command(ctx: click.Context, /, as_json: bool, **_: Any) -> None:
    """Show the runs present, with age and counts.

    Oldest first; counts are documents per collection.
    """
    uri, database, _explicit = _mongo(ctx)

    async def run() -> tuple[Any, ...]:
        async with open_database(uri, database) as db:
            return await list_runs(db)

    runs = _run(run)
    now = datetime.now(UTC)
    if as_json:
        click.echo(json.dumps([r.to_dict(now) for r in runs], indent=2))
        return
    if not runs:
        click.echo(f"no seeded runs in database {database}")
        return
    for r in runs:
        age = r.age(now)
        created = r.created_at.strftime("%Y-%m-%d %H:%M:%SZ") if r.created_at else "unknown"
        counts = " ".join(f"{name}={n}" for name, n in r.counts.items())
        click.echo(f"{r.run_id}  {created}  age {format_duration(age) if age else '?'}"
                   f"  {counts}")


class _Duration(click.ParamType[timedelta]):
    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> timedelta:
        if isinstance(value, timedelta):
            return value
        # A ConfigError, not click's usage error: one line, ``error: --older-than: ...``.
        return parse_duration(str(value), what="--older-than")


@seed_group.command("gc")
@click.option("--older-than", type=_Duration(), required=True,
              help="Remove runs seeded longer ago than this (30m, 2h, 1d, ...).")
@mongo_options
@click.option("--dry-run", is_flag=True, help="Only show what would be removed.")
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON.")
@click.pass_context
def gc_command(ctx: click.Context, /, older_than: timedelta, dry_run: bool, as_json: bool,
               **_: Any) -> None:
    """Remove runs older than --older-than.

    For runs abandoned by crashed jobs. --older-than is required (30m, 2h, 1d, 1h30m).
    Documents whose seedRunId is not a run id are not of a seed run: they are left alone
    and named in one line.
    """
    uri, database, _explicit = _mongo(ctx)
    label = format_duration(older_than)

    async def run() -> _GcResult:
        async with open_database(uri, database) as db:
            return await _gc(db, older_than, dry_run)

    stale, foreign, reports = _run(run)
    if as_json:
        click.echo(json.dumps({"olderThanSeconds": older_than.total_seconds(),
                               "dryRun": dry_run, "runs": list(stale),
                               "reports": [r.to_dict() for r in reports],
                               "leftAlone": [r.to_dict() for r in foreign]}, indent=2))
        return
    if not stale:
        click.echo(f"no runs older than {label} in database {database}")
    else:
        verb = "would remove" if dry_run else "removed"
        click.echo(f"{verb} {len(stale)} runs older than {label} from database {database}:")
        for run_id in stale:
            click.echo(f"  {run_id}")
        for report in reports:
            _print_report(report)
    if foreign:
        click.echo(describe_foreign(foreign))


async def _gc(db: AsyncDatabase[Any], older_than: timedelta, dry_run: bool) -> _GcResult:
    runs, foreign = await gc_candidates(db, older_than, now=datetime.now(UTC))
    stale = tuple(run.run_id for run in runs)
    if dry_run:
        return stale, foreign, ()
    return stale, foreign, tuple([await cleanup(db, run_id) for run_id in stale])


def main(argv: list[str] | None = None) -> None:
    """``python -m seed``: run the seed group; errors print ``error: ...`` and exit 2."""
    seed_group.main(args=argv, prog_name="python -m seed")
