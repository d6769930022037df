"""The relay's HTTP routes (section 8) and the introspection endpoint (section 10).

Every error is JSON ``{"ok": false, "error", "message"}``. The bearer token is checked
before anything else (401 ``unauthorized``), then the id's shape (400 ``invalid-id``), then
existence (404) and ownership (403) before any state. Every body goes out in the relay's
``Dialect`` (``extra-fields``, ``other-messages``, ``underscore-ids``, ``z-timestamps``,
``partial-introspection``).

Every answer is JSON, aiohttp's own refusals included (no such route 404 ``not-found``, a
method the route lacks 405 ``method-not-allowed`` with ``Allow``), except on the engine.io
route. Header values are text as aiohttp decoded them, non-UTF-8 bytes surrogate-escaped:
a bearer token or admin token that is not UTF-8 is a wrong one (401 / 403), never a crash.
CORS: ``cors.py``.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from harness.protocol import ADMIN_TOKEN_HEADER, ErrorCode, Route, error, is_object_id, ok
from harness.relay.auth import bearer_user
from harness.relay.context import RelayContext
from harness.relay.cors import SOCKETIO_ENDPOINT, CorsPolicy, cors_middleware
from harness.relay.termination import terminate
from harness.relay.validation import is_text
from harness.relay.variants import Dialect

__all__ = ["add_routes"]

logger = logging.getLogger(__name__)

HEALTH_PING_TIMEOUT = 2.0

RouteHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def add_routes(app: web.Application, ctx: RelayContext, cors: CorsPolicy | None = None
               ) -> None:
    """Add ``/healthz``, the registration routes and the introspection route to ``app``,
    and the middlewares that apply ``cors`` (default: ``ctx.settings.cors_origins``) and
    answer aiohttp's own refusals in JSON."""
    dialect: Dialect = ctx.dialect

    def _json(body: dict[str, object], status: int = 200) -> web.Response:
        return web.json_response(dialect.ack(body), status=status)

    def _fail(status: int, code: str, message: str) -> web.Response:
        return _json(error(code, message), status)

    def _guard(handler: RouteHandler) -> RouteHandler:
        async def wrapper(request: web.Request) -> web.StreamResponse:
            try:
                return await handler(request)
            except web.HTTPException:
                raise
            except Exception:
                logger.exception("%s %s failed", request.method, request.path)
                return _fail(500, ErrorCode.INTERNAL, "the relay failed; see its log")

        return wrapper

    @web.middleware
    async def json_errors(request: web.Request, handler: RouteHandler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400 or request.path == SOCKETIO_ENDPOINT:
                raise
            code = (ErrorCode.NOT_FOUND if exc.status == 404
                    else "-".join(exc.reason.lower().split()) or "http-error")
            response = _fail(exc.status, code,
                             f"{request.method} {request.path}: {exc.reason}")
            if "Allow" in exc.headers:
                response.headers["Allow"] = exc.headers["Allow"]
            return response

    async def healthz(request: web.Request) -> web.StreamResponse:
        if await ctx.store.ping(HEALTH_PING_TIMEOUT):
            return _json(ok())
        return _fail(503, "database-unreachable", "the relay cannot reach its database")

    async def _user_and_id(request: web.Request) -> tuple[str, str] | web.Response:
        user = await bearer_user(ctx.store, request.headers.get("Authorization"))
        if user is None:
            return _fail(401, ErrorCode.UNAUTHORIZED,
                         "missing or unknown bearer token (Authorization: Bearer <token>)")
        registration_id = request.match_info["id"]
        if not is_object_id(registration_id):
            return _fail(400, ErrorCode.INVALID_ID,
                         f"registration id {registration_id!r} must be 24 hex digits")
        return user.id, registration_id

    async def get_registration(request: web.Request) -> web.StreamResponse:
        checked = await _user_and_id(request)
        if isinstance(checked, web.Response):
            return checked
        user_id, registration_id = checked
        document = await ctx.store.registration_document(registration_id)
        if document is None:
            return _fail(404, ErrorCode.NOT_FOUND, f"no drone registration {registration_id}")
        registration = dialect.registration(document)
        if registration.get("user") != user_id:
            return _fail(403, ErrorCode.FORBIDDEN,
                         f"drone registration {registration_id} is another user's")
        return _json(ok(registration=registration))

    async def post_terminate(request: web.Request) -> web.StreamResponse:
        checked = await _user_and_id(request)
        if isinstance(checked, web.Response):
            return checked
        outcome = await terminate(ctx, *checked)
        if outcome.error is None:
            return _json(ok(terminated=True))
        return _fail(outcome.status, outcome.error, outcome.message)

    async def debug_sessions(request: web.Request) -> web.StreamResponse:
        expected = ctx.settings.admin_token
        if expected is None:
            return _fail(404, ErrorCode.NOT_FOUND, "introspection is not enabled")
        given = request.headers.get(ADMIN_TOKEN_HEADER, "")
        if not given:  # contract 10: none 401, wrong 403
            return _fail(401, ErrorCode.UNAUTHORIZED, f"missing {ADMIN_TOKEN_HEADER}")
        # Not UTF-8 (surrogate-escaped by aiohttp): given, so wrong, like any other.
        if not is_text(given) or not hmac.compare_digest(given.encode(), expected.encode()):
            return _fail(403, ErrorCode.FORBIDDEN, f"wrong {ADMIN_TOKEN_HEADER}")
        return _json(ok(maps=dialect.introspection(ctx.registry.snapshot(),
                                                   ctx.pending_locks)))

    app.middlewares.append(cors_middleware(cors or CorsPolicy(ctx.settings.cors_origins),
                                           _fail))
    app.middlewares.append(json_errors)  # inside: CORS headers go on its answers too
    app.router.add_get(Route.HEALTHZ, _guard(healthz))
    app.router.add_get(Route.REGISTRATION, _guard(get_registration))
    app.router.add_post(Route.TERMINATE, _guard(post_terminate))
    app.router.add_get(Route.DEBUG_SESSIONS, _guard(debug_sessions))
