"""The relay's optional introspection endpoint (``GET /api/v1/debug/sessions``)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp

from harness.protocol import ADMIN_TOKEN_HEADER, Route

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    """The relay's maps, or why they are unavailable (``maps`` is None then)."""

    maps: dict[str, Any] | None
    reason: str = ""

    @property
    def available(self) -> bool:
        """True when the relay answered with its maps."""
        return self.maps is not None

    def keys(self, name: str) -> list[str]:
        """The keys of map ``name`` (empty when absent)."""
        entry = (self.maps or {}).get(name, {})
        return [str(k) for k in entry.get("keys", [])] if isinstance(entry, dict) else []

    def size(self, name: str) -> int | None:
        """The size of map ``name``, if reported."""
        entry = (self.maps or {}).get(name, {})
        size = entry.get("size") if isinstance(entry, dict) else None
        return size if isinstance(size, int) else None


async def fetch_sessions(relay_url: str, admin_token: str | None,
                         timeout: float = 5.0) -> Snapshot:
    """Read the relay's session maps. Never raises: an unavailable endpoint (no admin
    token, 404, 401/403, a network error, a malformed body) is a ``Snapshot`` saying why."""
    if not admin_token:
        return Snapshot(None, "no admin token was given, so the relay's session maps "
                              "cannot be read")
    url = relay_url.rstrip("/") + Route.DEBUG_SESSIONS
    try:
        async with asyncio.timeout(timeout), aiohttp.ClientSession() as session, \
                session.get(url, headers={ADMIN_TOKEN_HEADER: admin_token}) as answer:
            status = answer.status
            body = await answer.json(content_type=None) if status == 200 else None
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        log.warning("introspection at %s failed: %s", url, exc)
        return Snapshot(None, f"the introspection endpoint did not answer ({exc or 'timeout'})")
    if status == 404:
        return Snapshot(None, "the relay has no introspection endpoint (404)")
    if status != 200:
        return Snapshot(None, f"the introspection endpoint answered {status}")
    if not isinstance(body, dict) or not isinstance(body.get("maps"), dict):
        return Snapshot(None, "the introspection endpoint answered without maps")
    return Snapshot(body["maps"])
