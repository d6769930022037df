"""``ComposeEnvironment``: the relay and its database in containers (docker-compose.test.yml).

Brought up with testcontainers' ``DockerCompose`` under a project name unique to this run
(``gadgetharness-<pid>-<random>``), torn down with ``down -v`` when the run ends: on success,
on failure, on cancellation, and at interpreter exit (Ctrl-C). Stacks whose owning process is
gone (a crashed or killed run) are swept before every start.

With a relay profile (``harness.env.profile``) the relay is the user's: their image on our
compose file, or their own compose file. The harness layers a generated file over it that
publishes the relay's and the database's ports on free loopback ports and hands over the
database URI and admin token under the relay's own variable names; readiness is polled
from the host, never by a command inside their image.
"""

from __future__ import annotations

import asyncio
import atexit
import json
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
from harness.env.profile import RelayProfile
from harness.env.relay_owner import RelayOwningEnvironment
from harness.errors import ConfigError, EnvError
from harness.host import free_port
from harness.images.build import (
    BuildOptions,
    DatabaseImageChoice,
    Images,
    ensure_images,
    project_root,
)
from harness.images.dockercli import docker, engine_problem, image_id, try_pull
from harness.images.stacks import (
    PROJECT_LABEL,
    new_project_name,
    remove_project,
    sweep_stale_projects,
)
from harness.settings import RelaySettings, RelayTimeouts

log = logging.getLogger(__name__)

