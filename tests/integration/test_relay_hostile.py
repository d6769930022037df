"""Live: hostile text and foreign origins at the relay's boundary (issue 13, findings 6, 8).

Finding 6: a lone surrogate in a token or a prompt, and non-UTF-8 bytes in a header, used
to answer ``internal-error`` / 500 with a traceback in the relay's log each time. Now a bad
token is refused like any wrong one (``auth-denied``, HTTP 401 or 403), a prompt that cannot
be stored is ``invalid-payload``, and the relay's log has no traceback.

Finding 8: the Socket.IO path echoed any ``Origin`` with credentials, and the HTTP API
answered a browser preflight 405 with no CORS headers. Now both follow one policy
(``--cors-origin``; default: the relay's own origin and loopback origins).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from _harness_cli import parse_relay_settings
from _raw_clients import Clients
from _raw_http import raw_http
from pymongo.asynchronous.database import AsyncDatabase

from harness.env import LocalEnvironment
from harness.errors import ConfigError
from harness.settings import RelaySettings
from seed.world import World

LONE = "\ud800"
FOREIGN = "http://evil.example"
LOOPBACK = "http://localhost:5173"
IDE_ORIGIN = "https://ide.example.com"
HANDSHAKE = "/socket.io/?EIO=4&transport=polling"
PREFLIGHT = {"Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization, content-type"}

MakeRelayEnv = Callable[..., Any]


def _log_mark(env: LocalEnvironment) -> int:
    return len(env.logs().get("relay", ""))


def _log_since(env: LocalEnvironment, mark: int) -> str:
    return env.logs().get("relay", "")[mark:]


def _no_traceback(env: LocalEnvironment, mark: int) -> None:
    text = _log_since(env, mark)
    assert "Traceback" not in text and "Logging error" not in text, text
    assert " ERROR " not in text, text


async def _raw_http(env: LocalEnvironment, request: bytes) -> tuple[int, dict[str, str], Any]:
    """Send ``request`` as is (any bytes); the status, the headers and the JSON body."""
    status, headers, body = await raw_http(env.relay_url, request)
    return status, headers, json.loads(body) if body else None


def _get(path: str, *headers: bytes) -> bytes:
    return (b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + b"".join(h + b"\r\n" for h in headers) + b"Connection: close\r\n\r\n")


async def _request(method: str, url: str, headers: dict[str, str]
                   ) -> tuple[int, Any, Any]:
    """status, headers (case-insensitive), body text."""
    async with aiohttp.ClientSession() as session, session.request(
            method, url, headers=headers) as response:
        return response.status, response.headers, await response.text()


# -- finding 6: hostile text ----------------------------------------------------------------


async def test_lone_surrogate_token_is_refused_auth_denied_without_a_traceback(
        clients: Clients, relay_env: LocalEnvironment, world: World) -> None:
    mark = _log_mark(relay_env)
    drone = world.drones[0]
    for auth in ({"type": "code", "token": LONE},
                 {"type": "code", "token": f"{world.users[0].token}{LONE}"},
                 {"type": "drone", "registrationId": drone.id, "token": LONE}):
        error = await clients.refusal(auth)
        assert error["message"] == "auth-denied", (auth, error)
        assert error["data"]["error"] == "auth-denied"
    # The issue's own payload: an unknown type is auth-invalid, as ever.
    assert (await clients.refusal({"type": "ide", "token": LONE}))["message"] == "auth-invalid"
    _no_traceback(relay_env, mark)


async def test_lone_surrogate_prompt_is_invalid_payload_and_stores_nothing(
        clients: Clients, relay_env: LocalEnvironment, db: AsyncDatabase[Any],
        world: World) -> None:
    user = world.users[0]
    drone = world.drones_of(user.id)[0]
    chat = world.chat_sessions_of(user.id)[0]
    ide = await clients.ide(user.token)
    robot = await clients.drone(drone.id, drone.token)
    ids = {"registrationId": drone.id, "chatSessionId": chat.id}
    assert await ide.call("requestSessionLock", ids) == {"ok": True}
    before = await db.workOrders.count_documents({})
    mark = _log_mark(relay_env)

    for prompt in (LONE, f"fix this {LONE} please", "\udfff"):
        ack = await ide.call("submitPrompt", {**ids, "prompt": prompt})
        assert ack["ok"] is False and ack["error"] == "invalid-payload", ack
        assert "prompt" in ack["message"]

    await robot.barrier()
    assert robot.events("submitPrompt") == []
    assert await db.workOrders.count_documents({}) == before
    _no_traceback(relay_env, mark)
    # The relay still stores a good prompt on the same lock.
    ack = await ide.call("submitPrompt", {**ids, "prompt": "fine \u00e9\U0001f600"})
    assert ack["ok"] is True, ack


async def test_non_utf8_admin_token_header_is_403_without_a_traceback(
        relay_env: LocalEnvironment) -> None:
    mark = _log_mark(relay_env)
    for value in (b"\xff", b"\xff\xfe", b"ab\xc3(", b"\xed\xa0\x80"):
        status, _, body = await _raw_http(
            relay_env, _get("/api/v1/debug/sessions", b"X-Admin-Token: " + value))
        # Contract 10: a token given but wrong is 403 (none would be 401).
        assert (status, body["ok"], body["error"]) == (403, False, "forbidden"), body
    _no_traceback(relay_env, mark)


async def test_non_utf8_authorization_header_is_401_without_a_traceback(
        relay_env: LocalEnvironment, world: World) -> None:
    drone = world.drones[0]
    mark = _log_mark(relay_env)
    for value in (b"Bearer \xff", b"\xff", b"Bearer " + world.users[0].token.encode() + b"\xff",
                  b"Bearer \xed\xa0\x80"):
        for method in (b"GET", b"POST"):
            path = f"/api/v1/drone/registration/{drone.id}"
            if method == b"POST":
                path += "/terminate"
            request = _get(path, b"Authorization: " + value).replace(b"GET", method, 1)
            status, _, body = await _raw_http(relay_env, request)
            assert (status, body["error"]) == (401, "unauthorized"), (value, method, body)
    _no_traceback(relay_env, mark)


async def test_malformed_http_is_refused_400_without_a_traceback(
        relay_env: LocalEnvironment) -> None:
    """Found by tests/fuzz/test_fuzz_relay.py: aiohttp logged each request its parser
    refused with a traceback at ERROR."""
    mark = _log_mark(relay_env)
    for request in (_get("/healthz", b"Content-Type: a", b"Content-Type: b"),
                    _get("/healthz", b"X-A\x01: b"),
                    _get("/healthz", b"Host: again"),
                    _get("/healthz") + b"JUNK / HTTP/1.1\r\n\r\n"):
        reader, writer = await asyncio.open_connection(
            *relay_env.relay_url.removeprefix("http://").rsplit(":", 1))
        try:
            writer.write(request)
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), 10)
        finally:
            writer.close()
        assert answer.split(b"\r\n", 1)[0].split()[1] in (b"200", b"400"), answer
    await asyncio.sleep(0.1)  # the refusal is logged as the connection closes
    text = _log_since(relay_env, mark)
    assert "malformed HTTP request" in text
    _no_traceback(relay_env, mark)


async def test_a_fractional_auth_payload_is_refused_auth_invalid_at_once(
        clients: Clients, relay_env: LocalEnvironment) -> None:
    """Found by tests/fuzz/test_fuzz_relay.py: the CONNECT packet ``01.5`` does not decode
    (packet id 1, JSON ``.5``); the relay logged a traceback and never answered."""
    mark = _log_mark(relay_env)
    for auth in (1.5, 0.25, 1e300):
        started = asyncio.get_running_loop().time()
        error = await clients.refusal(auth)
        assert error["message"] == "auth-invalid", (auth, error)
        assert asyncio.get_running_loop().time() - started < 2.0
    _no_traceback(relay_env, mark)


async def _websocket_answer(env: LocalEnvironment, frames: list[str | bytes],
                            authenticate: bool = True) -> aiohttp.WSMessage:
    """Open an engine.io websocket (and a refused Socket.IO connect), send ``frames``, and
    return the relay's next message."""
    url = env.relay_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        assert (await ws.receive_str()).startswith("0{")
        if authenticate:
            await ws.send_str('40{"type":"code","token":"nobody"}')
            assert "auth-denied" in await ws.receive_str()
        for frame in frames:
            await (ws.send_bytes(frame) if isinstance(frame, bytes) else ws.send_str(frame))
        return await asyncio.wait_for(ws.receive(), 10)


