"""Run the stand-in as a child process (its own process group), for fixtures and environments.

with StandInProcess(workdir) as standin:
    client = MongoClient(standin.uri)
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from harness.errors import EnvError

logger = logging.getLogger(__name__)

_POLL_INTERVAL = 0.02


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


class StandInProcess:
    """``python -m harness.mongowire`` in a new session; ``uri`` once started.

    ``start()`` waits up to ``timeout`` seconds for the port file and raises ``EnvError`` with
    the tail of the child's log if it does not appear. ``stop()`` signals the whole process
    group (SIGTERM, then SIGKILL after ``stop_timeout``), reaps it and sets ``returncode``.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        host: str = "127.0.0.1",
        timeout: float = 10.0,
        stop_timeout: float = 5.0,
        log_level: str = "INFO",
    ) -> None:
        self.workdir = workdir
        self.host = host
        self.timeout = timeout
        self.stop_timeout = stop_timeout
        self.log_level = log_level
        self.port_file = workdir / "mongowire.port"
        self.log_path = workdir / "mongowire.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._port: int | None = None
        self.returncode: int | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise EnvError("the MongoDB stand-in process is not started")
        return self._port

    @property
    def uri(self) -> str:
        return f"mongodb://{self.host}:{self.port}/"

    def start(self) -> StandInProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port_file.unlink(missing_ok=True)
        command = [
            sys.executable,
            "-m",
            "harness.mongowire",
            "--host",
            self.host,
            "--port",
            "0",
            "--port-file",
            str(self.port_file),
            "--log-level",
            self.log_level,
        ]
        with open(self.log_path, "wb") as log:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._port = self._wait_for_port()
        except BaseException:
            self.stop()
            raise
        logger.info("MongoDB stand-in process %d on port %d", self._process.pid, self._port)
        return self

    def _wait_for_port(self) -> int:
        assert self._process is not None
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.port_file.exists():
                return int(self.port_file.read_text(encoding="utf-8").strip())
            code = self._process.poll()
            if code is not None:
                raise EnvError(
                    f"MongoDB stand-in exited with code {code} before listening; "
                    f"log {self.log_path}:\n{_tail(self.log_path)}"
                )
            time.sleep(_POLL_INTERVAL)  # a file appearing cannot be awaited portably
        raise EnvError(
            f"MongoDB stand-in did not write {self.port_file} within "
            f"{self.timeout:g} s; log {self.log_path}:\n{_tail(self.log_path)}"
        )

    def stop(self) -> None:
        """Terminate the process group and reap it (idempotent)."""
        process, self._process = self._process, None
        if process is None:
            return
        for signum in (signal.SIGTERM, signal.SIGKILL):
            if process.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signum)
            try:
                process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                logger.warning("MongoDB stand-in %d ignored %s", process.pid, signum.name)
        self.returncode = process.wait()

    def __enter__(self) -> StandInProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


__all__ = ["StandInProcess"]
