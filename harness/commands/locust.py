"""``harness locust``: Locust, headless, with the Gadget users (docs/locust.md).

On one machine it starts the environment (the embedded one by default), then a Locust master
and ``--workers`` worker processes (or, with ``--workers 0``, one process that does both),
and exits with Locust's exit code: 1 on an invariant violation, a lost worker, or (Locust's
own rule, ``--exit-code-on-error``) any failed request. Across machines, ``--master`` runs
the master (and the environment, unless ``--env external``) and ``--worker --master-host``
runs workers that join it. Locust's own options follow ``--``.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

import click

from harness.commands.load import load_environment, started
from harness.commands.options import load_target_options, log_level_option
from harness.host import free_port, raise_open_files_limit

__all__ = ["locust_command"]

log = logging.getLogger(__name__)

LOCUSTFILE = Path(__file__).resolve().parents[1] / "locust" / "locustfile.py"
USER_CLASSES = ("DroneWithIde", "ChurningIde", "CrashingDrone", "WatchingIde")


def _gadget_args(params: dict[str, Any], mongo_uri: str, database: str) -> list[str]:
    return ["--gadget-mongo-uri", mongo_uri, "--gadget-database", database,
            "--gadget-events-per-prompt", str(params["events_per_prompt"]),
            "--gadget-rate", str(params["rate"]), "--gadget-text-size", str(params["text_size"]),
            "--gadget-ack-timeout", str(params["ack_timeout"]),
            "--gadget-completion-timeout", str(params["completion_timeout"]),
            "--gadget-transport", params["transport"],
            *(["--gadget-keep-world"] if params["keep_world"] else [])]


def _locust(*args: str) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), *args]


async def _spawn(command: list[str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(*command)


async def _exit_code(process: asyncio.subprocess.Process) -> int:
    return int(await process.wait())


async def _run(params: dict[str, Any], extra: tuple[str, ...]) -> int:
    user_class = params["user_class"]
    if params["worker"]:
        joining = _locust("--worker", "--master-host", params["master_host"],
                          "--master-port", str(params["master_port"]), *extra, user_class)
        return await _exit_code(await _spawn(joining))
    async with started(load_environment(params["env_kind"], params)) as env:
        click.echo(f"environment: {env.describe()}", err=True)
        run = ["--headless", "-u", str(params["users"]),
               "-r", str(params["spawn_rate"] or params["users"]), "-t", params["run_time"],
               "--host", env.relay_url, *_gadget_args(params, env.mongo_uri, env.database)]
        if params["master"]:
            alone = _locust("--master", "--master-bind-port", str(params["master_port"]),
                             "--expect-workers", str(max(params["workers"], 1)), *run,
                             *extra, user_class)
            return await _exit_code(await _spawn(alone))
        if params["workers"] == 0:
            return await _exit_code(await _spawn(_locust(*run, *extra, user_class)))
        port = free_port()
        master = await _spawn(_locust(
            "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
            "--expect-workers", str(params["workers"]), *run, *extra, user_class))
        workers = [await _spawn(_locust("--worker", "--master-host", "127.0.0.1",
                                        "--master-port", str(port), user_class))
                   for _ in range(params["workers"])]
        try:
            return await _exit_code(master)
        finally:
            for worker in workers:
                try:
                    await asyncio.wait_for(worker.wait(), 30)
                except TimeoutError:
                    worker.kill()
                    await worker.wait()


@click.command("locust")
@load_target_options
@click.option("-u", "--users", type=click.IntRange(min=1), default=10, show_default=True,
              help="Locust users: each one drone with its IDE.")
@click.option("-r", "--spawn-rate", type=click.FloatRange(min=0, min_open=True),
              default=None, help="Users started per second [default: all at once].")
@click.option("-t", "--run-time", default="30s", show_default=True,
              help="How long (Locust's format: 30s, 5m, 1h30m).")
@click.option("--workers", type=click.IntRange(min=0), default=2, show_default=True,
              help="Worker processes on this machine (0: one process does everything); "
                   "with --master, how many to wait for.")
@click.option("--master", is_flag=True, help="Run only the master: workers join it.")
@click.option("--worker", is_flag=True, help="Run only a worker, joining --master-host.")
@click.option("--master-host", default="127.0.0.1", show_default=True)
@click.option("--master-port", type=click.IntRange(1, 65535), default=5557,
              show_default=True)
@click.option("--user-class", type=click.Choice(USER_CLASSES), default="DroneWithIde",
              show_default=True, help="Which Gadget user runs.")
@click.option("--events-per-prompt", type=click.IntRange(min=1), default=20,
              show_default=True, help="Stream events per work order.")
@click.option("--rate", type=click.FloatRange(min=0), default=10.0, show_default=True,
              help="Events/s per drone while streaming (0: a burst).")
@click.option("--text-size", type=click.IntRange(min=0), default=64, show_default=True,
              help="Bytes of text per stream event.")
@click.option("--ack-timeout", type=click.FloatRange(min=0, min_open=True), default=10.0,
              show_default=True, help="Seconds an IDE waits for an ack.")
@click.option("--completion-timeout", type=click.FloatRange(min=0, min_open=True),
              default=30.0, show_default=True,
              help="Seconds past its stream's duration a work order may take.")
@click.option("--transport", type=click.Choice(["websocket", "polling"]), default="websocket",
              show_default=True)
@click.option("--keep-world", is_flag=True, help="Do not remove the seeded runs at the end.")
@click.argument("locust_args", nargs=-1, type=click.UNPROCESSED)
@log_level_option
def locust_command(locust_args: tuple[str, ...], **params: Any) -> None:
    """Run Locust headless with the Gadget users; Locust's own options after ``--``
    (``--csv PREFIX``, ``--html FILE``, ``--exit-code-on-error N``...).

    Exits with Locust's exit code: 1 on an invariant violation or a lost worker.
    """
    if params["master"] and params["worker"]:
        raise click.UsageError("--master and --worker exclude each other")
    raise_open_files_limit()
    logging.basicConfig(level=params["log_level"].upper(), stream=sys.stderr)
    sys.exit(asyncio.run(_run(params, locust_args)))