@pytest.mark.parametrize("frames", [["42["], ['42["a",'], ["4x"], ["44{}"], ["45-"],
                                    ["4" + "1" * 120 + '["a"]'], [b"\x04abc"]])
async def test_a_malformed_socketio_packet_closes_the_connection_without_a_traceback(
        relay_env: LocalEnvironment, frames: list[str | bytes]) -> None:
    mark = _log_mark(relay_env)
    answer = await _websocket_answer(relay_env, frames)
    assert (answer.type, answer.data) == (aiohttp.WSMsgType.TEXT, "1")  # engine.io CLOSE
    await asyncio.sleep(0.1)
    assert "malformed Socket.IO packet" in _log_since(relay_env, mark)
    _no_traceback(relay_env, mark)


@pytest.mark.parametrize("frame", ["x", "", "9", "\u0663", "b!!"])
async def test_a_malformed_engineio_frame_closes_the_websocket_without_a_traceback(
        relay_env: LocalEnvironment, frame: str) -> None:
    mark = _log_mark(relay_env)
    answer = await _websocket_answer(relay_env, [frame], authenticate=False)
    assert answer.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), answer
    await asyncio.sleep(0.1)
    _no_traceback(relay_env, mark)


async def test_malformed_polling_bodies_answer_below_500_without_a_traceback(
        relay_env: LocalEnvironment) -> None:
    mark = _log_mark(relay_env)
    base = relay_env.relay_url + HANDSHAKE
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        for body in (b"\xff", b"", b"4\x1ezz", b"\x1e\x1e", b"42[", b"40{}\x1e42[", b"x"):
            async with session.get(base) as response:
                sid = json.loads((await response.text())[1:])["sid"]
            for _ in range(2):  # the second POST finds the session closed, or closing
                async with session.post(f"{base}&sid={sid}", data=body) as response:
                    assert response.status < 500, (body, response.status)
    await asyncio.sleep(0.1)
    _no_traceback(relay_env, mark)


