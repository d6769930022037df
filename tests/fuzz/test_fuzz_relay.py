"""Fuzz the reference relay over real sockets: hostile connect payloads, events and HTTP.

One relay (``LocalEnvironment``, short timeouts) with a seeded world serves the module.
Payloads mix random JSON (lone surrogates, NUL, bidi overrides, huge strings) with the
world's real ids and tokens, so that some requests get past validation into the handlers.
Properties, checked on every example:

- the relay never logs a traceback (the new part of its log, per example);
- a connect is accepted only with a valid auth payload, and otherwise refused with an
  ``auth-*`` code; it never hangs;
- every acked event from an IDE or a drone socket is acked within ``ACK_TIMEOUT`` (unless
  its packet is over the relay's size limit: then the relay may drop the socket);
- every HTTP answer is below 500 and, but for HEAD and 204, a JSON object with ``ok``;
  a request aiohttp's HTTP parser refuses (a method it does not know, a duplicate
  ``Content-Type``) is answered 400 in plain text before any of the relay's code runs.

After the three batches (``test_the_relay_still_serves_after_the_fuzz``, last in the file):
no fuzz socket is left in any map, and a legitimate IDE + drone pair locks and streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
import socketio
from _raw_http import raw_http
from hypothesis import event, example, given
from hypothesis import strategies as st
from pymongo import AsyncMongoClient

from harness.env import LocalEnvironment
from harness.relay.app import MAX_HTTP_BUFFER_SIZE
from harness.settings import RelaySettings
from seed import build_world
from seed.world import World, WorldSpec

SETTINGS = RelaySettings(drone_ack_timeout=1.0, termination_ack_timeout=1.0,
                         termination_poll_timeout=2.0)
ACK_TIMEOUT = 5.0  # the relay waits at most drone_ack_timeout (1 s) for a drone
OVERSIZE_ACK_TIMEOUT = 1.0  # a packet over the limit: the relay drops the socket instead
CONNECT_TIMEOUT = 5.0
HTTP_TIMEOUT = 10.0
AUTH_CODES = ("auth-invalid", "auth-unknown", "auth-denied")
ALLOWED_ORIGIN = "http://localhost:5173"

# -- placeholders: strategies are built before the world exists --------------------------------

USER_TOKEN, OTHER_TOKEN, DRONE_TOKEN = "@user-token", "@other-token", "@drone-token"
DRONE_ID, OTHER_DRONE_ID, CHAT_ID, OTHER_CHAT_ID = ("@drone-id", "@other-drone-id",
                                                    "@chat-id", "@other-chat-id")
ADMIN_TOKEN = "@admin-token"
PLACEHOLDERS = (USER_TOKEN, OTHER_TOKEN, DRONE_TOKEN, DRONE_ID, OTHER_DRONE_ID, CHAT_ID,
                OTHER_CHAT_ID, ADMIN_TOKEN)


@dataclasses.dataclass(frozen=True)
class Live:
    env: LocalEnvironment
    world: World
    fuzz_drone: Any  # SeededDrone the fuzz clients use
    spare_drone: Any  # SeededDrone kept for the final check

    @property
    def values(self) -> dict[str, str]:
        user, other = self.world.users
        return {USER_TOKEN: user.token, OTHER_TOKEN: other.token,
                DRONE_TOKEN: self.fuzz_drone.token, DRONE_ID: self.fuzz_drone.id,
                OTHER_DRONE_ID: self.world.drones_of(other.id)[0].id,
                CHAT_ID: self.world.chat_sessions_of(user.id)[0].id,
                OTHER_CHAT_ID: self.world.chat_sessions_of(other.id)[0].id,
                ADMIN_TOKEN: self.env.admin_token or ""}

    def fill(self, value: Any) -> Any:
        """``value`` with every placeholder string replaced by the world's value."""
        if isinstance(value, str):
            return self.values.get(value, value)
        if isinstance(value, list):
            return [self.fill(item) for item in value]
        if isinstance(value, tuple):
            return tuple(self.fill(item) for item in value)
        if isinstance(value, dict):
            return {self.fill(key): self.fill(item) for key, item in value.items()}
        return value

    def log(self) -> str:
        return self.env.logs().get("relay", "")


@pytest.fixture(scope="module")
async def live() -> AsyncIterator[Live]:
    async with LocalEnvironment(SETTINGS) as env:
        client: AsyncMongoClient[Any] = AsyncMongoClient(env.mongo_uri)
        try:
            world = await build_world(client[env.database],
                                      WorldSpec(users=2, drones_per_user=2))
        finally:
            await client.close()
        fuzz_drone, spare_drone = world.drones_of(world.users[0].id)
        yield Live(env, world, fuzz_drone, spare_drone)


