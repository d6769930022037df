"""``clients.js`` (the real socket.io-client) run from a test: its JSON lines, and commands."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

CLIENTS = Path(__file__).resolve().parents[1] / "clients" / "js"


class JsClients:
    """``clients.js`` running: its JSON lines, read as they come."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.events: list[dict[str, Any]] = []
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            async with self._changed:
                self.events.append(json.loads(line))
                self._changed.notify_all()

    def of(self, client: str, event: str | None = None) -> list[dict[str, Any]]:
        """What ``client`` saw so far (only ``event`` records, when given)."""
        return [e for e in self.events
                if e["client"] == client and (event is None or e["event"] == event)]

    def count(self, client: str, event: str) -> int:
        """How many times ``client`` saw ``event`` so far."""
        return len(self.of(client, event))

    async def wait(self, done: Callable[[], Any], timeout: float) -> None:
        """Until ``done()`` holds; fails with what was seen when it does not in time."""
        async def until() -> None:
            async with self._changed:
                await self._changed.wait_for(done)
        try:
            await asyncio.wait_for(until(), timeout)
        except TimeoutError:
            pytest.fail(f"not within {timeout:g} s; the clients saw:\n" +
                        "\n".join(json.dumps(e) for e in self.events))

    async def send(self, command: dict[str, Any]) -> None:
        """Write one command line (``{"cmd": "emit", ...}``) to the clients."""
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(command) + "\n").encode())
        await self.process.stdin.drain()

    async def close(self) -> None:
        """End the clients (stdin closed) and the reader."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.process.wait(), 5)
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


async def start_js_clients(url: str, clients: list[dict[str, Any]],
                           options: dict[str, Any]) -> JsClients:
    """Run ``clients.js`` with these clients (each may carry its own ``url``) and options."""
    config = {"url": url, "clients": clients, "options": options}
    process = await asyncio.create_subprocess_exec(
        "node", str(CLIENTS / "clients.js"), json.dumps(config),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    return JsClients(process)
