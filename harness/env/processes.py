"""Child processes that cannot outlive their parent: own process group, death signal, log file."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from harness.errors import EnvError

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when the parent dies (Linux), even by SIGKILL."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class ManagedProcess:
    """One child process in its own process group, its output in ``log_path``."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path,
                 env: Mapping[str, str] | None = None, pass_fds: Sequence[int] = ()) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.pass_fds = tuple(pass_fds)
        self._process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        """The child's pid while it runs."""
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        """True while the child has not exited."""
        return self._process is not None and self._process.returncode is None

    async def start(self) -> None:
        """Start the child. Raises ``EnvError`` when it cannot be executed."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log_file:
            try:
                self._process = await asyncio.create_subprocess_exec(
                    *self.argv, stdin=asyncio.subprocess.DEVNULL, stdout=log_file,
                    stderr=asyncio.subprocess.STDOUT, env=self.env, pass_fds=self.pass_fds,
                    start_new_session=True, preexec_fn=_die_with_parent,
                )
            except OSError as exc:
                raise EnvError(f"{self.name}: cannot start {self.argv[0]}: {exc}") from exc
        log.debug("%s started as pid %s", self.name, self._process.pid)

    def log_tail(self, lines: int = 30) -> str:
        """The last ``lines`` lines of the child's output."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def failure(self, what: str) -> EnvError:
        """An ``EnvError`` naming this process and showing the tail of its log."""
        tail = self.log_tail()
        detail = f"\n--- last lines of {self.log_path} ---\n{tail}" if tail else ""
        return EnvError(f"{self.name} {what}{detail}")

    async def wait_for_port_file(self, path: Path, timeout: float) -> int:
        """Wait until the child writes its bound port to ``path``; raises ``EnvError``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if path.exists():
                text = path.read_text().strip()
                if text.isdigit():
                    return int(text)
            if not self.running:
                raise self.failure(f"exited with status {self.returncode} before listening")
            await asyncio.sleep(0.02)
        raise self.failure(f"did not report a listening port within {timeout:g} s")

    @property
    def returncode(self) -> int | None:
        """The exit status once the child has exited."""
        return self._process.returncode if self._process else None

    async def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM the child's process group, SIGKILL it after ``timeout``. Idempotent."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        self._signal_group(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            log.warning("%s ignored SIGTERM for %.1f s; killing it", self.name, timeout)
            self._signal_group(signal.SIGKILL)
            await process.wait()
        log.debug("%s stopped (status %s)", self.name, process.returncode)

    def _signal_group(self, signum: int) -> None:
        assert self._process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signum)
