"""``HttpActor``: HTTP calls to the relay, recorded into the same history as the sockets."""

from __future__ import annotations

import asyncio
import json as jsonlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from harness.errors import ConfigError, EnvError, ScenarioTimeout
from harness.sim.history import MessageHistory

__all__ = ["HttpActor", "HttpResult"]

log = logging.getLogger(__name__)

_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class HttpResult:
    """An HTTP answer: its status and its body (parsed JSON, else text)."""

    status: int
    body: Any


class HttpActor:
    """An actor (kind "http") that makes HTTP requests to the relay."""

    def __init__(self, name: str, relay_url: str, history: MessageHistory) -> None:
        if not isinstance(relay_url, str) or not relay_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"{name}: relay URL must start with http:// or https://, got {relay_url!r}"
            )
        self.name = name
        self.relay_url = relay_url.rstrip("/")
        self.history = history
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"HttpActor(name={self.name!r}, relay_url={self.relay_url!r})"

    async def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        timeout: float = 15.0,
    ) -> HttpResult:
        """Send ``method path`` (``token`` as a Bearer credential) and return the answer.

        Records "sent" (event ``"POST /path"``, the JSON body, headers without
        Authorization) and "received" (the body; meta status, elapsed). Any status is
        returned, not raised. Raises ``ScenarioTimeout`` after ``timeout`` seconds and
        ``EnvError`` when the relay cannot be reached.
        """
        verb = method.upper()
        if verb not in _METHODS:
            raise ConfigError(f"{self.name}: unknown HTTP method {method!r}")
        if not path.startswith("/"):
            raise ConfigError(f"{self.name}: HTTP path must start with '/', got {path!r}")
        sent_headers = dict(headers or {})
        if token is not None:
            sent_headers["Authorization"] = f"Bearer {token}"
        shown = {k: v for k, v in sent_headers.items() if k.lower() != "authorization"}
        event = f"{verb} {path}"
        sent = self.history.record(self.name, "http", "sent", event, json, headers=shown)
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        started = time.monotonic()
        try:
            async with (
                asyncio.timeout(timeout),
                self._session.request(
                    verb, self.relay_url + path, headers=sent_headers, json=json
                ) as answer,
            ):
                raw = await answer.read()
                status = answer.status
                is_json = answer.content_type == "application/json"
        except TimeoutError:
            self.history.record(
                self.name, "http", "note", "http-timeout", event, timeout=timeout, sent_seq=sent.seq
            )
            raise ScenarioTimeout(
                f"{self.name}: no answer to {event} within {timeout:g}s"
            ) from None
        except aiohttp.ClientError as exc:
            self.history.record(
                self.name, "http", "note", "http-error", event, error=str(exc), sent_seq=sent.seq
            )
            raise EnvError(f"{self.name}: {event} to {self.relay_url} failed: {exc}") from exc
        elapsed = time.monotonic() - started
        body = _decode(raw, is_json)
        log.debug("%s: %s -> %d in %.3fs", self.name, event, status, elapsed)
        self.history.record(
            self.name,
            "http",
            "received",
            event,
            body,
            status=status,
            elapsed=elapsed,
            sent_seq=sent.seq,
        )
        return HttpResult(status, body)

    async def close(self) -> None:
        """Close the HTTP session; idempotent."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()


def _decode(raw: bytes, is_json: bool) -> Any:
    text = raw.decode("utf-8", errors="replace")
    if is_json or text[:1] in ("{", "["):
        try:
            return jsonlib.loads(text)
        except ValueError:
            return text
    return text