@contextlib.contextmanager
def no_traceback(live: Live) -> Iterator[None]:
    """Fail if the relay logs a traceback (or a logging error) during the block."""
    mark = len(live.log())
    yield
    text = live.log()[mark:]
    assert "Traceback" not in text and "Logging error" not in text, text[-4000:]


# -- strategies --------------------------------------------------------------------------------

_ODD = ["", " ", "\ud800", "a\udfffb", "\udc80\ud800", "\x00", "\u202e", "\ufeff", "💥",
        "%s%n", "${relay.port}", "{{x}}", "<script>", "\r\nX-Injected: 1", "null", "true",
        "a" * 24, "0" * 24, "f" * 25, "__proto__", "constructor", "$where", "$gt"]
hostile_text = st.one_of(
    st.text(st.characters(exclude_categories=[]), max_size=30),  # surrogates included
    st.sampled_from(_ODD),
)
huge_text = st.sampled_from([1_000, 100_000, 600_000, MAX_HTTP_BUFFER_SIZE + 10]).map(
    lambda n: "x" * n)
# Under the size limit even twice in one packet (JSON escapes each "\u00e9" to 6 bytes).
big_text = st.sampled_from([1_000, 20_000, 60_000]).map(lambda n: "\u00e9" * n)
# In events: mostly under the size limit, now and then over it (the relay drops the socket).
sized_text = st.sampled_from([1_000, 50_000, 300_000] * 2 + [1_000, MAX_HTTP_BUFFER_SIZE + 10]
                             ).map(lambda n: "x" * n)
placeholders = st.sampled_from(PLACEHOLDERS)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), hostile_text,
                    placeholders)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.one_of(hostile_text, placeholders), inner,
                                            max_size=4)),
    max_leaves=10)

FIELDS = ("type", "token", "registrationId", "chatSessionId", "prompt", "workOrderId", "seq",
          "text", "toolCallId", "name", "arguments", "status", "summary", "projectId")
field_values = st.one_of(placeholders, hostile_text, st.integers(-2, 2**70), json_values,
                         st.sampled_from(["code", "drone", "complete", "failed", "running"]),
                         sized_text)
structured = st.dictionaries(st.sampled_from(FIELDS), field_values, max_size=6)

auth_payloads = st.one_of(
    json_values,
    structured,
    st.fixed_dictionaries({"type": st.just("code"),
                           "token": st.one_of(hostile_text, huge_text, placeholders)}),
    st.fixed_dictionaries({"type": st.just("drone"),
                           "registrationId": st.one_of(placeholders, hostile_text),
                           "token": st.one_of(hostile_text, huge_text, placeholders)}),
)

IDE_EVENTS = ("openChatSession", "requestSessionLock", "releaseSessionLock", "submitPrompt")
DRONE_EVENTS = ("thinking", "response", "toolCall", "workOrderComplete",
                "requestCrashRecovery")
EVENTS = (*IDE_EVENTS, *DRONE_EVENTS, "requestTermination", "droneStatus", "protocolError",
          "connect", "disconnect", "message", "*")
event_names = st.one_of(st.sampled_from(EVENTS), hostile_text.filter(bool))
# Protocol-shaped payloads: the real ids most of the time, so that requests get past
# validation (a lock, then a prompt, then a stream within one example).
ids = st.one_of(st.sampled_from([DRONE_ID, CHAT_ID]), placeholders, hostile_text,
                st.integers(), st.none())
shaped = st.fixed_dictionaries(
    {"registrationId": ids, "chatSessionId": ids},
    optional={"prompt": st.one_of(hostile_text, big_text), "workOrderId": ids,
              "seq": st.one_of(st.integers(-1, 3), st.floats(), hostile_text),
              "text": st.one_of(hostile_text, big_text),
              "toolCallId": hostile_text, "name": hostile_text, "arguments": json_values,
              "status": st.sampled_from(["complete", "failed", "running", "\ud800"]),
              "summary": st.one_of(st.none(), hostile_text), "extra": json_values})
payloads = st.one_of(shaped, structured, json_values, st.tuples(json_values, json_values))
steps = st.lists(st.one_of(
    st.tuples(st.just("ide"), st.sampled_from(IDE_EVENTS), shaped),
    st.tuples(st.just("drone"), st.sampled_from(DRONE_EVENTS), shaped),
    st.tuples(st.sampled_from(["ide", "drone"]), event_names, payloads),
), min_size=1, max_size=6)


