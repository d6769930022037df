"""This machine, for every layer: a free port, whether a process lives, and the port file
a server writes once it listens (so a parent can find a port 0 bind)."""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

__all__ = ["free_port", "pid_alive", "write_port_file"]


def free_port(host: str = "127.0.0.1") -> int:
    """A port free on ``host`` right now (for servers that cannot report the one they bind)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def pid_alive(pid: int) -> bool:
    """True when a process with ``pid`` exists (owned by anyone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_port_file(path: Path, port: int) -> None:
    """Write ``port`` to ``path`` atomically (a reader never sees a partial file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{port}\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