# -- finding 8: CORS, default policy ---------------------------------------------------------


async def test_socketio_handshake_echoes_allowed_origins_and_refuses_foreign_ones(
        relay_env: LocalEnvironment) -> None:
    url = relay_env.relay_url + HANDSHAKE
    for origin in (FOREIGN, "http://localhost.evil.example", "http://127.0.0.1.evil.example",
                   "null", "http://evil.example:80@localhost"):
        status, headers, _ = await _request("GET", url, {"Origin": origin})
        assert "Access-Control-Allow-Origin" not in headers, origin
        assert status == 400, origin
    for origin in (LOOPBACK, "http://127.0.0.1:3000", "https://[::1]:8443",
                   "http://localhost", relay_env.relay_url):
        status, headers, body = await _request("GET", url, {"Origin": origin})
        assert status == 200 and body.startswith("0{"), (origin, body)
        assert headers["Access-Control-Allow-Origin"] == origin


async def test_http_preflight_from_an_allowed_origin_is_204_with_cors_headers(
        relay_env: LocalEnvironment, world: World) -> None:
    url = f"{relay_env.relay_url}/api/v1/drone/registration/{world.drones[0].id}/terminate"
    status, headers, body = await _request("OPTIONS", url, {"Origin": LOOPBACK, **PREFLIGHT})
    assert status == 204 and body == ""
    assert headers["Access-Control-Allow-Origin"] == LOOPBACK
    assert "POST" in headers["Access-Control-Allow-Methods"]
    allowed = {h.strip().lower() for h in headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "x-admin-token"} <= allowed
    assert int(headers["Access-Control-Max-Age"]) > 0
    assert "Origin" in headers["Vary"]


async def test_http_preflight_from_a_foreign_origin_is_403(relay_env: LocalEnvironment,
                                                           world: World) -> None:
    url = f"{relay_env.relay_url}/api/v1/drone/registration/{world.drones[0].id}/terminate"
    status, headers, body = await _request("OPTIONS", url, {"Origin": FOREIGN, **PREFLIGHT})
    assert status == 403
    assert json.loads(body)["error"] == "forbidden"
    assert "Access-Control-Allow-Origin" not in headers