T = TypeVar("T")
COMPOSE_FILE = "docker-compose.test.yml"
SERVICES = ("relay", "mongo")
_PORT_ATTEMPTS = 3
_READY_SLICE = 2.0  # s between checks that the relay container still runs
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
    within ``startup_timeout`` seconds. ``profile`` runs a relay that is not the harness's
    (its image or its compose file; see ``harness.env.profile``).
    """

    _label = "compose environment"

    def __init__(self, settings: RelaySettings | None = None, *,
                 database_server: DatabaseChoice | str = "auto", log_dir: Path | None = None,
                 build_missing: bool = True, startup_timeout: float = 120.0,
                 compose_file: Path | None = None, profile: RelayProfile | None = None,
                 timeouts: RelayTimeouts | None = None) -> None:
        if database_server not in _DATABASE_IMAGE:
            raise ConfigError(f"--database-server: expected one of "
                              f"{', '.join(_DATABASE_IMAGE)}, got {database_server!r}")
        if profile is not None and (settings is not None and
                                    (settings.regressions or settings.variants)):
            raise ConfigError("--regress and --variant are switches of the reference relay; "
                              f"the relay of --relay-profile {profile.source} is not the "
                              "harness's")
        super().__init__(settings)
        self._profile = profile
        self._timeouts = timeouts or (profile.timeouts if profile is not None else None)
        self._relay_service = profile.relay_service if profile is not None else "relay"
        self._database_service = profile.database_service if profile is not None else "mongo"
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
    def profile(self) -> RelayProfile | None:
        """The foreign relay's profile, or None for the reference relay."""
        return self._profile

    @property
    def _services(self) -> tuple[str, str]:
        return self._relay_service, self._database_service

    @property
    def database(self) -> str:
        """The relay's database: handed over when the profile maps it, else the profile's."""
        profile = self._profile
        if profile is not None and "database" not in profile.env:
            return profile.database
        return self._settings.database

    @property
    def admin_token(self) -> str | None:
        """The admin token; None for a foreign relay whose profile does not take one."""
        profile = self._profile
        if profile is not None and "admin_token" not in profile.env:
            return None
        return self._settings.admin_token

    @property
    def reference_relay(self) -> bool:
        """Never with a profile: only the contract is asserted against someone's relay."""
        return self._profile is None and super().reference_relay

    @property
    def relay_timeouts(self) -> RelayTimeouts:
        """The profile's (or the stated) timeouts for a foreign relay, else the settings'."""
        return self._timeouts or self._settings.timeouts

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
        """One line for summaries, naming the relay and the database actually used."""
        images = self.images
        if self._profile is not None:
            database = images.describe_database() if self._profile.compose is None else \
                f"service {self._database_service} of {self._profile.compose}"
            return (f"compose ({self.project}): relay {self._profile.relay_label} at "
                    f"{self.relay_url}, database {database} at {self.mongo_uri}")
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
            if self._profile is not None and self._profile.image is not None:
                await _in_thread(_require_image, self._profile)
            self._images = await _in_thread(_images_for, self._options)
            self._work_dir = Path(tempfile.mkdtemp(prefix="harness-compose-"))
            await _in_thread(self._up)
            await self._wait_ready()
            log.info("%s", self.describe())
        except BaseException:
            await self.stop()
            raise

    def _up(self) -> None:
        """``up --wait``, with fresh ports when one was taken in the meantime."""
        for attempt in range(_PORT_ATTEMPTS):
            self._relay_port, self._mongo_port = free_port(), free_port()
            compose = self._make_compose()
            self._compose = compose
            _LIVE.add(self.project)
            try:
                compose.start()
            except Exception as exc:  # the compose CLI's CalledProcessError
                detail = _stderr_of(exc)
                if _port_taken(detail):
                    compose.stop()
                    if attempt < _PORT_ATTEMPTS - 1:
                        log.info("a published port was taken; retrying with others")
                        continue
                    raise EnvError(
                        f"compose stack {self.project}: a loopback port it publishes was taken "
                        f"by another process {_PORT_ATTEMPTS} times (last: relay "
                        f"{self._relay_port}, database {self._mongo_port}: "
                        f"{_last_line(detail)}); stop what keeps taking ports, or retry"
                    ) from exc
                state = self._container_state(self._relay_service)
                if state is not None and state.startswith("exited"):
                    raise self._relay_exited(state) from exc
                raise EnvError(f"compose stack {self.project} did not come up healthy:\n"
                               f"{detail}\n{self._log_summary()}") from exc
            self._check_ports(compose)
            return

    def _relay_exited(self, state: str) -> EnvError:
        path = self._profile.ready if self._profile is not None else "/healthz"
        return EnvError(f"the relay container ({self._relay_service}) is {state} before {path} "
                        f"answered; last lines of its log:\n{self._log_tail(self._relay_service)}")

    async def _wait_ready(self) -> None:
        """Poll the relay's readiness from the host; fail early when its container exits."""
        profile = self._profile
        timeout = profile.ready_timeout if profile is not None else self._startup_timeout
        path = profile.ready if profile is not None else None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            try:
                await wait_for_health(self.relay_url, min(_READY_SLICE, max(left, 0.1)),
                                      path=path)
                return
            except EnvError as exc:
                state = await _in_thread(self._container_state, self._relay_service)
                if state is not None and not state.startswith("running"):
                    raise self._relay_exited(state) from exc
                if loop.time() >= deadline:
                    raise EnvError(f"{exc}; the relay container ({self._relay_service}) is "
                                   f"{state or 'gone'}; last lines of its log:\n"
                                   f"{self._log_tail(self._relay_service)}") from exc

    def _container_state(self, service: str) -> str | None:
        """``running``, ``exited (1)`` and the like, or None when there is no container."""
        result = docker("ps", "--all", "--filter", f"label={PROJECT_LABEL}={self.project}",
                        "--filter", f"label=com.docker.compose.service={service}",
                        "--format", "{{.State}}|{{.Status}}", check=False, timeout=30)
        line = next((row for row in result.stdout.splitlines() if row.strip()), "")
        if not line:
            return None
        state, _, status = line.partition("|")
        if state == "exited":
            code = status.split("(", 1)[-1].split(")", 1)[0] if "(" in status else "?"
            return f"exited (status {code})"
        return state

    def _make_compose(self) -> _ProjectCompose:
        assert self._work_dir is not None and self._images is not None
        env_file = self._work_dir / "compose.env"
        values = {
            **{key: value for key, value in self._settings.to_env().items()
               if key not in ("GADGET_HOST", "GADGET_PORT", "GADGET_MONGO_URI")},
            "RELAY_IMAGE": self._images.relay, "MONGO_IMAGE": self._images.database,
            "RELAY_PORT": str(self._relay_port), "MONGO_PORT": str(self._mongo_port),
        }
        _write_private(env_file, "".join(f"{key}={value}\n"
                                         for key, value in sorted(values.items())))
        files = [self._compose_file or project_root() / COMPOSE_FILE]
        if self._profile is not None:
            files = self._profile_files()
        compose = _ProjectCompose(context=str(files[0].parent),
                                  compose_file_name=[str(f) for f in files],
                                  env_file=str(env_file), wait=True)
        compose.project_name = self.project
        return compose

    def _profile_files(self) -> list[Path]:
        """The user's compose file (or ours), their override, then the harness's layer."""
        profile = self._profile
        assert profile is not None and self._work_dir is not None
        files = [profile.compose or self._compose_file or project_root() / COMPOSE_FILE]
        if profile.override is not None:
            files.append(profile.override)
        layer = self._work_dir / "harness.override.yml"
        _write_private(layer, profile_layer(profile, self._relay_port, self._mongo_port,
                                            self.database, self.admin_token))
        files.append(layer)
        return files

    def _check_ports(self, compose: _ProjectCompose) -> None:
        relay_target = self._profile.port if self._profile is not None else 8080
        mongo_target = self._profile.database_port if self._profile is not None else 27017
        relay = compose.get_service_port(self._relay_service, relay_target)
        mongo = compose.get_service_port(self._database_service, mongo_target)
        if relay != self._relay_port or mongo != self._mongo_port:
            raise EnvError(f"compose published {self._relay_service}:{relay}, "
                           f"{self._database_service}:{mongo}; expected {self._relay_port} "
                           f"and {self._mongo_port}")

    async def restart_relay(self) -> None:
        """Restart the relay container (same published port) and wait for its health."""
        compose = self._compose
        if compose is None:
            raise self._not_started()
        command = [*compose.compose_command_property, "restart", self._relay_service]
        await _in_thread(compose._run_command, command)
        await self._wait_ready()

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
        for service in self._services:
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

    def _log_tail(self, service: str, lines: int = 20) -> str:
        compose = self._compose
        text = self._read_logs(compose).get(service, "") if compose is not None else ""
        return "\n".join(text.strip().splitlines()[-lines:]) or "(no output)"

    def logs(self) -> dict[str, str]:
        """Each container's output by service (``relay``, ``mongo``); kept after stop."""
        if self._compose is not None:
            return self._read_logs(self._compose)
        return dict(self._logs)