# -- sockets -----------------------------------------------------------------------------------


class Socket:
    """A python-socketio client that records its ``connect_error`` and answers like a drone."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.connect_error: Any = None
        self.received: list[tuple[str, Any]] = []
        self.sio.on("connect_error", self._on_connect_error)
        self.sio.on("*", self._on_event)

    async def _on_connect_error(self, data: Any = None) -> None:
        self.connect_error = data

    async def _on_event(self, event: str, *args: Any) -> Any:
        self.received.append((event, args))
        return {"requestSessionLock": True, "submitPrompt": True, "releaseSessionLock": True,
                "requestTermination": False}.get(event)

    async def connect(self, url: str, auth: Any) -> bool:
        """True if accepted, False if refused; fails if neither within the timeout."""
        try:
            await asyncio.wait_for(self.sio.connect(url, auth=auth, transports=["websocket"],
                                                    wait_timeout=CONNECT_TIMEOUT),
                                   CONNECT_TIMEOUT * 2)
        except socketio.exceptions.ConnectionError:
            return False
        return True

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            if self.sio.connected:
                await self.sio.disconnect()
        with contextlib.suppress(Exception):
            await self.sio.shutdown()


def _packet_size(name: str, payload: Any) -> int:
    args = list(payload) if isinstance(payload, tuple) else [payload]
    return len(json.dumps([name, *args]))


def _ack_kind(ack: Any) -> str:
    if isinstance(ack, dict):
        return "ok" if ack.get("ok") is True else str(ack.get("error"))
    return "empty (drone stream event)" if ack is None else type(ack).__name__


# -- properties ----------------------------------------------------------------------------------


@given(auth=auth_payloads)
@example(auth={"type": "code", "token": "\ud800"})  # issue 13, finding 6
@example(auth={"type": "drone", "registrationId": DRONE_ID, "token": "a\udfffb"})
@example(auth={"type": "code", "token": "x" * (MAX_HTTP_BUFFER_SIZE + 10)})  # over the limit
async def test_random_connect_auth_is_accepted_or_refused_with_an_auth_code(
        live: Live, auth: Any) -> None:
    auth = live.fill(auth)
    socket = Socket()
    with no_traceback(live):
        try:
            accepted = await socket.connect(live.env.relay_url, auth)
        finally:
            await socket.close()
    valid = isinstance(auth, dict) and (
        (auth.get("type") == "code" and auth.get("token") == live.values[USER_TOKEN])
        or (auth.get("type") == "code" and auth.get("token") == live.values[OTHER_TOKEN])
        or (auth.get("type") == "drone" and auth.get("registrationId") == live.fuzz_drone.id
            and auth.get("token") == live.fuzz_drone.token))
    if accepted:
        event("connect: accepted")
        assert valid, auth
        return
    if len(json.dumps(auth)) > MAX_HTTP_BUFFER_SIZE:
        event("connect: over the size limit")
        return  # over the size limit: the relay may drop the transport without a word
    assert isinstance(socket.connect_error, dict), socket.connect_error
    event(f"connect: {socket.connect_error.get('message')}")
    assert socket.connect_error.get("message") in AUTH_CODES, socket.connect_error
    assert not valid, (auth, socket.connect_error)


@given(steps=steps)
@example(steps=[  # issue 13, finding 6: a prompt that cannot be stored
    ("ide", "requestSessionLock", {"registrationId": DRONE_ID, "chatSessionId": CHAT_ID}),
    ("ide", "submitPrompt", {"registrationId": DRONE_ID, "chatSessionId": CHAT_ID,
                             "prompt": "\ud800"}),
    ("drone", "thinking", {"workOrderId": DRONE_ID, "chatSessionId": CHAT_ID, "seq": 0,
                           "text": "\udc80"}),
    ("ide", "submitPrompt", {"registrationId": DRONE_ID, "chatSessionId": CHAT_ID,
                             "prompt": "x" * (MAX_HTTP_BUFFER_SIZE + 10)}),  # over the limit
])
async def test_random_events_from_ide_and_drone_are_always_acked(
        live: Live, steps: list[tuple[str, str, Any]]) -> None:
    values = live.values
    ide, drone = Socket(), Socket()
    with no_traceback(live):
        try:
            assert await ide.connect(live.env.relay_url,
                                     {"type": "code", "token": values[USER_TOKEN]})
            assert await drone.connect(live.env.relay_url,
                                       {"type": "drone", "registrationId": values[DRONE_ID],
                                        "token": values[DRONE_TOKEN]})
            sockets = {"ide": ide, "drone": drone}
            for side, name, payload in steps:
                payload = live.fill(payload)
                socket = sockets[side]
                oversize = _packet_size(name, payload) > MAX_HTTP_BUFFER_SIZE - 100
                if not socket.sio.connected:
                    break  # dropped after an oversize packet (checked below)
                try:
                    ack = await socket.sio.call(name, payload, timeout=OVERSIZE_ACK_TIMEOUT
                                                if oversize else ACK_TIMEOUT)
                except socketio.exceptions.TimeoutError:
                    assert oversize and not socket.sio.connected, (side, name, payload)
                    event("ack: none, over the size limit")
                except socketio.exceptions.BadNamespaceError:
                    assert oversize, (side, name, payload)
                    event("ack: none, over the size limit")
                else:
                    event(f"ack: {_ack_kind(ack)}")
        finally:
            await ide.close()
            await drone.close()


# Methods the HTTP parser (llhttp) knows: their requests reach the relay's application.
KNOWN_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE",
                 "PROPFIND", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "SEARCH", "PURGE",
                 "REPORT")
_methods = st.one_of(st.sampled_from(["GET", "POST", "OPTIONS"]), st.sampled_from(KNOWN_METHODS),
                     st.from_regex(r"[A-Z]{1,10}", fullmatch=True))
_segments = st.one_of(st.sampled_from(["", "healthz", "api", "v1", "drone", "registration",
                                       "terminate", "debug", "sessions", "..", ".", DRONE_ID,
                                       OTHER_DRONE_ID, "%00", "%FF", "%ED%A0%80"]),
                      st.binary(max_size=12).map(lambda b: quote_from_bytes(b, safe="")))
_prefixes = st.sampled_from(["/healthz", "/api/v1/drone/registration/", "/api/v1/debug/sessions",
                             "/api/v1/", "/", "//", "/api/v1/drone/registration/" + DRONE_ID,
                             "/api/v1/drone/registration/" + OTHER_DRONE_ID + "/terminate",
                             "/api/v1/drone/registration/" + DRONE_ID + "/terminate"])
_paths = st.one_of(_prefixes, st.tuples(_prefixes, st.lists(_segments, max_size=3),
                                         st.one_of(st.just(""), st.binary(max_size=10).map(
                                             lambda b: "?" + quote_from_bytes(b, safe="=&")))
                                         ).map(lambda p: p[0] + "/".join(p[1]) + p[2]))
# Header values as HTTP allows them: visible ASCII, space, tab and obs-text (any 0x80-0xff).
_header_bytes = st.lists(st.one_of(st.integers(0x21, 0x7E), st.integers(0x80, 0xFF),
                                   st.sampled_from([0x20, 0x09])), max_size=40).map(bytes)
_header_values = st.one_of(
    _header_bytes,
    st.sampled_from([b"Bearer " + p.encode() for p in (USER_TOKEN, OTHER_TOKEN, DRONE_TOKEN)]),
    st.sampled_from([ADMIN_TOKEN.encode(), ALLOWED_ORIGIN.encode(), b"null", b"POST",
                     b"http://evil.example", b"authorization, x-admin-token",
                     b"application/json", b"Bearer \xff", b"\xed\xa0\x80"]))
_header_names = st.one_of(st.sampled_from(["Authorization", "X-Admin-Token", "Origin",
                                           "Access-Control-Request-Method",
                                           "Access-Control-Request-Headers", "Content-Type",
                                           "Accept", "Cookie", "X-Forwarded-Proto",
                                           "X-Forwarded-Host"]),
                          st.from_regex(r"X-[A-Za-z0-9-]{1,12}", fullmatch=True))
_headers = st.lists(st.tuples(_header_names, _header_values), max_size=5)
_bodies = st.one_of(st.just(b""), st.binary(max_size=64),
                    json_values.map(lambda v: json.dumps(v).encode()))


async def _http(live: Live, request: bytes) -> tuple[int, dict[str, str], bytes]:
    return await raw_http(live.env.relay_url, request, HTTP_TIMEOUT)


@given(method=_methods, path=_paths, headers=_headers, body=_bodies)
@example(method="GET", path="/api/v1/debug/sessions",  # issue 13, finding 6
         headers=[("X-Admin-Token", b"\xff")], body=b"")
@example(method="POST", path="/api/v1/drone/registration/" + DRONE_ID + "/terminate",
         headers=[("Authorization", b"Bearer \xff")], body=b"")
@example(method="OPTIONS", path="/api/v1/drone/registration/" + DRONE_ID + "/terminate",
         headers=[("Origin", b"http://evil.example"),  # issue 13, finding 8
                  ("Access-Control-Request-Method", b"POST")], body=b"")
@example(method="GET", path="/healthz",  # found by this test: a traceback in the log
         headers=[("Content-Type", b""), ("Content-Type", b"")], body=b"")
async def test_random_http_requests_answer_json_below_500(
        live: Live, method: str, path: str, headers: list[tuple[str, bytes]],
        body: bytes) -> None:
    values = {key: value.encode() for key, value in live.values.items()}
    for key, value in values.items():
        path = path.replace(key, value.decode())
    lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: 127.0.0.1"]
    for name, value in headers:
        for key, real in values.items():
            value = value.replace(key.encode(), real)
        lines.append(name.encode() + b": " + value.strip(b" \t"))
    lines += [b"Content-Length: " + str(len(body)).encode(), b"Connection: close"]
    request = b"\r\n".join(lines) + b"\r\n\r\n" + body
    with no_traceback(live):
        status, answer_headers, answer = await _http(live, request)
    assert status < 500, (status, answer)
    malformed = method not in KNOWN_METHODS or [
        name.lower() for name, _ in headers].count("content-type") > 1
    if malformed and status == 400 and \
            answer_headers.get("content-type", "").startswith("text/plain"):
        event("http: 400 from the HTTP parser (malformed request)")
        return  # refused by the HTTP parser, before the application
    if method == "HEAD" or status == 204:
        event(f"http: {status} {method}")
        return
    assert answer_headers.get("content-type", "").startswith("application/json"), (
        status, answer_headers, answer)
    document = json.loads(answer)
    assert isinstance(document, dict) and isinstance(document.get("ok"), bool), document
    event(f"http: {status} {document.get('error', 'ok')}")


async def test_the_relay_still_serves_after_the_fuzz(live: Live) -> None:
    """Last in the module: nothing of the fuzz sockets is left, and a legitimate IDE and
    drone pair (a drone the fuzz never used) still locks and streams."""
    admin = {"X-Admin-Token": live.env.admin_token or ""}
    for _ in range(100):  # the last disconnects may still be settling
        status, _, answer = await _http(live, _request("GET", "/api/v1/debug/sessions",
                                                       admin))
        maps = json.loads(answer)["maps"]
        if all(entry["size"] == 0 for entry in maps.values()):
            break
        await asyncio.sleep(0.05)
    assert status == 200 and all(entry["size"] == 0 for entry in maps.values()), maps

    user = live.world.users[0]
    chat = live.world.chat_sessions_of(user.id)[0]
    ide, drone = Socket(), Socket()
    try:
        assert await ide.connect(live.env.relay_url, {"type": "code", "token": user.token})
        assert await drone.connect(live.env.relay_url,
                                   {"type": "drone", "registrationId": live.spare_drone.id,
                                    "token": live.spare_drone.token})
        ids = {"registrationId": live.spare_drone.id, "chatSessionId": chat.id}
        assert await ide.sio.call("openChatSession", {"chatSessionId": chat.id},
                                  timeout=ACK_TIMEOUT) == {"ok": True}
        assert await ide.sio.call("requestSessionLock", ids, timeout=ACK_TIMEOUT) == {
            "ok": True}
        ack = await ide.sio.call("submitPrompt", {**ids, "prompt": "still there?"},
                                 timeout=ACK_TIMEOUT)
        assert ack["ok"] is True, ack
        stream = {"workOrderId": ack["workOrderId"], "chatSessionId": chat.id}
        await drone.sio.emit("thinking", {**stream, "seq": 0, "text": "yes"})
        await drone.sio.emit("workOrderComplete", {**stream, "seq": 1, "status": "complete",
                                                   "summary": "done"})
        for _ in range(100):
            if [e for e, _ in ide.received if e in ("thinking", "workOrderComplete")] == [
                    "thinking", "workOrderComplete"]:
                break
            await asyncio.sleep(0.05)
        forwarded = [(e, a[0]) for e, a in ide.received
                     if e in ("thinking", "workOrderComplete")]
        assert [e for e, _ in forwarded] == ["thinking", "workOrderComplete"], ide.received
        assert forwarded[0][1]["text"] == "yes"
        assert forwarded[0][1]["registrationId"] == live.spare_drone.id
    finally:
        await ide.close()
        await drone.close()
    log = live.log()
    assert "Traceback" not in log and "Logging error" not in log


def _request(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1",
             *(f"{name}: {value}" for name, value in headers.items()), "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()