async def test_http_answers_carry_cors_headers_only_for_allowed_origins(
        relay_env: LocalEnvironment, world: World) -> None:
    url = f"{relay_env.relay_url}/api/v1/drone/registration/{world.drones[0].id}"
    auth = {"Authorization": "Bearer nobody"}
    status, headers, _ = await _request("GET", url, {"Origin": LOOPBACK, **auth})
    assert status == 401  # the error answer too: a browser page may read why
    assert headers["Access-Control-Allow-Origin"] == LOOPBACK
    assert "Origin" in headers["Vary"]
    status, headers, _ = await _request("GET", relay_env.relay_url + "/healthz",
                                        {"Origin": FOREIGN})
    assert status == 200 and "Access-Control-Allow-Origin" not in headers
    status, headers, _ = await _request("GET", relay_env.relay_url + "/healthz", {})
    assert status == 200 and "Access-Control-Allow-Origin" not in headers


async def test_http_unknown_routes_and_methods_answer_json(relay_env: LocalEnvironment) -> None:
    status, headers, body = await _request("GET", relay_env.relay_url + "/api/v1/nope", {})
    assert status == 404 and json.loads(body)["error"] == "not-found"
    status, headers, body = await _request("DELETE", relay_env.relay_url + "/healthz", {})
    assert status == 405 and json.loads(body)["error"] == "method-not-allowed"
    assert "GET" in headers["Allow"]


# -- finding 8: CORS, configured ---------------------------------------------------------------


async def test_cors_origin_star_allows_any_origin_without_credentials(
        make_relay_env: MakeRelayEnv) -> None:
    env = await make_relay_env(cors_origins=("*",))
    status, headers, _ = await _request("GET", env.relay_url + HANDSHAKE, {"Origin": FOREIGN})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == FOREIGN
    assert "Access-Control-Allow-Credentials" not in headers
    status, headers, _ = await _request("OPTIONS", env.relay_url + "/api/v1/debug/sessions",
                                        {"Origin": FOREIGN, **PREFLIGHT})
    assert status == 204 and headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in headers
    status, headers, _ = await _request("GET", env.relay_url + "/healthz", {"Origin": FOREIGN})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"


async def test_cors_origin_list_replaces_the_loopback_default(
        make_relay_env: MakeRelayEnv) -> None:
    env = await make_relay_env(cors_origins=(IDE_ORIGIN,))
    for origin, allowed in ((IDE_ORIGIN, True), ("https://IDE.example.com:443", True),
                            ("https://ide.example.com:8443", False), (LOOPBACK, False),
                            (FOREIGN, False), (env.relay_url, True)):
        status, headers, _ = await _request("GET", env.relay_url + HANDSHAKE,
                                            {"Origin": origin})
        assert (headers.get("Access-Control-Allow-Origin") == origin) is allowed, origin
        assert (status == 200) is allowed, origin
        status, headers, _ = await _request("OPTIONS", env.relay_url + "/healthz",
                                            {"Origin": origin, **PREFLIGHT})
        assert status == (204 if allowed else 403), origin


def test_cors_origin_option_variable_and_to_env_round_trip() -> None:
    assert parse_relay_settings([]).cors_origins == ()
    assert parse_relay_settings(["--cors-origin", "*"]).cors_origins == ("*",)
    assert parse_relay_settings(["--cors-origin", IDE_ORIGIN, "--cors-origin", "http://localhost:*"]
                  ).cors_origins == (IDE_ORIGIN, "http://localhost:*")
    assert parse_relay_settings([], env={"GADGET_CORS_ORIGIN": f"{IDE_ORIGIN} http://x:8080"}
                  ).cors_origins == (IDE_ORIGIN, "http://x:8080")
    settings = RelaySettings(cors_origins=(IDE_ORIGIN, "http://[::1]:*"))
    env = settings.to_env()
    assert env["GADGET_CORS_ORIGIN"] == f"{IDE_ORIGIN} http://[::1]:*"
    assert parse_relay_settings([], env=env).cors_origins == settings.cors_origins
    assert parse_relay_settings([], env=RelaySettings().to_env()).cors_origins == ()


@pytest.mark.parametrize("origins", [("https://ide.example.com/",), ("ide.example.com",),
                                     ("ftp://x",), ("http://user@x",), ("http://x:0",),
                                     ("http://x:99999",), ("*", IDE_ORIGIN), ("null",),
                                     ("http://x/path",), ("",)])
def test_cors_origin_entries_are_validated(origins: tuple[str, ...]) -> None:
    with pytest.raises(ConfigError, match="--cors-origin"):
        RelaySettings(cors_origins=origins)
