"""Reading the relay's introspection endpoint honestly (contract section 10), against a real
HTTP server on loopback that answers the way a relay may: a missing map is unknown (never
empty), 401/403 is a refused token (never "no endpoint"), and 404, 500, a timeout or another
shape are reasons to skip, each said in one line."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from harness.protocol import Route
from harness.scenario.introspection import fetch_sessions

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    runners: list[web.AppRunner] = []

    async def start(handler: Handler) -> str:
        app = web.Application()
        app.router.add_get(Route.DEBUG_SESSIONS, handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


def answer(status: int, body: Any) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        return web.json_response(body, status=status)
    return handle


async def test_a_map_the_answer_does_not_name_is_unknown_not_empty(serve: Any) -> None:
    url = await serve(answer(200, {"ok": True, "maps": {
        "sessions": {"size": 1, "keys": ["s1"]},
        "dronesByRegistration": {"size": 0, "keys": []},
        "pending": {"size": 0, "keys": [], "kind": "extra"}}}))
    snapshot = await fetch_sessions(url, "token")
    assert snapshot.available
    assert snapshot.keys("sessions") == ["s1"]
    assert snapshot.keys("dronesByRegistration") == []          # named and empty
    assert snapshot.keys("codeSessionsByUser") is None          # not named: unknown
    assert snapshot.size("codeSessionsByUser") is None
    assert snapshot.missing("codeSessionsByUser") == (
        "the relay's introspection answer does not name the map codeSessionsByUser (it "
        "names: dronesByRegistration, pending, sessions); an unnamed map is unknown, not empty")


@pytest.mark.parametrize(("status", "refused", "reason"), [
    (401, True, "the introspection endpoint refused the admin token (401 unauthorized); "
                "check --admin-token"),
    (403, True, "the introspection endpoint refused the admin token (403 forbidden); "
                "check --admin-token"),
    (404, False, "the relay has no introspection endpoint (404)"),
    (500, False, "the introspection endpoint answered HTTP 500"),
])
async def test_error_statuses_say_why_and_a_refused_token_is_not_a_missing_endpoint(
        serve: Any, status: int, refused: bool, reason: str) -> None:
    url = await serve(answer(status, {"ok": False, "error": "x"}))
    snapshot = await fetch_sessions(url, "token")
    assert not snapshot.available
    assert snapshot.refused is refused
    assert snapshot.reason == reason


async def test_another_shape_a_timeout_and_no_token_are_reasons_to_skip(serve: Any) -> None:
    other = await serve(answer(200, {"ok": True, "sessions": []}))
    assert (await fetch_sessions(other, "t")).reason == (
        'the introspection endpoint answered 200 without a "maps" object (contract section 10)')

    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(1.0)
        return web.json_response({})

    hanging = await serve(slow)
    snapshot = await fetch_sessions(hanging, "t", timeout=0.3)
    assert (snapshot.available, snapshot.refused) == (False, False)
    assert snapshot.reason == "the introspection endpoint did not answer within 0.3 s"

    async def not_json(request: web.Request) -> web.StreamResponse:
        return web.Response(text="<html>hello</html>")

    html = await serve(not_json)
    assert (await fetch_sessions(html, "t")).reason == \
        "the introspection endpoint answered a body that is not JSON"
    none = await fetch_sessions(other, None)
    assert not none.available and not none.refused
    assert none.reason.startswith("no admin token was given (--admin-token)")
