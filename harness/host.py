"""This machine, for every layer: a free port, whether a process lives, the port file a
server writes once it listens (so a parent can find a port 0 bind), and the open-files
limit many sockets need."""

from __future__ import annotations

import os
import resource
import socket
import tempfile
from pathlib import Path

__all__ = ["free_port", "pid_alive", "raise_open_files_limit", "write_port_file"]


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


def raise_open_files_limit() -> int:
    """Raise this process's soft limit on open files to its hard limit (children started
    afterwards inherit it); returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            return soft
        return target
    return soft
