"""Relay start-up: the records a killed relay left behind are cleared (section 9)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bson import ObjectId
from pymongo import AsyncMongoClient

from harness.env.database import EmbeddedDatabase
from harness.relay import Relay
from harness.settings import RelaySettings
from seed import build_world, cleanup
from seed.world import WorldSpec


async def test_start_up_clears_what_a_killed_relay_left_online(tmp_path: Path) -> None:
    database = EmbeddedDatabase("standin")
    await database.start(tmp_path)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(database.uri, tz_aware=True)
    try:
        db = client["gadget"]
        world = await build_world(db, WorldSpec(drones_per_user=3))
        busy, online, offline = (ObjectId(d.id) for d in world.drones)
        chat = ObjectId(world.chat_sessions[0].id)
        registrations, orders = db["droneRegistrations"], db["workOrders"]
        await registrations.update_one({"_id": busy},
                                       {"$set": {"status": "busy", "lockedBy": chat}})
        await registrations.update_one({"_id": online}, {"$set": {"status": "online"}})
        ids = {}
        for name, registration, status in (("running", busy, "running"),
                                           ("pending", online, "pending"),
                                           ("done", busy, "complete"),
                                           ("elsewhere", offline, "running")):
            inserted = await orders.insert_one({"chatSession": chat, "registration": registration,
                                                "prompt": name, "status": status,
                                                "completedAt": None})
            ids[name] = inserted.inserted_id

        async with Relay(RelaySettings(port=0, mongo_uri=database.uri)):
            states = {d["_id"]: (d["status"], d["lockedBy"])
                      async for d in registrations.find({"_id": {"$in": [busy, online]}})}
            assert states == {busy: ("offline", None), online: ("offline", None)}
            status = {d["prompt"]: (d["status"], d["completedAt"] is not None)
                      async for d in orders.find({"_id": {"$in": list(ids.values())}})}
            assert status == {"running": ("aborted", True), "pending": ("aborted", True),
                              "done": ("complete", False),
                              # not of a registration left online: not this sweep's business
                              "elsewhere": ("running", False)}
        await cleanup(db, world.run_id)
        await orders.delete_many({"_id": {"$in": list(ids.values())}})
    finally:
        await client.close()
        await database.stop()
