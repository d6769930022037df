"""A stopping relay, seen on the engine.io wire: it opens no new session.

``tests/integration/test_js_client_restart.py`` failed about one run in eight because a
client closed early in the stop reconnected to the relay that was going down, which took
it and dropped it again (``harness/relay/stopping.py``).

The relay runs in this process (so a test can close the gate at a chosen moment) on a
database of its own in the shared embedded server.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from conftest import in_process_relay
from pymongo import AsyncMongoClient

from harness.env import LocalEnvironment
from harness.protocol import SOCKETIO_PATH, ClientType
from harness.relay import Relay
from seed.world import World, WorldSpec

pytestmark = [pytest.mark.timeout(60)]

RECORD_SEPARATOR = "\x1e"  # between packets of one polling payload


@pytest.fixture
async def private_relay(relay_env: LocalEnvironment,
                        relay_mongo: AsyncMongoClient[Any]) -> AsyncIterator[tuple[Relay, World]]:
    """A relay in this process on a fresh database, with one seeded user."""
    async with in_process_relay(relay_env, relay_mongo, "stop",
                                WorldSpec(users=1, drones_per_user=0)) as started:
        yield started


class Poller:
    """One engine.io long-polling session, request by request."""

    def __init__(self, http: aiohttp.ClientSession, relay_url: str) -> None:
        self._http = http
        self._url = f"{relay_url}{SOCKETIO_PATH}/"
        self.sid: str | None = None

    def _query(self) -> dict[str, str]:
        query = {"EIO": "4", "transport": "polling"}
        if self.sid is not None:
            query["sid"] = self.sid
        return query

    async def get(self) -> tuple[int, list[str]]:
        """One GET: its status and the packets of its payload."""
        async with self._http.get(self._url, params=self._query()) as response:
            return response.status, (await response.text()).split(RECORD_SEPARATOR)

    async def post(self, *packets: str) -> int:
        """One POST of ``packets``; its status."""
        async with self._http.post(self._url, params=self._query(),
                                   data=RECORD_SEPARATOR.join(packets)) as response:
            await response.read()
            return response.status

    async def open(self) -> int:
        """The handshake GET; keeps the session id when it succeeds; returns the status."""
        status, packets = await self.get()
        if status == 200:
            self.sid = json.loads(packets[0][1:])["sid"]
        return status

    async def connect(self, auth: dict[str, Any]) -> str:
        """Handshake and Socket.IO CONNECT; the Socket.IO id the relay gave."""
        assert await self.open() == 200
        assert await self.post("40" + json.dumps(auth)) == 200
        status, packets = await self.get()
        assert status == 200 and packets[0].startswith("40"), packets
        sid: str = json.loads(packets[0][2:])["sid"]
        return sid


async def test_a_stopping_relay_refuses_new_sessions_and_serves_open_ones(
        private_relay: tuple[Relay, World]) -> None:
    relay, world = private_relay
    auth = {"type": ClientType.CODE, "token": world.users[0].token}
    async with aiohttp.ClientSession() as http:
        open_one = Poller(http, relay.url)
        await open_one.connect(auth)
        relay.gate.close()
        assert await Poller(http, relay.url).open() == 503
        # the session opened before the gate closed is still served: an event with an ack
        # id is answered (an unknown event: refused, but answered)
        assert await open_one.post('421["noSuchEvent",{}]') == 200
        status, packets = await open_one.get()
        assert status == 200 and packets[0].startswith("431["), packets
