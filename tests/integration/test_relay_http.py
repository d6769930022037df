"""Live: the HTTP API, every status of the termination flow, introspection, and start-up."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from _raw_clients import NO_ACK, Clients, http
from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase

from harness.env import LocalEnvironment
from harness.env.database import EmbeddedDatabase
from harness.relay import Relay
from harness.settings import RelaySettings
from seed.world import World

UNKNOWN = "f" * 24


def _registration_url(env: LocalEnvironment, registration_id: str, *, terminate: bool = False
                      ) -> str:
    url = f"{env.relay_url}/api/v1/drone/registration/{registration_id}"
    return url + "/terminate" if terminate else url


def _error(status_and_body: tuple[int, Any]) -> tuple[int, str]:
    status, body = status_and_body
    assert body["ok"] is False and body["message"], body
    return status, body["error"]


# -- healthz, registration -----------------------------------------------------------------------


async def test_healthz(relay_env: LocalEnvironment) -> None:
    assert await http("GET", relay_env.relay_url + "/healthz") == (200, {"ok": True})


async def test_get_registration_has_no_hashes_hex_ids_and_iso_dates(
        clients: Clients, relay_env: LocalEnvironment, wide_world: World) -> None:
    me = wide_world.users[0]
    drone = wide_world.drones_of(me.id)[0]
    await clients.drone(drone.id, drone.token)

    status, body = await http("GET", _registration_url(relay_env, drone.id), token=me.token)

    assert status == 200 and body["ok"] is True
    registration = body["registration"]
    assert registration["id"] == registration["_id"] == drone.id
    assert registration["user"] == me.id
    assert registration["status"] == "online" and registration["lockedBy"] is None
    assert "tokenHash" not in registration and "apiTokenHash" not in registration
    assert not any("hash" in key.lower() for key in registration)
    datetime.fromisoformat(registration["lastSeenAt"])
    datetime.fromisoformat(registration["createdAt"])


async def test_get_registration_errors(relay_env: LocalEnvironment, wide_world: World) -> None:
    me, other = wide_world.users
    mine = wide_world.drones_of(me.id)[0].id
    theirs = wide_world.drones_of(other.id)[0].id
    url = _registration_url
    assert _error(await http("GET", url(relay_env, mine))) == (401, "unauthorized")
    assert _error(await http("GET", url(relay_env, mine), token="wrong")) == (401,
                                                                             "unauthorized")
    assert _error(await http("GET", url(relay_env, mine),
                             headers={"Authorization": me.token})) == (401, "unauthorized")
    assert _error(await http("GET", url(relay_env, theirs), token=me.token)) == (403,
                                                                                "forbidden")
    assert _error(await http("GET", url(relay_env, UNKNOWN), token=me.token)) == (404,
                                                                                 "not-found")
    assert _error(await http("GET", url(relay_env, "12x"), token=me.token)) == (400,
                                                                               "invalid-id")


# -- termination --------------------------------------------------------------------------------


async def test_termination_accepted_waits_until_offline(
        clients: Clients, relay_env: LocalEnvironment, db: AsyncDatabase[Any],
        wide_world: World) -> None:
    me = wide_world.users[0]
    drone = wide_world.drones_of(me.id)[0]
    client = None

    def accept_and_exit(_: Any) -> bool:
        assert client is not None
        asyncio.get_running_loop().create_task(client.sio.disconnect())
        return True

    client = await clients.drone(drone.id, drone.token,
                                 answers={"requestTermination": accept_and_exit})
    result = await http("POST", _registration_url(relay_env, drone.id, terminate=True),
                        token=me.token)
    assert result == (200, {"ok": True, "terminated": True})
    assert client.events("requestTermination") == [{}]
    doc = await db.droneRegistrations.find_one({"_id": ObjectId(drone.id)})
    assert doc is not None and doc["status"] == "offline"


@pytest.mark.parametrize(("answer", "expected"), [
    (False, (409, "termination-rejected")),
    ({"ok": False}, (409, "termination-rejected")),
])
async def test_termination_refused_or_never_finished(
        clients: Clients, relay_env: LocalEnvironment, wide_world: World, answer: Any,
        expected: tuple[int, str]) -> None:
    me = wide_world.users[0]
    drone = wide_world.drones_of(me.id)[0]
    client = await clients.drone(drone.id, drone.token, answers={"requestTermination": answer})
    url = _registration_url(relay_env, drone.id, terminate=True)
    assert _error(await http("POST", url, token=me.token)) == expected
    assert client.events("requestTermination") == [{}]
    assert client.sio.connected


async def test_a_drone_that_accepts_but_stays_is_ended_by_the_relay(
        clients: Clients, relay_env: LocalEnvironment, db: AsyncDatabase[Any],
        wide_world: World) -> None:
    # It may have exited without its transport noticing (a polling drone): after the exit
    # grace the relay ends the session itself, rather than answer 504 at the poll timeout.
    me = wide_world.users[0]
    drone = wide_world.drones_of(me.id)[0]
    client = await clients.drone(drone.id, drone.token, answers={"requestTermination": True})
    url = _registration_url(relay_env, drone.id, terminate=True)
    assert await http("POST", url, token=me.token) == (200, {"ok": True, "terminated": True})
    doc = await db.droneRegistrations.find_one({"_id": ObjectId(drone.id)})
    assert doc is not None and doc["status"] == "offline"
    for _ in range(50):  # the DISCONNECT reaches the client a moment later
        if not client.sio.connected:
            break
        await asyncio.sleep(0.1)
    assert not client.sio.connected


async def test_termination_without_an_ack_times_out(
        clients: Clients, relay_env: LocalEnvironment, wide_world: World) -> None:
    me = wide_world.users[0]
    drone = wide_world.drones_of(me.id)[0]
    await clients.drone(drone.id, drone.token, answers={"requestTermination": NO_ACK})
    url = _registration_url(relay_env, drone.id, terminate=True)
    assert _error(await http("POST", url, token=me.token)) == (504, "termination-timeout")


async def test_termination_errors_before_asking_the_drone(
        relay_env: LocalEnvironment, db: AsyncDatabase[Any], wide_world: World) -> None:
    me, other = wide_world.users
    mine, spare = wide_world.drones_of(me.id)
    theirs = wide_world.drones_of(other.id)[0]

    def url(registration_id: str) -> str:
        return _registration_url(relay_env, registration_id, terminate=True)

    assert _error(await http("POST", url(mine.id))) == (401, "unauthorized")
    assert _error(await http("POST", url("nope"), token=me.token)) == (400, "invalid-id")
    assert _error(await http("POST", url(UNKNOWN), token=me.token)) == (404, "not-found")
    assert _error(await http("POST", url(theirs.id), token=me.token)) == (403, "forbidden")
    assert _error(await http("POST", url(mine.id), token=me.token)) == (409, "drone-offline")
    # registered online, but no socket (a relay restart, or a lost disconnect)
    await db.droneRegistrations.update_one({"_id": ObjectId(spare.id)},
                                           {"$set": {"status": "online"}})
    assert _error(await http("POST", url(spare.id), token=me.token)) == (
        409, "drone-disconnected")


async def test_another_users_drone_is_403_whatever_its_state(
        clients: Clients, relay_env: LocalEnvironment, db: AsyncDatabase[Any],
        wide_world: World) -> None:
    # Section 8: ownership before state, so nothing about another user's drone leaks.
    me, other = wide_world.users
    offline, spare = wide_world.drones_of(other.id)
    their_chat = wide_world.chat_sessions_of(other.id)[0]

    async def forbidden_to_me(registration_id: str, state: str) -> None:
        for method, terminate in (("GET", False), ("POST", True)):
            url = _registration_url(relay_env, registration_id, terminate=terminate)
            got = _error(await http(method, url, token=me.token))
            assert got == (403, "forbidden"), (state, method, got)

    doc = await db.droneRegistrations.find_one({"_id": ObjectId(offline.id)})
    assert doc is not None and doc["status"] == "offline"
    await forbidden_to_me(offline.id, "offline")
    await db.droneRegistrations.update_one({"_id": ObjectId(spare.id)},
                                           {"$set": {"status": "online"}})
    await forbidden_to_me(spare.id, "online without a socket")
    their_ide = await clients.ide(other.token, "their-ide")
    live = await clients.drone(offline.id, offline.token, answers={"requestTermination": True})
    await forbidden_to_me(offline.id, "online")
    lock = {"registrationId": offline.id, "chatSessionId": their_chat.id}
    assert await their_ide.call("requestSessionLock", lock) == {"ok": True}
    await forbidden_to_me(offline.id, "busy")
    await live.barrier()
    assert live.events("requestTermination") == []


# -- introspection ------------------------------------------------------------------------------


async def test_introspection_needs_the_admin_token(relay_env: LocalEnvironment) -> None:
    url = relay_env.relay_url + "/api/v1/debug/sessions"
    assert _error(await http("GET", url)) == (401, "unauthorized")
    assert _error(await http("GET", url, headers={"X-Admin-Token": ""})) == (401,
                                                                             "unauthorized")
    assert _error(await http("GET", url, headers={"X-Admin-Token": "guess"})) == (403,
                                                                                  "forbidden")
    assert relay_env.admin_token
    status, body = await http("GET", url, headers={"X-Admin-Token": relay_env.admin_token})
    assert status == 200 and body["ok"] is True
    assert set(body["maps"]) == {"sessions", "dronesByRegistration", "codeSessionsByUser",
                                 "codeSessionsByChatSession"}
    for value in body["maps"].values():
        assert set(value) == {"size", "keys"} and value["size"] == len(value["keys"])


async def test_introspection_is_absent_without_an_admin_token(
        relay_env: LocalEnvironment) -> None:
    settings = RelaySettings(port=0, mongo_uri=relay_env.mongo_uri,
                             database=relay_env.database, admin_token=None)
    async with Relay(settings) as relay:
        url = relay.url + "/api/v1/debug/sessions"
        assert _error(await http("GET", url, headers={"X-Admin-Token": ""})) == (404,
                                                                                 "not-found")
        assert await http("GET", relay.url + "/healthz") == (200, {"ok": True})


async def test_healthz_is_503_when_the_database_goes_away(tmp_path: Path) -> None:
    database = EmbeddedDatabase("standin")
    await database.start(tmp_path)
    try:
        async with Relay(RelaySettings(port=0, mongo_uri=database.uri)) as relay:
            assert await http("GET", relay.url + "/healthz") == (200, {"ok": True})
            await database.stop()
            status, body = await http("GET", relay.url + "/healthz")
            assert (status, body["ok"], body["error"]) == (503, False, "database-unreachable")
    finally:
        await database.stop()


# -- start-up -------------------------------------------------------------------------------------


async def _run_relay(*args: str, timeout: float = 20.0) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "harness.relay", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        async with asyncio.timeout(timeout):
            _, stderr = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, stderr.decode()


async def test_unreachable_database_exits_with_one_line_naming_the_masked_uri(
        unused_tcp_port: int) -> None:
    code, stderr = await _run_relay(
        "--port", "0", "--mongo-uri", f"mongodb://bob:s3cret@127.0.0.1:{unused_tcp_port}/x")
    assert code != 0
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and "s3cret" not in stderr
    assert f"mongodb://bob:***@127.0.0.1:{unused_tcp_port}/x" in lines[0]
    assert "refused" in lines[0].lower() or "failed" in lines[0].lower()


async def test_port_file_holds_the_bound_port(relay_env: LocalEnvironment,
                                              tmp_path: Path) -> None:
    port_file = tmp_path / "sub" / "relay.port"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "harness.relay", "--port", "0", "--port-file", str(port_file),
        "--mongo-uri", relay_env.mongo_uri, "--database", relay_env.database,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        async with asyncio.timeout(20):
            while not port_file.exists():  # noqa: ASYNC110 - a file has no event to await
                await asyncio.sleep(0.05)
        port = int(port_file.read_text())
        status, _ = await http("GET", f"http://127.0.0.1:{port}/healthz")
        assert status == 200
    finally:
        process.terminate()
        async with asyncio.timeout(20):
            assert await process.wait() == 0
