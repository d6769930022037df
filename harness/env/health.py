"""Waiting for a relay's ``/healthz``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp

from harness.errors import EnvError
from harness.protocol import Route


async def wait_for_health(relay_url: str, timeout: float,
                          alive: Callable[[], EnvError | None] | None = None,
                          path: str | None = None) -> None:
    """Poll ``GET relay_url/healthz`` until it answers 200 ``{"ok": true}``; with ``path``
    (a foreign relay's own readiness route), until ``GET relay_url + path`` answers 2xx.

    ``alive`` returns an error when the process behind the relay has died, which ends the
    wait early. Raises ``EnvError`` after ``timeout`` seconds.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last = "no answer"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while loop.time() < deadline:
            if alive is not None and (problem := alive()) is not None:
                raise problem
            try:
                async with session.get(relay_url + (path or Route.HEALTHZ)) as response:
                    if path is not None and 200 <= response.status < 300:
                        return
                    body = await response.json(content_type=None)
                    if response.status == 200 and isinstance(body, dict) and body.get("ok"):
                        return
                    last = f"HTTP {response.status} {body}"
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                last = f"{type(exc).__name__}: {exc}"
            await asyncio.sleep(0.05)
    where = relay_url + (path or Route.HEALTHZ)
    raise EnvError(f"relay not ready: {where} did not answer within {timeout:g} s (last: {last})")
