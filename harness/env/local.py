"""``LocalEnvironment``: the reference relay and its database as local processes."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

from harness.env.database import DatabaseChoice, EmbeddedDatabase
from harness.env.health import wait_for_health
from harness.env.processes import ManagedProcess
from harness.env.relay_owner import RelayOwningEnvironment
from harness.errors import EnvError
from harness.settings import RelaySettings

log = logging.getLogger(__name__)


class LocalEnvironment(RelayOwningEnvironment):
    """The reference relay (own process, free loopback port) on an embedded database.

    ``settings`` configures the relay; its host, port and Mongo URI are chosen here. An
    admin token is generated unless ``settings.admin_token`` is set, so introspection is on.
    Start-up waits ``startup_timeout`` seconds per part and raises ``EnvError`` naming the
    part that failed with the tail of its log. Every process dies with this one.
    """

    _label = "local environment"

    def __init__(self, settings: RelaySettings | None = None, *,
                 database_server: DatabaseChoice = "auto", log_dir: Path | None = None,
                 startup_timeout: float = 20.0, relay_source: Path | None = None) -> None:
        super().__init__(settings, host="127.0.0.1", port=0)
        self._relay_source = relay_source
        self._owns_log_dir = log_dir is None
        self._log_dir_option = log_dir
        self._log_dir: Path | None = None
        self._database = EmbeddedDatabase(database_server)
        self._relay: ManagedProcess | None = None
        self._startup_timeout = startup_timeout

    @property
    def mongo_uri(self) -> str:
        """URI of the embedded database."""
        return self._database.uri

    @property
    def database_kind(self) -> str:
        """``mongod`` or ``standin``."""
        return self._database.kind

    def describe(self) -> str:
        """One line for summaries."""
        db = "mongod" if self._database.kind == "mongod" else "MongoDB wire-protocol stand-in"
        return f"local: {self._relay_label()} at {self.relay_url}, database {db} at " \
               f"{self.mongo_uri}"

    async def start(self) -> None:
        """Start the database and the relay side by side; stop both if either fails.

        The relay pings the database as it starts and gives up after a few seconds: one
        that gave up on a database still starting is started once more when the database
        answers."""
        self._log_dir = self._log_dir_option or Path(tempfile.mkdtemp(prefix="harness-env-"))
        self._log_dir.mkdir(parents=True, exist_ok=True)
        try:
            await self._database.launch(self._log_dir)
            relay = asyncio.create_task(self._start_relay(port=0))
            try:
                await self._database.wait_ready(self._startup_timeout)
            except BaseException:
                relay.cancel()
                await asyncio.gather(relay, return_exceptions=True)
                raise
            try:
                await relay
            except EnvError as exc:
                log.info("the relay started before the database answered (%s); again", exc)
                if self._relay is not None:
                    await self._relay.stop()
                await self._start_relay(port=0)
        except BaseException:
            await self.stop()
            raise

    async def _start_relay(self, port: int) -> None:
        assert self._log_dir is not None
        port_file = self._log_dir / "relay.port"
        port_file.unlink(missing_ok=True)
        settings = dataclasses.replace(self._settings, port=port,
                                       mongo_uri=self._database.uri)
        env = {**os.environ, **settings.to_env()}
        if self._relay_source is not None:
            # Another revision's relay: its ``harness`` package first on the path.
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(self._relay_source), env.get("PYTHONPATH")) if p)
        # -P: the current directory does not come before that revision's package.
        isolate = ["-P"] if self._relay_source is not None else []
        self._relay = ManagedProcess(
            "relay", [sys.executable, *isolate, "-m", "harness.relay", "--port-file",
                      str(port_file)],
            self._log_dir / "relay.log", env=env,
        )
        await self._relay.start()
        self._relay_port = await self._relay.wait_for_port_file(port_file,
                                                                 self._startup_timeout)
        relay = self._relay

        def alive() -> EnvError | None:
            if relay.running:
                return None
            return relay.failure(f"exited with status {relay.returncode} during start-up")

        try:
            await wait_for_health(self.relay_url, self._startup_timeout, alive)
        except EnvError as exc:
            raise relay.failure(str(exc)) from exc
        log.info("relay listening at %s", self.relay_url)

    async def restart_relay(self) -> None:
        """Stop the relay process and start it again on the same port."""
        if self._relay is None or self._relay_port is None:
            raise self._not_started()
        port = self._relay_port
        await self._relay.stop()
        await self._start_relay(port=port)

    async def stop(self) -> None:
        """Stop the relay, then the database. Idempotent."""
        try:
            if self._relay is not None:
                await self._relay.stop()
        finally:
            await self._database.stop()

    def logs(self) -> dict[str, str]:
        """The relay's and the database's output so far."""
        result: dict[str, str] = {}
        if self._log_dir is None:
            return result
        for name, path in (("relay", "relay.log"), ("mongo", "mongo.log"),
                           ("relay-apart", "apart/relay.log")):
            if (self._log_dir / path).exists():
                result[name] = (self._log_dir / path).read_text(errors="replace")
        return result

    @property
    def log_dir(self) -> Path:
        """Where the processes' logs are written (known once started)."""
        if self._log_dir is None:
            raise self._not_started()
        return self._log_dir

    async def _after_exit(self) -> None:
        if self._owns_log_dir and self._log_dir is not None:
            shutil.rmtree(self._log_dir, ignore_errors=True)

    def apart(self) -> ApartRelay:
        """A second reference relay beside this one (unstarted): for the scenarios that
        cannot share a relay, so they need not wait for the others (``schedule``)."""
        if self._log_dir is None:
            raise self._not_started()
        return ApartRelay(self)


APART_SUFFIX = "_apart"
"""Appended to the database name of a relay apart: its documents never meet the others'."""


class ApartRelay(LocalEnvironment):
    """A second reference relay with a started ``LocalEnvironment``'s settings, on the same
    database server but in a database of its own (``<name>_apart``), so that a relay-wide
    act (a restart and its recovery, a count of the relay's whole maps) touches nothing of
    the scenarios on the first relay. It starts and stops only its relay; its log is the
    first environment's ``relay-apart`` log."""

    _label = "relay apart"

    def __init__(self, main: LocalEnvironment) -> None:
        settings = dataclasses.replace(main.settings, database=main.database + APART_SUFFIX)
        super().__init__(settings, log_dir=main.log_dir / "apart",
                         startup_timeout=main._startup_timeout)
        self._database = main._database  # started and stopped by ``main``

    async def start(self) -> None:
        """Start the relay on the first environment's database server."""
        assert self._log_dir_option is not None  # always given: the first one's "apart"
        self._log_dir = self._log_dir_option
        self._log_dir.mkdir(parents=True, exist_ok=True)
        try:
            await self._start_relay(port=0)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop the relay (the database is the first environment's). Idempotent."""
        if self._relay is not None:
            await self._relay.stop()
