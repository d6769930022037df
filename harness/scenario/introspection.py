"""The relay's optional introspection endpoint (``GET /api/v1/debug/sessions``, contract
section 10), read honestly.

The answer is ``{"ok": true, "maps": {NAME: {"size": N, "keys": [...]}, ...}}``. A map the
answer does not name is *unknown*, never empty: ``Snapshot.keys`` returns None for it and
every check that needs it is skipped with the reason (``Snapshot.missing``). A relay may add
maps and fields. Why the maps cannot be read at all is a ``Snapshot`` with ``maps`` None and
an ``Unavailable`` kind: ``refused`` (401/403: a wrong admin token, which a run must say
loudly, not read as "no endpoint"), or ``absent`` (no token, 404, a timeout, an error status,
another shape), where the checks are skipped with one clear line.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp

from harness.protocol import ADMIN_TOKEN_HEADER, Route

log = logging.getLogger(__name__)

Unavailable = Literal["absent", "refused"]


@dataclass(frozen=True)
class Snapshot:
    """The relay's maps, or why they are unavailable (``maps`` is None then)."""

    maps: dict[str, Any] | None
    reason: str = ""
    unavailable: Unavailable | None = None

    @property
    def available(self) -> bool:
        """True when the relay answered with its maps."""
        return self.maps is not None

    @property
    def refused(self) -> bool:
        """True when the endpoint refused the admin token (401/403)."""
        return self.unavailable == "refused"

    @property
    def names(self) -> list[str]:
        """The names of the maps the answer holds, sorted."""
        return sorted(self.maps or {})

    def keys(self, name: str) -> list[str] | None:
        """The keys of map ``name``; None when the answer does not name that map (or gives
        it no ``keys`` list): unknown, not empty."""
        entry = (self.maps or {}).get(name)
        keys = entry.get("keys") if isinstance(entry, dict) else None
        return [str(k) for k in keys] if isinstance(keys, list) else None

    def size(self, name: str) -> int | None:
        """The size of map ``name``, if reported (else the number of its keys, if known)."""
        entry = (self.maps or {}).get(name)
        size = entry.get("size") if isinstance(entry, dict) else None
        if isinstance(size, int) and not isinstance(size, bool):
            return size
        keys = self.keys(name)
        return None if keys is None else len(keys)

    def missing(self, name: str) -> str:
        """Why map ``name`` cannot be read: the answer's names, for a skip reason."""
        entry = (self.maps or {}).get(name)
        if entry is not None:
            return f"the relay's introspection answer has a {name} entry without a keys list"
        return (f"the relay's introspection answer does not name the map {name} (it names: "
                f"{', '.join(self.names) or 'none'}); an unnamed map is unknown, not empty")


async def fetch_sessions(relay_url: str, admin_token: str | None,
                         timeout: float = 5.0) -> Snapshot:
    """Read the relay's session maps, waiting up to ``timeout`` s. Never raises: an endpoint
    that cannot be read is a ``Snapshot`` saying why (see the module docstring)."""
    if not admin_token:
        return Snapshot(None, "no admin token was given (--admin-token), so the relay's "
                              "session maps cannot be read", "absent")
    url = relay_url.rstrip("/") + Route.DEBUG_SESSIONS
    try:
        async with asyncio.timeout(timeout), aiohttp.ClientSession() as session, \
                session.get(url, headers={ADMIN_TOKEN_HEADER: admin_token}) as answer:
            status = answer.status
            body = await answer.json(content_type=None) if status == 200 else None
    except TimeoutError:
        log.warning("introspection at %s: no answer within %g s", url, timeout)
        return Snapshot(None, f"the introspection endpoint did not answer within {timeout:g} s",
                        "absent")
    except (aiohttp.ClientError, ValueError) as exc:
        log.warning("introspection at %s failed: %s", url, exc)
        what = "answered a body that is not JSON" if isinstance(exc, ValueError) \
            else f"could not be reached ({type(exc).__name__}: {exc})"
        return Snapshot(None, f"the introspection endpoint {what}", "absent")
    if status in (401, 403):
        return Snapshot(None, f"the introspection endpoint refused the admin token ({status} "
                              f"{'unauthorized' if status == 401 else 'forbidden'}); check "
                              "--admin-token", "refused")
    if status == 404:
        return Snapshot(None, "the relay has no introspection endpoint (404)", "absent")
    if status != 200:
        return Snapshot(None, f"the introspection endpoint answered HTTP {status}", "absent")
    if not isinstance(body, dict) or not isinstance(body.get("maps"), dict):
        return Snapshot(None, "the introspection endpoint answered 200 without a \"maps\" "
                              "object (contract section 10)", "absent")
    return Snapshot(body["maps"])
