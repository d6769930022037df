"""``harness up`` and ``harness down``: the embedded environment for people and scripts."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click

from harness.commands.options import relay_settings_from, relay_tuning_options
from harness.env.database import DATABASE_CHOICES
from harness.env.local import LocalEnvironment
from harness.errors import EnvError
from harness.host import pid_alive
from harness.uri import mask_uri

log = logging.getLogger(__name__)

DEFAULT_STATE_FILE = Path(".harness/env.json")

state_file_option = click.option(
    "--state-file", type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_STATE_FILE, show_default=True,
    help="Where a running environment records its URLs and pid.",
)


def _write_state(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    # The state holds the admin token: readable by its owner only.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(state, handle, indent=2)
    tmp.replace(path)


def _read_state(path: Path) -> dict[str, Any] | None:
    try:
        state: object = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise EnvError(f"--state-file {path}: unreadable ({exc})") from exc
    pid = state.get("pid") if isinstance(state, dict) else None
    # Never 0 or negative (a process group, or every process), nor init, nor past pid_t.
    if type(pid) is not int or not 1 < pid < 2**31:
        raise EnvError(f"--state-file {path}: not a state file of `harness up` (no valid pid);"
                       f" if no environment runs, delete it: rm {path}")
    assert isinstance(state, dict)
    return state


def _status_line(state: dict[str, Any]) -> str:
    return (f"up: relay {state.get('relay_url')} | database {state.get('database_kind')} "
            f"{mask_uri(str(state.get('mongo_uri')))} db={state.get('database')} "
            f"| pid {state['pid']}")


# Who a pid is. On Linux: /proc/<pid>/stat's start time (clock ticks since boot) and the
# boot id, recorded by `harness up` itself, tell that the pid is still that very process
# (pids are reused); a state file without them falls back to the command line. Elsewhere,
# `ps` shows the command line. When neither can be read, the answer is "unsure".
_PROC = Path("/proc")
_BOOT_ID = _PROC / "sys/kernel/random/boot_id"


def _start_ticks(pid: int) -> int | None:
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
        # "pid (comm) state ppid ...": comm may hold spaces and ')'; starttime is field 22.
        return int(stat.rpartition(")")[2].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _boot_id() -> str | None:
    try:
        return _BOOT_ID.read_text().strip() or None
    except OSError:
        return None


def _identity(pid: int) -> dict[str, Any]:
    """What ``harness down`` checks later to know ``pid`` is still this process."""
    ticks, boot = _start_ticks(pid), _boot_id()
    return {"start_ticks": ticks, "boot_id": boot} if ticks is not None and boot else {}


def _command_line(pid: int) -> list[str] | None:
    try:
        raw = (_PROC / str(pid) / "cmdline").read_bytes()
        return [arg.decode(errors="replace") for arg in raw.split(b"\0") if arg]
    except OSError:
        pass
    try:  # no /proc (macOS, BSD): ask ps
        done = subprocess.run(["ps", "-o", "args=", "-p", str(pid)], capture_output=True,
                              text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.split() if done.returncode == 0 and done.stdout.strip() else None


def _is_harness_up(argv: list[str]) -> bool:
    names = [Path(arg).name for arg in argv]  # .../bin/harness up, python -m harness.cli up
    return any(name in ("harness", "harness.cli") for name in names) and "up" in names


def _not_ours(pid: int, state: dict[str, Any]) -> tuple[bool, str] | None:
    """None when live ``pid`` is the environment ``state`` records; else (sure, why not):
    sure=True when it is certainly another process, False when it cannot be told."""
    recorded = state.get("process")
    if isinstance(recorded, dict) and recorded.get("start_ticks") is not None:
        ticks, boot = _start_ticks(pid), _boot_id()
        if ticks is None or boot is None:
            return False, f"cannot read /proc/{pid}/stat to tell who it is"
        if boot != recorded.get("boot_id"):
            return True, "the state file was written before the machine restarted"
        if ticks != recorded.get("start_ticks"):
            return True, f"pid {pid} is another process now (it started at another time)"
        return None
    argv = _command_line(pid)
    if argv is None:
        return False, f"cannot read the command line of pid {pid} to tell who it is"
    if _is_harness_up(argv):
        return None
    shown = " ".join(argv)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return True, f"pid {pid} runs {shown!r}, not `harness up`"


async def _serve(env: LocalEnvironment, state_file: Path) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with env:
        state = {
            "pid": os.getpid(), "process": _identity(os.getpid()),
            "relay_url": env.relay_url, "mongo_uri": env.mongo_uri,
            "database": env.database, "database_kind": env.database_kind,
            "admin_token": env.admin_token, "log_dir": str(env.log_dir),
            "started_at": time.time(),
        }
        _write_state(state_file, state)
        click.echo(_status_line(state))
        click.echo(f"logs: {env.log_dir}  (admin token in {state_file})")
        try:
            await stop.wait()
        finally:
            state_file.unlink(missing_ok=True)


@click.command("up")
@relay_tuning_options
@click.option("--database-server", type=click.Choice(DATABASE_CHOICES), default="auto",
              show_default=True, envvar="GADGET_DATABASE_SERVER",
              help="auto: mongod when on PATH, else the wire-protocol stand-in.")
@click.option("--detach", is_flag=True, help="Start in the background; stop with `harness down`.")
@click.option("--startup-timeout", type=float, default=20.0, show_default=True,
              help="Seconds to wait for each part to come up.")
@state_file_option
def up_command(database_server: str, detach: bool, startup_timeout: float, state_file: Path,
               **params: Any) -> None:
    """Start the embedded environment: the reference relay on an embedded database."""
    existing = _read_state(state_file)
    if existing and pid_alive(existing["pid"]):
        verdict = _not_ours(existing["pid"], existing)
        if verdict is None:
            raise EnvError(f"already running ({_status_line(existing)}); `harness down` first")
        sure, why = verdict
        if not sure:
            raise EnvError(f"--state-file {state_file} names a running pid ({why}); if no "
                           f"environment runs, delete it: rm {state_file}")
        log.warning("--state-file %s is stale (%s): replacing it", state_file, why)
    if detach:
        _detach(state_file, startup_timeout)
        return
    logging.basicConfig(level=params["log_level"].upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    env = LocalEnvironment(relay_settings_from(params),
                           database_server=database_server,  # type: ignore[arg-type]
                           log_dir=state_file.parent / "logs", startup_timeout=startup_timeout)
    asyncio.run(_serve(env, state_file))


def _detach(state_file: Path, startup_timeout: float) -> None:
    argv = [arg for arg in sys.argv[1:] if arg != "--detach"]
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state_file.unlink(missing_ok=True)
    log_path = state_file.parent / "up.log"
    with log_path.open("ab") as log_file:
        child = subprocess.Popen(
            [sys.executable, "-m", "harness.cli", *argv, "--state-file", str(state_file)],
            stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    wait = 2 * startup_timeout + 5
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        state = _read_state(state_file)
        if state is not None:
            click.echo(_status_line(state))
            return
        if child.poll() is not None:
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-20:])
            raise EnvError(f"harness up --detach failed (status {child.returncode}):\n{tail}")
        time.sleep(0.05)
    child.terminate()
    raise EnvError(f"harness up --detach: not up within {wait:g} s; see {log_path}")


@click.command("down")
@state_file_option
@click.option("--timeout", type=float, default=15.0, show_default=True,
              help="Seconds to wait for the environment to stop.")
def down_command(state_file: Path, timeout: float) -> None:
    """Stop an environment started with `harness up --detach`."""
    state = _read_state(state_file)
    if state is None:
        click.echo(f"nothing running (no {state_file})")
        return
    pid: int = state["pid"]
    if not pid_alive(pid):
        state_file.unlink(missing_ok=True)
        click.echo(f"nothing running (pid {pid} is gone); removed the stale {state_file}")
        return
    verdict = _not_ours(pid, state)
    if verdict is not None:
        _sure, why = verdict
        raise EnvError(f"--state-file {state_file} names pid {pid}, not signalled: {why}. "
                       f"If no environment runs, delete the file: rm {state_file}")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid_alive(pid):
        raise EnvError(f"pid {pid} still running after {timeout:g} s")
    state_file.unlink(missing_ok=True)
    click.echo(f"down: stopped pid {pid}")