def profile_layer(profile: RelayProfile, relay_port: int | None, mongo_port: int | None,
                  database: str, admin_token: str | None) -> str:
    """The compose file the harness lays over a foreign relay's stack: its image, the
    published loopback ports (replacing any of the user's), the handed-over variables.

    ``!override`` (compose 2.24.4 and later) replaces a list instead of appending to it.
    """
    def quoted(value: str) -> str:  # compose interpolates $ in every file: keep it literal
        return json.dumps(value.replace("$", "$$"))

    relay, db = profile.relay_service, profile.database_service
    uri = f"mongodb://{db}:{profile.database_port}/?directConnection=true"
    environment = profile.relay_environment(uri, database, admin_token)
    lines = ["# Written by the harness for one run; removed with it.", "services:",
             f"  {relay}:"]
    if profile.image is not None:
        lines.append(f"    image: {quoted(profile.image)}")
    lines.append(f"    ports: !override [{json.dumps(f'127.0.0.1:{relay_port}:{profile.port}')}]")
    if profile.compose is None:
        # Our compose file's healthcheck runs Python inside the image; theirs has none.
        lines.append("    healthcheck: {disable: true}")
    if environment:
        lines.append("    environment:")
        lines += [f"      {name}: {quoted(value)}" for name, value in environment.items()]
    lines += [f"  {db}:",
              f"    ports: !override "
              f"[{json.dumps(f'127.0.0.1:{mongo_port}:{profile.database_port}')}]"]
    return "\n".join(lines) + "\n"


def _require_image(profile: RelayProfile) -> None:
    """The profile's relay image is here or can be pulled; else one line saying what to do."""
    image = profile.image
    assert image is not None
    if image_id(image) is None and not try_pull(image):
        raise EnvError(f"relay image {image} (--relay-profile {profile.source}) is not on "
                       "this engine and cannot be pulled: build it first (docker build -t "
                       f"{image} .), load it (docker load), or fix image: in the profile")


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (it may hold the admin token)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def _port_taken(detail: str) -> bool:
    return "already allocated" in detail or "in use" in detail


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no output"


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
