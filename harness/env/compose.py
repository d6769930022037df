"""``ComposeEnvironment``: the relay and its database in containers (docker-compose.test.yml).

Brought up with testcontainers' ``DockerCompose`` under a project name unique to this run
(``gadgetharness-<pid>-<random>``), torn down with ``down -v`` when the run ends: on success,
on failure, on cancellation, and at interpreter exit (Ctrl-C). Stacks whose owning process is
gone (a crashed or killed run) are swept before every start.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from testcontainers.compose import DockerCompose

from harness.env.database import DatabaseChoice
from harness.env.health import wait_for_health
from harness.env.processes import free_port
from harness.env.relay_owner import RelayOwningEnvironment
from harness.errors import ConfigError, EnvError
from harness.images.build import (
    BuildOptions,
    DatabaseImageChoice,
    Images,
    ensure_images,
    project_root,
)
from harness.images.dockercli import engine_problem, image_id
from harness.images.stacks import (
    PROJECT_LABEL,
    new_project_name,
    remove_project,
    sweep_stale_projects,
)
from harness.settings import RelaySettings

log = logging.getLogger(__name__)

T = TypeVar("T")
COMPOSE_FILE = "docker-compose.test.yml"
SERVICES = ("relay", "mongo")
_DATABASE_IMAGE: dict[str, DatabaseImageChoice] = {
    "auto": "auto", "mongod": "mongo", "mongo": "mongo", "standin": "standin"}
# Projects this process has up; taken down at interpreter exit if still there.
_LIVE: set[str] = set()
# One run, one set of images: resolved at the first start, reused while they exist.
_RESOLVED: dict[BuildOptions, Images] = {}


def _images_for(options: BuildOptions) -> Images:
    known = _RESOLVED.get(options)
    if known is not None and all(image_id(ref) for ref in (known.relay, known.database)):
        return known
    images = _RESOLVED[options] = ensure_images(options)
    return images


def _down_leftovers() -> None:
    for project in sorted(_LIVE):
        try:
            remove_project(project)
        except EnvError as exc:  # the engine is gone; the next start sweeps it
            log.warning("could not remove compose stack %s at exit: %s", project, exc)
    _LIVE.clear()


atexit.register(_down_leftovers)


class _ProjectCompose(DockerCompose):
    """``DockerCompose`` with an explicit ``--project-name``."""

    project_name: str = ""

    @cached_property
    def compose_command_property(self) -> list[str]:
        command: list[str] = DockerCompose.compose_command_property.func(self)  # type: ignore[attr-defined]
        return [*command[:2], "--project-name", self.project_name, *command[2:]]


class ComposeEnvironment(RelayOwningEnvironment):
    """The relay image and a database image as a compose stack on loopback ports.

    ``settings`` configures the relay (its host, port and Mongo URI are the stack's). An admin
    token is generated unless set. ``database_server`` picks the database image: ``auto``
    (official ``mongo:7`` when present, else the wire-protocol stand-in), ``mongod``/``mongo``
    or ``standin``. Missing images are built first (``build_missing``; minutes when cold).
    Start-up raises ``EnvError`` with the containers' logs when the stack is not healthy
    within ``startup_timeout`` seconds.
    """

    _label = "compose environment"

    def __init__(self, settings: RelaySettings | None = None, *,
                 database_server: DatabaseChoice | str = "auto", log_dir: Path | None = None,
                 build_missing: bool = True, startup_timeout: float = 120.0,
                 compose_file: Path | None = None) -> None:
        if database_server not in _DATABASE_IMAGE:
            raise ConfigError(f"--database-server: expected one of "
                              f"{', '.join(_DATABASE_IMAGE)}, got {database_server!r}")
        super().__init__(settings)
        self._options = BuildOptions(database=_DATABASE_IMAGE[database_server],
                                     build_missing=build_missing, pull=False)
        self._log_dir = log_dir
        self._startup_timeout = startup_timeout
        self._compose_file = compose_file
        self.project = new_project_name()
        self._images: Images | None = None
        self._compose: _ProjectCompose | None = None
        self._work_dir: Path | None = None
        self._mongo_port: int | None = None
        self._logs: dict[str, str] = {}

    @property
    def mongo_uri(self) -> str:
        """URI of the database's published port."""
        if self._mongo_port is None:
            raise self._not_started()
        return f"mongodb://127.0.0.1:{self._mongo_port}/?directConnection=true"

    @property
    def images(self) -> Images:
        """The images the stack runs (known once started)."""
        if self._images is None:
            raise self._not_started()
        return self._images

    @property
    def database_kind(self) -> str:
        """``mongo`` (official image) or ``standin``."""
        return self.images.database_kind

    def describe(self) -> str:
        """One line for summaries, naming the database actually used."""
        images = self.images
        switched = self._relay_label().removeprefix("reference relay")
        return (f"compose ({self.project}): relay {images.relay}{switched} at {self.relay_url}, "
                f"database {images.describe_database()} at {self.mongo_uri}")

    async def start(self) -> None:
        """Sweep stale stacks, build missing images, bring the stack up, wait for health.

        Tears down whatever came up when any step fails or is cancelled.
        """
        problem = await _in_thread(engine_problem)
        if problem is not None:
            raise EnvError(f"--env compose cannot start: {problem}; `bash scripts/ci-docker.sh` "
                           "(or `make run-compose`) starts Debian's engine and installs the "
                           "compose plugin")
        try:
            await _in_thread(sweep_stale_projects)
            self._images = await _in_thread(_images_for, self._options)
            self._work_dir = Path(tempfile.mkdtemp(prefix="harness-compose-"))
            await _in_thread(self._up)
            await wait_for_health(self.relay_url, self._startup_timeout)
            log.info("%s", self.describe())
        except BaseException:
            await self.stop()
            raise

    def _up(self) -> None:
        """``up --wait``, with fresh ports when one was taken in the meantime."""
        for attempt in range(3):
            self._relay_port, self._mongo_port = free_port(), free_port()
            compose = self._make_compose()
            self._compose = compose
            _LIVE.add(self.project)
            try:
                compose.start()
            except Exception as exc:  # the compose CLI's CalledProcessError
                detail = _stderr_of(exc)
                if attempt < 2 and ("already allocated" in detail or "in use" in detail):
                    log.info("a published port was taken; retrying with others")
                    compose.stop()
                    continue
                raise EnvError(f"compose stack {self.project} did not come up healthy:\n"
                               f"{detail}\n{self._log_summary()}") from exc
            self._check_ports(compose)
            return

    def _make_compose(self) -> _ProjectCompose:
        assert self._work_dir is not None and self._images is not None
        env_file = self._work_dir / "compose.env"
        values = {
            **{key: value for key, value in self._settings.to_env().items()
               if key not in ("GADGET_HOST", "GADGET_PORT", "GADGET_MONGO_URI")},
            "RELAY_IMAGE": self._images.relay, "MONGO_IMAGE": self._images.database,
            "RELAY_PORT": str(self._relay_port), "MONGO_PORT": str(self._mongo_port),
        }
        fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.writelines(f"{key}={value}\n" for key, value in sorted(values.items()))
        compose_file = self._compose_file or project_root() / COMPOSE_FILE
        compose = _ProjectCompose(context=str(compose_file.parent),
                                  compose_file_name=str(compose_file), env_file=str(env_file),
                                  wait=True)
        compose.project_name = self.project
        return compose

    def _check_ports(self, compose: _ProjectCompose) -> None:
        relay = compose.get_service_port("relay", 8080)
        mongo = compose.get_service_port("mongo", 27017)
        if relay != self._relay_port or mongo != self._mongo_port:
            raise EnvError(f"compose published relay:{relay}, mongo:{mongo}; expected "
                           f"{self._relay_port} and {self._mongo_port}")

    async def restart_relay(self) -> None:
        """Restart the relay container (same published port) and wait for its health."""
        compose = self._compose
        if compose is None:
            raise self._not_started()
        command = [*compose.compose_command_property, "restart", "relay"]
        await _in_thread(compose._run_command, command)
        await wait_for_health(self.relay_url, self._startup_timeout)

    async def stop(self) -> None:
        """Keep the logs, then ``down -v`` (or remove by label). Idempotent, cancel-safe."""
        compose, self._compose = self._compose, None
        if compose is not None:
            await _in_thread(self._teardown, compose)
        if self._work_dir is not None:
            shutil.rmtree(self._work_dir, ignore_errors=True)
            self._work_dir = None

    def _teardown(self, compose: _ProjectCompose) -> None:
        self._logs = self._read_logs(compose)
        if self._log_dir is not None:
            self._log_dir.mkdir(parents=True, exist_ok=True)
            for name, text in self._logs.items():
                (self._log_dir / f"{name}.log").write_text(text)
        try:
            compose.stop(down=True)
        except Exception as exc:  # the compose CLI failed: remove by label instead
            log.warning("compose down of %s failed (%s); removing by label",
                        self.project, _stderr_of(exc))
        remove_project(self.project)
        _LIVE.discard(self.project)

    def _read_logs(self, compose: _ProjectCompose) -> dict[str, str]:
        logs: dict[str, str] = {}
        for service in SERVICES:
            command = [*compose.compose_command_property, "logs", "--no-color",
                       "--no-log-prefix", service]
            try:
                result = compose._run_command(command)
            except Exception:  # a service that never started has no logs
                continue
            logs[service] = (result.stdout + result.stderr).decode(errors="replace")
        return logs

    def _log_summary(self) -> str:
        compose = self._compose
        logs = self._read_logs(compose) if compose is not None else {}
        return "\n".join(f"--- {name} (last lines) ---\n"
                         + "\n".join(text.strip().splitlines()[-20:])
                         for name, text in logs.items())

    def logs(self) -> dict[str, str]:
        """Each container's output by service (``relay``, ``mongo``); kept after stop."""
        if self._compose is not None:
            return self._read_logs(self._compose)
        return dict(self._logs)


def _stderr_of(exc: BaseException) -> str:
    stderr: Any = getattr(exc, "stderr", None)
    if isinstance(stderr, bytes):
        return stderr.decode(errors="replace").strip()
    return str(stderr or exc).strip()


async def _in_thread(function: Callable[..., T], *args: Any) -> T:
    """Run blocking docker work in a thread; on cancellation, let it finish before re-raising.

    A cancelled ``up`` that kept running would create containers after the teardown.
    """
    task = asyncio.ensure_future(asyncio.to_thread(function, *args))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait([task])
        raise


__all__ = ["COMPOSE_FILE", "PROJECT_LABEL", "ComposeEnvironment"]
