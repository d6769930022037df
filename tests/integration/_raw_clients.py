"""Raw python-socketio clients and fixtures for the relay's live conformance tests.

Deliberately not the harness's simulated clients: these tests hold the reference relay to
the contract with nothing of ours in between but a recording ``AsyncClient``.

Absence is checked with a *barrier*: after the action, each observer makes one acked round
trip to the relay. The relay writes to one socket in order, so once that ack is back,
anything the relay sent that socket before has arrived too.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import aiohttp
import pytest
import socketio
from engineio.payload import Payload
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from harness.env import LocalEnvironment
from seed import build_world, cleanup
from seed.world import World, WorldSpec

# python-engineio's polling client gives up past 16 packets in one poll response.
Payload.max_decode_packets = max(Payload.max_decode_packets, 10_000)

TIMEOUT = 5.0  # for anything that should happen promptly; never reached when all is well
NO_ACK = object()  # an answer that keeps the ack back for good
WEBSOCKET = ("websocket",)
POLLING = ("polling",)

Answer = Any | Callable[[Any], Any]


class RawClient:
    """One Socket.IO client that records every event it receives, in order.

    ``answers`` maps an event name to the ack to send back: a value, ``NO_ACK``, or a
    callable of the payload (which may be async) returning one of those.
    """

    def __init__(self, name: str, answers: dict[str, Answer] | None = None) -> None:
        self.name = name
        self.answers: dict[str, Answer] = dict(answers or {})
        self.received: list[tuple[str, Any]] = []
        self.connect_error: Any = None
        self.disconnected = asyncio.Event()
        self._changed = asyncio.Event()
        self._release = asyncio.Event()
        self.sio = socketio.AsyncClient(reconnection=False)
        self.sio.on("*", self._on_event)
        self.sio.on("connect_error", self._on_connect_error)
        self.sio.on("disconnect", self._on_disconnect)

    @property
    def sid(self) -> str:
        sid = self.sio.get_sid()
        assert isinstance(sid, str), f"{self.name} is not connected"
        return sid

    async def _on_event(self, event: str, *args: Any) -> Any:
        # Record before any await: keeps the recording in arrival order.
        self.received.append((event, args[0] if len(args) == 1 else list(args)))
        self._changed.set()
        answer = self.answers.get(event)
        if callable(answer):
            answer = answer(args[0] if args else None)
            if asyncio.iscoroutine(answer):
                answer = await answer
        if answer is NO_ACK:
            await self._release.wait()
            return None
        return answer

    async def _on_connect_error(self, data: Any = None) -> None:
        self.connect_error = data
        self._changed.set()

    async def _on_disconnect(self, *args: Any) -> None:
        self.disconnected.set()
        self._changed.set()

    async def connect(self, url: str, auth: Any,
                      transports: Iterable[str] = WEBSOCKET) -> None:
        """Connect with ``auth``; raises ``socketio.exceptions.ConnectionError`` if refused."""
        await self.sio.connect(url, auth=auth, transports=list(transports),
                               wait_timeout=TIMEOUT)

    async def call(self, event: str, data: Any = None, timeout: float = TIMEOUT) -> Any:
        """Emit ``event`` and return the relay's ack."""
        return await self.sio.call(event, data, timeout=timeout)

    async def emit(self, event: str, data: Any = None) -> None:
        await self.sio.emit(event, data)

    async def barrier(self) -> None:
        """One acked round trip: an unknown event, which the reference relay refuses
        ``forbidden`` (never acted on); not usable under ``--variant wrong-side-ignored``."""
        await self.sio.call("harnessBarrier", {}, timeout=TIMEOUT)

    def events(self, event: str) -> list[Any]:
        """Payloads of ``event`` received so far, in order."""
        return [data for name, data in self.received if name == event]

    async def wait_for(self, event: str, predicate: Callable[[Any], bool] | None = None,
                       *, count: int = 1, timeout: float = TIMEOUT) -> list[Any]:
        """Wait until ``count`` payloads of ``event`` (matching ``predicate``) arrived."""

        def matching() -> list[Any]:
            return [d for d in self.events(event) if predicate is None or predicate(d)]

        try:
            async with asyncio.timeout(timeout):
                while len(found := matching()) < count:
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(
                f"{self.name}: expected {count} x {event!r} within {timeout} s; "
                f"received {self.received!r}") from None
        return found

    async def close(self) -> None:
        self._release.set()
        if self.sio.connected:
            await self.sio.disconnect()
        with contextlib.suppress(Exception):
            await self.sio.shutdown()


