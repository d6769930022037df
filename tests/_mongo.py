"""Where the test database comes from: $GADGET_TEST_MONGO_URI, a local mongod, or the stand-in."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pymongo
from pymongo.errors import PyMongoError

from harness.errors import EnvError
from harness.mongowire import StandInProcess

ENV_VAR = "GADGET_TEST_MONGO_URI"
START_TIMEOUT = 10.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_ping(uri: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EnvError(f"mongod exited with {process.returncode}; see {log}")
        client: pymongo.MongoClient[dict[str, object]]
        with (
            pymongo.MongoClient(uri, serverSelectionTimeoutMS=250) as client,
            contextlib.suppress(PyMongoError),
        ):
            client.admin.command("ping")
            return
    raise EnvError(f"mongod did not answer ping within {START_TIMEOUT:g} s; see {log}")


@contextlib.contextmanager
def _mongod(mongod: str, workdir: Path) -> Iterator[str]:
    dbpath, log = workdir / "db", workdir / "mongod.log"
    dbpath.mkdir(parents=True)
    port = _free_port()
    process = subprocess.Popen(
        [
            mongod,
            "--dbpath",
            str(dbpath),
            "--port",
            str(port),
            "--bind_ip",
            "127.0.0.1",
            "--logpath",
            str(log),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        uri = f"mongodb://127.0.0.1:{port}/"
        _wait_for_ping(uri, process, log)
        yield uri
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextlib.contextmanager
def mongo_server(workdir: Path) -> Iterator[str]:
    """Yield a MongoDB URI for tests, starting (and finally stopping) a server if needed."""
    uri = os.environ.get(ENV_VAR)
    if uri:
        yield uri
        return
    mongod = shutil.which("mongod")
    if mongod:
        with _mongod(mongod, workdir) as uri:
            yield uri
        return
    with StandInProcess(workdir) as standin:
        yield standin.uri
