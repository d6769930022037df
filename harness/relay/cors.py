"""Which browser origins may call the relay (CORS), on the Socket.IO path and the HTTP API.

``RelaySettings.cors_origins`` (``--cors-origin``, ``GADGET_CORS_ORIGIN``) names them:

    (empty, the default)  the relay's own origin, and loopback origins on any port:
                          http(s)://127.0.0.1:*, http(s)://localhost:*, http(s)://[::1]:*
    entries               those origins (``http://host:*`` for any port) and the relay's own
    ``*``                 any origin, without credentials (``Access-Control-Allow-Origin: *``
                          on the HTTP API; engine.io echoes the origin)

Socket.IO: python-engineio checks the ``Origin`` of every engine.io request against
``CorsPolicy.socketio_options()`` and refuses a foreign one (400, no
``Access-Control-Allow-Origin``). HTTP API: ``cors_middleware`` answers a preflight
(``OPTIONS`` with ``Access-Control-Request-Method``) 204 with the allowed methods and headers
for an allowed origin and 403 for any other, and adds ``Access-Control-Allow-Origin`` and
``Vary: Origin`` to the answers to an allowed origin. A request from a foreign origin that
needs no preflight is still answered, without CORS headers: the browser withholds it from
the page. Origins compare by scheme, lower-cased host and port (the default port when none
is given), so ``http://LOCALHOST`` is ``http://localhost:80``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web

from harness.protocol import ADMIN_TOKEN_HEADER, SOCKETIO_PATH, ErrorCode
from harness.settings import CORS_ANY, CORS_ORIGIN_PATTERN

__all__ = ["DEFAULT_ORIGINS", "SOCKETIO_ENDPOINT", "CorsPolicy", "cors_middleware",
           "own_origin"]

DEFAULT_ORIGINS: Final = tuple(f"{scheme}://{host}:*" for host in ("127.0.0.1", "localhost",
                                                                    "[::1]")
                               for scheme in ("http", "https"))
"""Who may call a relay started without ``--cors-origin`` (besides its own origin)."""

SOCKETIO_ENDPOINT: Final = "/" + SOCKETIO_PATH.strip("/") + "/"
"""The engine.io route (python-engineio answers CORS there itself)."""

ALLOWED_METHODS: Final = "GET, HEAD, POST, OPTIONS"
ALLOWED_HEADERS: Final = f"Authorization, Content-Type, {ADMIN_TOKEN_HEADER}"
PREFLIGHT_MAX_AGE: Final = 600  # seconds a browser may cache a preflight answer

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}

Fail = Callable[[int, str, str], web.Response]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class _Origin:
    scheme: str
    host: str
    port: int | None  # None: any port (only in an allowed entry)

    @classmethod
    def parse(cls, text: str, *, any_port: bool = False) -> _Origin | None:
        """``scheme://host[:port]`` (``:*`` only when ``any_port``), or None."""
        match = CORS_ORIGIN_PATTERN.fullmatch(text)
        if match is None:
            return None
        scheme, port = match["scheme"].lower(), match["port"]
        if port == "*":
            if not any_port:
                return None
            return cls(scheme, match["host"].lower(), None)
        number = _DEFAULT_PORTS[scheme] if port is None else int(port)
        if not 0 < number <= 65535:
            return None
        return cls(scheme, match["host"].lower(), number)

    def admits(self, other: _Origin) -> bool:
        return (self.scheme, self.host) == (other.scheme, other.host) and \
            self.port in (None, other.port)


def own_origin(request: web.BaseRequest) -> str:
    """The origin a page served by this relay would have: ``scheme://Host``."""
    return f"{request.scheme}://{request.host}"


class CorsPolicy:
    """The origins of ``RelaySettings.cors_origins`` (validated there), ready to match."""

    def __init__(self, origins: tuple[str, ...] = ()) -> None:
        self.any_origin = CORS_ANY in origins
        entries = origins or DEFAULT_ORIGINS
        self._allowed = tuple(parsed for entry in entries if entry != CORS_ANY
                              if (parsed := _Origin.parse(entry, any_port=True)) is not None)

    def allows(self, origin: str | None, own: str | None = None) -> bool:
        """True when a browser page of ``origin`` may call the relay whose own origin is
        ``own``. A missing, ``null`` or malformed origin is never allowed (unless ``*``)."""
        if origin is None:
            return False
        if self.any_origin:
            return True
        parsed = _Origin.parse(origin)
        if parsed is None:
            return False
        if own is not None and _Origin.parse(own) == parsed:
            return True
        return any(allowed.admits(parsed) for allowed in self._allowed)

    def socketio_options(self) -> dict[str, Any]:
        """``socketio.AsyncServer`` keyword arguments for this policy."""
        if self.any_origin:
            return {"cors_allowed_origins": CORS_ANY, "cors_credentials": False}
        return {"cors_allowed_origins": self._engineio_allows, "cors_credentials": True}

    def _engineio_allows(self, origin: str | None,
                         environ: Mapping[str, Any] | None = None) -> bool:
        # python-engineio calls this with (origin, environ) (and, should that raise
        # TypeError, with origin alone); the aiohttp driver puts the request in environ.
        request = (environ or {}).get("aiohttp.request")
        own = own_origin(request) if isinstance(request, web.BaseRequest) else None
        return self.allows(origin, own)

    def headers(self, origin: str, *, preflight: bool) -> dict[str, str]:
        """The CORS headers of an answer to an allowed ``origin``."""
        headers = {"Access-Control-Allow-Origin": CORS_ANY if self.any_origin else origin}
        if not self.any_origin:
            headers["Access-Control-Allow-Credentials"] = "true"
        if preflight:
            headers.update({"Access-Control-Allow-Methods": ALLOWED_METHODS,
                            "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                            "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE)})
        return headers


def _vary_origin(response: web.StreamResponse) -> None:
    vary = response.headers.get("Vary")
    if vary is None:
        response.headers["Vary"] = "Origin"
    elif "origin" not in vary.lower():
        response.headers["Vary"] = f"{vary}, Origin"


def cors_middleware(policy: CorsPolicy, fail: Fail) -> Callable[..., Any]:
    """An aiohttp middleware applying ``policy`` to every route but engine.io's.

    ``fail(status, code, message)`` makes the relay's JSON error (the 403 of a refused
    preflight).
    """

    @web.middleware
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is None or request.path == SOCKETIO_ENDPOINT:
            return await handler(request)
        allowed = policy.allows(origin, own_origin(request))
        response: web.StreamResponse
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            if not allowed:
                response = fail(403, ErrorCode.FORBIDDEN,
                                "this origin may not call the relay (see --cors-origin)")
            else:
                response = web.Response(status=204,
                                        headers=policy.headers(origin, preflight=True))
        else:
            response = await handler(request)
            if allowed and not response.prepared:
                response.headers.update(policy.headers(origin, preflight=False))
        if not policy.any_origin and not response.prepared:
            _vary_origin(response)
        return response

    return cors