class Clients:
    """Makes connected clients and disconnects them all at teardown."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._all: list[RawClient] = []

    def new(self, name: str, answers: dict[str, Answer] | None = None) -> RawClient:
        client = RawClient(name, answers)
        self._all.append(client)
        return client

    async def ide(self, token: str, name: str = "ide", *,
                  transports: Iterable[str] = WEBSOCKET) -> RawClient:
        client = self.new(name)
        await client.connect(self.url, {"type": "code", "token": token}, transports)
        return client

    async def drone(self, registration_id: str, token: str, name: str = "drone",
                    answers: dict[str, Answer] | None = None, *,
                    transports: Iterable[str] = WEBSOCKET) -> RawClient:
        """A drone that accepts every lock, prompt and termination unless told otherwise."""
        defaults: dict[str, Answer] = {"requestSessionLock": True, "submitPrompt": True,
                                       "releaseSessionLock": True, "requestTermination": False}
        client = self.new(name, {**defaults, **(answers or {})})
        await client.connect(
            self.url, {"type": "drone", "registrationId": registration_id, "token": token},
            transports)
        return client

    async def refusal(self, auth: Any) -> Any:
        """The ``connect_error`` data of a refused connection (fails if it was accepted)."""
        client = self.new("refused")
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(self.url, auth)
        return client.connect_error

    async def close(self) -> None:
        for client in self._all:
            await client.close()


# -- HTTP -------------------------------------------------------------------------------------


async def http(method: str, url: str, *, token: str | None = None,
               headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """One HTTP request; returns the status and the JSON body (None if not JSON)."""
    all_headers = dict(headers or {})
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    async with aiohttp.ClientSession() as session, session.request(
            method, url, headers=all_headers) as response:
        try:
            body = await response.json(content_type=None)
        except ValueError:
            body = None
        return response.status, body


async def sessions(env: LocalEnvironment) -> dict[str, dict[str, Any]]:
    """The relay's introspection maps."""
    assert env.admin_token
    status, body = await http("GET", env.relay_url + "/api/v1/debug/sessions",
                              headers={"X-Admin-Token": env.admin_token})
    assert status == 200, body
    maps: dict[str, dict[str, Any]] = body["maps"]
    return maps


async def eventually(check: Callable[[], Awaitable[bool]], what: str,
                     timeout: float = TIMEOUT) -> None:
    """Poll ``check`` every 20 ms until it holds (relay-side state has no event to await)."""
    try:
        async with asyncio.timeout(timeout):
            while not await check():  # noqa: ASYNC110 - relay state: nothing to await
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"not within {timeout} s: {what}") from None


async def holds_none_of(env: LocalEnvironment, keys: Iterable[str]) -> bool:
    """True when no map or index of the relay has any of ``keys``."""
    wanted = set(keys)
    maps = await sessions(env)
    return not any(wanted & set(m["keys"]) for m in maps.values())


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture
async def clients(relay_env: LocalEnvironment) -> AsyncIterator[Clients]:
    """Raw clients of the shared relay, all closed after the test."""
    made = Clients(relay_env.relay_url)
    yield made
    await made.close()


@pytest.fixture
def db(relay_env: LocalEnvironment,
       relay_mongo: AsyncMongoClient[Any]) -> AsyncDatabase[Any]:
    """The shared relay's database."""
    return relay_mongo[relay_env.database]


@pytest.fixture
async def wide_world(relay_env: LocalEnvironment,
                     db: AsyncDatabase[Any]) -> AsyncIterator[World]:
    """Two users, each with two chat sessions and two drones."""
    seeded = await build_world(db, WorldSpec(users=2, chat_sessions_per_project=2,
                                             drones_per_user=2))
    yield seeded
    await cleanup(db, seeded.run_id)


async def seeded_env(env: LocalEnvironment, spec: WorldSpec | None = None) -> World:
    """Seed a world into a private environment's database (discarded with it)."""
    client: AsyncMongoClient[Any] = AsyncMongoClient(env.mongo_uri)
    try:
        return await build_world(client[env.database], spec or WorldSpec())
    finally:
        await client.close()
