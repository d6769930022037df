"""Live: the variants that change the shape or words of what the relay sends (11.2, 11.3, 11.9,
section 10), on a private relay without (``reference``) and with (``variant``) each."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from _raw_clients import NO_ACK, Clients, http
from bson import ObjectId
from test_relay_variants import (
    ADMIN_TOKEN,
    MODES,
    UNKNOWN,
    MakePrivate,
    Private,
    error_of,
    private,
    relay_for,
)

__all__ = ["private"]  # the fixture, shared with test_relay_variants

EXTRA = {"relay": "gadget-harness"}
Z_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _registration_url(p: Private, registration_id: str, *, terminate: bool = False) -> str:
    url = f"{p.url}/api/v1/drone/registration/{registration_id}"
    return url + "/terminate" if terminate else url


async def _maps(p: Private) -> dict[str, Any]:
    status, body = await http("GET", p.url + "/api/v1/debug/sessions",
                              headers={"X-Admin-Token": ADMIN_TOKEN})
    assert status == 200 and body["ok"] is True, body
    maps: dict[str, Any] = body["maps"]
    return maps


async def _running(p: Private) -> tuple[Any, Any, str]:
    ide, drone = await p.locked()
    return ide, drone, await p.work_order(ide)


# -- extra-fields (11.2, 10) -----------------------------------------------------------------


@MODES
async def test_extra_fields_on_acks_events_and_protocol_errors(private: MakePrivate,
                                                               on: bool) -> None:
    p = await private(*relay_for(on, "extra-fields"))
    extra = EXTRA if on else {}
    ide, drone, order = await _running(p)
    assert await ide.call("openChatSession", {"chatSessionId": p.chat.id}) == {"ok": True,
                                                                               **extra}
    refused = await ide.call("openChatSession", {"chatSessionId": UNKNOWN})
    assert set(refused) == {"ok", "error", "message", *extra}
    assert refused.get("relay") == extra.get("relay")

    item = {"workOrderId": order, "chatSessionId": p.chat.id, "seq": 0, "text": "hm"}
    await drone.emit("thinking", item)
    done = {"workOrderId": order, "chatSessionId": p.chat.id, "status": "complete"}
    await drone.emit("workOrderComplete", done)
    await drone.emit("response", {**item, "chatSessionId": p.chat2.id})
    [thinking] = await ide.wait_for("thinking")
    [complete] = await ide.wait_for("workOrderComplete")
    [error] = await drone.wait_for("protocolError")
    for sent, got in ((item, thinking), (done, complete)):
        added = set(got) - {*sent, "registrationId"}
        assert added == ({"relayedAt"} if on else set()), got
        assert {k: got[k] for k in (*sent, "registrationId")} == {**sent,
                                                                  "registrationId": p.drone.id}
        if on:
            datetime.fromisoformat(got["relayedAt"])
    assert set(error) == {"event", "error", "message", *extra}
    # not on droneStatus or droneRecovered (section 11.2 lists neither)
    assert all(set(e) == {"registrationId", "status"} for e in ide.events("droneStatus"))


@MODES
async def test_extra_fields_on_recovery_and_http(private: MakePrivate, on: bool) -> None:
    p = await private(*relay_for(on, "extra-fields"))
    extra = EXTRA if on else {}
    ide, _, order = await _running(p)
    second = await p.drone_client("second")
    recovered = await second.call("requestCrashRecovery")
    assert recovered == {"ok": True, "chatSessionId": p.chat.id, **extra, "workOrder": {
        "id": order, "chatSessionId": p.chat.id, "prompt": "go", "status": "running",
        **({"registrationId": p.drone.id} if on else {})}}
    [told] = await ide.wait_for("droneRecovered")
    assert told == {"registrationId": p.drone.id, "chatSessionId": p.chat.id}

    assert await http("GET", p.url + "/healthz") == (200, {"ok": True, **extra})
    status, body = await http("GET", _registration_url(p, p.drone.id), token=p.token)
    assert status == 200 and set(body) == {"ok", "registration", *extra}
    status, body = await http("GET", _registration_url(p, UNKNOWN), token=p.token)
    assert status == 404 and set(body) == {"ok", "error", "message", *extra}
    status, body = await http("POST", _registration_url(p, p.drone2.id, terminate=True),
                              token=p.token)
    assert (status, body["error"]) == (409, "drone-offline") and body.get("relay") == extra.get(
        "relay")

    status, body = await http("GET", p.url + "/api/v1/debug/sessions",
                              headers={"X-Admin-Token": ADMIN_TOKEN})
    assert status == 200 and set(body) == {"ok", "maps", *extra}
    four = {"sessions", "dronesByRegistration", "codeSessionsByUser",
            "codeSessionsByChatSession"}
    assert set(body["maps"]) == (four | {"pendingLocks"} if on else four)
    for value in body["maps"].values():
        assert set(value) == ({"size", "keys", "kind"} if on else {"size", "keys"})
        assert value["size"] == len(value["keys"])


async def test_extra_fields_pending_locks_map_names_a_waiting_lock(
        private: MakePrivate) -> None:
    p = await private("extra-fields")
    ide = await p.ide()
    drone = await p.drone_client(requestSessionLock=NO_ACK)
    await ide.emit("requestSessionLock", p.lock())
    await drone.wait_for("requestSessionLock")
    assert (await _maps(p))["pendingLocks"] == {"size": 1, "keys": [p.drone.id],
                                                "kind": "pending"}


# -- underscore-ids (11.2) -------------------------------------------------------------------


@MODES
async def test_ids_of_the_recovery_work_order_and_the_registration(private: MakePrivate,
                                                                   on: bool) -> None:
    p = await private(*relay_for(on, "underscore-ids"))
    _, _, order = await _running(p)
    second = await p.drone_client("second")
    work_order = (await second.call("requestCrashRecovery"))["workOrder"]
    assert work_order == {("_id" if on else "id"): order, "chatSessionId": p.chat.id,
                          "prompt": "go", "status": "running"}

    status, body = await http("GET", _registration_url(p, p.drone.id), token=p.token)
    assert status == 200
    registration = body["registration"]
    assert registration["_id"] == p.drone.id
    assert ("id" in registration) is not on
    if not on:
        assert registration["id"] == p.drone.id


# -- z-timestamps and string-dates (11.3) ----------------------------------------------------


@MODES
async def test_datetimes_on_the_wire(private: MakePrivate, on: bool) -> None:
    p = await private(*relay_for(on, "z-timestamps"))
    await p.drone_client()
    status, body = await http("GET", _registration_url(p, p.drone.id), token=p.token)
    assert status == 200
    for name in ("createdAt", "lastSeenAt"):
        stamp = body["registration"][name]
        datetime.fromisoformat(stamp)
        if on:
            assert Z_STAMP.match(stamp), stamp
        else:
            assert stamp.endswith("+00:00"), stamp


@MODES
async def test_dates_the_relay_writes_to_the_database(private: MakePrivate, on: bool) -> None:
    p = await private(*relay_for(on, "string-dates"))
    kind = str if on else datetime
    ide, drone, order = await _running(p)
    registration = await p.db.droneRegistrations.find_one({"_id": ObjectId(p.drone.id)})
    assert registration is not None and isinstance(registration["lastSeenAt"], kind)
    work_order = await p.db.workOrders.find_one({"_id": ObjectId(order)})
    assert work_order is not None and isinstance(work_order["createdAt"], kind)
    await drone.emit("workOrderComplete", {"workOrderId": order, "chatSessionId": p.chat.id,
                                           "status": "failed"})
    await ide.wait_for("workOrderComplete")
    work_order = await p.db.workOrders.find_one({"_id": ObjectId(order)})
    assert work_order is not None and isinstance(work_order["completedAt"], kind)
    if on:
        for text in (registration["lastSeenAt"], work_order["createdAt"],
                     work_order["completedAt"]):
            assert datetime.fromisoformat(text).utcoffset() is not None, text
    # the relay still reads what it wrote: the HTTP registration, a recovery, a disconnect
    status, body = await http("GET", _registration_url(p, p.drone.id), token=p.token)
    assert status == 200
    datetime.fromisoformat(body["registration"]["lastSeenAt"])
    second_order = await p.work_order(ide)
    second = await p.drone_client("second")
    assert (await second.call("requestCrashRecovery"))["workOrder"]["status"] == "running"
    await second.sio.disconnect()
    await ide.wait_for("droneStatus", lambda e: e["status"] == "offline")
    aborted = await p.db.workOrders.find_one({"_id": ObjectId(second_order)})
    assert aborted is not None and aborted["status"] == "aborted"
    assert isinstance(aborted["completedAt"], kind)


async def test_string_dates_with_z_timestamps_are_stored_with_z(private: MakePrivate) -> None:
    p = await private("string-dates", "z-timestamps")
    await p.drone_client()
    registration = await p.db.droneRegistrations.find_one({"_id": ObjectId(p.drone.id)})
    assert registration is not None and Z_STAMP.match(registration["lastSeenAt"])


# -- other-messages (11.9) -------------------------------------------------------------------


@MODES
async def test_message_texts(private: MakePrivate, on: bool) -> None:
    p = await private(*relay_for(on, "other-messages"))
    ide, drone = await p.locked()
    refused = await ide.call("submitPrompt", {**p.lock(chat_id=p.chat2.id), "prompt": "p"})
    assert error_of(refused) == "not-locked"
    await drone.emit("thinking", {"workOrderId": UNKNOWN, "chatSessionId": p.chat2.id,
                                  "seq": 0, "text": "x"})
    [error] = await drone.wait_for("protocolError")
    status, body = await http("GET", _registration_url(p, p.drone.id))
    assert (status, body["error"]) == (401, "unauthorized")
    for message in (refused["message"], error["message"], body["message"]):
        assert isinstance(message, str) and message
        assert message.startswith("gadget-relay: ") is on, message


@MODES
async def test_connect_error_message_and_data(private: MakePrivate, on: bool) -> None:
    p = await private(*relay_for(on, "other-messages"))
    cases = {
        "auth-invalid": {"type": "tablet"},
        "auth-denied": {"type": "code", "token": "no-such-user"},
        "auth-unknown": {"type": "drone", "registrationId": UNKNOWN, "token": "x"},
    }
    clients = Clients(p.url)
    try:
        for code, auth in cases.items():
            refusal = await clients.refusal(auth)
            if on:
                assert code in refusal["message"] and refusal["message"] != code, refusal
                assert refusal["data"] == {"reason": code}
            else:
                assert refusal["message"] == code
                assert refusal["data"]["error"] == code and refusal["data"]["message"]
    finally:
        await clients.close()


# -- partial-introspection (10) --------------------------------------------------------------


@MODES
async def test_introspection_maps(private: MakePrivate, on: bool) -> None:
    p = await private(*relay_for(on, "partial-introspection"))
    ide = await p.ide()
    maps = await _maps(p)
    three = {"sessions", "dronesByRegistration", "codeSessionsByUser"}
    assert set(maps) == (three if on else three | {"codeSessionsByChatSession"})
    assert ide.sid in maps["sessions"]["keys"]
    if not on:
        assert maps["codeSessionsByChatSession"]["keys"] == [p.chat.id]
