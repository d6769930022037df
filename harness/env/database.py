"""The embedded database: a real ``mongod`` when one is on PATH, else the wire-protocol stand-in."""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import sys
import tempfile
from pathlib import Path
from typing import Literal

from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from harness.env.processes import ManagedProcess
from harness.errors import ConfigError, EnvError
from harness.host import free_port

log = logging.getLogger(__name__)

DatabaseChoice = Literal["auto", "mongod", "standin"]
DATABASE_CHOICES: tuple[DatabaseChoice, ...] = ("auto", "mongod", "standin")


class EmbeddedDatabase:
    """Starts and stops one database process on a loopback port; ``kind`` says which."""

    def __init__(self, choice: DatabaseChoice = "auto", host: str = "127.0.0.1") -> None:
        if choice not in DATABASE_CHOICES:
            raise ConfigError(f"--database-server: expected one of {DATABASE_CHOICES}, "
                              f"got {choice!r}")
        mongod = shutil.which("mongod")
        if choice == "mongod" and mongod is None:
            raise EnvError("--database-server mongod: no `mongod` on PATH")
        self.kind: Literal["mongod", "standin"] = (
            "mongod" if mongod is not None and choice != "standin" else "standin"
        )
        self._mongod = mongod
        self._work_dir = Path(".")
        self._host = host
        self._process: ManagedProcess | None = None
        self._data_dir: tempfile.TemporaryDirectory[str] | None = None
        self.port: int | None = None

    @property
    def uri(self) -> str:
        """The MongoDB URI of the running database."""
        if self.port is None:
            raise EnvError("the database is not running")
        return f"mongodb://{self._host}:{self.port}/?directConnection=true"

    @property
    def process(self) -> ManagedProcess | None:
        """The database's process, once started."""
        return self._process

    async def start(self, work_dir: Path, timeout: float = 20.0) -> None:
        """Start the database (its log in ``work_dir``), wait for a ping; raises ``EnvError``."""
        await self.launch(work_dir)
        await self.wait_ready(timeout)

    async def launch(self, work_dir: Path) -> None:
        """Start the database process (its log in ``work_dir``) without waiting for it:
        ``uri`` is known at once, so whatever uses the database can start meanwhile."""
        self._work_dir = work_dir
        if self.kind == "mongod":
            await self._start_mongod()
        else:
            await self._start_standin()

    async def wait_ready(self, timeout: float = 20.0) -> None:
        """Wait until the launched database answers a ping; raises ``EnvError``."""
        await self._wait_for_ping(timeout)
        log.info("database (%s) listening on %s:%s", self.kind, self._host, self.port)

    async def _start_standin(self) -> None:
        # The socket is bound and listening here and handed down: the port is known before
        # the stand-in has started, and a client connecting meanwhile waits in the backlog.
        listening = socket.create_server((self._host, 0))
        try:
            listening.set_inheritable(True)
            self.port = listening.getsockname()[1]
            self._process = ManagedProcess(
                "database (wire-protocol stand-in)",
                [sys.executable, "-m", "harness.mongowire", "--fd", str(listening.fileno())],
                self._work_dir / "mongo.log", pass_fds=(listening.fileno(),),
            )
            await self._process.start()
        finally:
            listening.close()  # the child holds its own copy

    async def _start_mongod(self) -> None:
        assert self._mongod is not None
        self._data_dir = tempfile.TemporaryDirectory(prefix="harness-mongod-")
        self.port = free_port(self._host)
        self._process = ManagedProcess(
            "database (mongod)",
            [self._mongod, "--dbpath", self._data_dir.name, "--bind_ip", self._host,
             "--port", str(self.port), "--quiet"],
            self._work_dir / "mongo.log",
        )
        await self._process.start()

    async def _wait_for_ping(self, timeout: float) -> None:
        assert self._process is not None
        client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
            self.uri, serverSelectionTimeoutMS=500, connectTimeoutMS=500)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                if not self._process.running:
                    raise self._process.failure(
                        f"exited with status {self._process.returncode} during start-up")
                try:
                    await client.admin.command("ping")
                    return
                except PyMongoError as exc:
                    if loop.time() > deadline:
                        raise self._process.failure(
                            f"did not answer a ping within {timeout:g} s ({exc})") from exc
                await asyncio.sleep(0.05)
        finally:
            await client.close()

    async def stop(self) -> None:
        """Stop the process and remove a temporary data directory. Idempotent."""
        if self._process is not None:
            await self._process.stop()
        if self._data_dir is not None:
            self._data_dir.cleanup()
            self._data_dir = None
