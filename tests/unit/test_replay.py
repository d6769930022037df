"""``harness scenario from-trace``: a recorded exchange becomes a scenario (pure: traces
written here in the format ``harness record`` writes, converted, loaded back; the live
round trip with the real JavaScript client is tests/integration/test_record_replay.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from harness.errors import TraceError
from harness.replay import ReplayOptions, convert
from harness.report.trace import parse_trace

USER_FP = "<redacted:aaaa1111>"
OTHER_FP = "<redacted:bbbb2222>"
CHAT = "6a0000000000000000000c01"
CHAT2 = "6a0000000000000000000c02"
FOREIGN_CHAT = "6a0000000000000000000c99"
MISSING = "6a00000000000000000000ff"
DRONE = "6a0000000000000000000d01"
PROJECT = "6a0000000000000000000e01"
WORK = "6a0000000000000000000f01"


class Tape:
    """A trace as ``harness record`` writes it, built message by message."""

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []
        self.t = 0.0

    def add(self, actor: str, direction: str, event: str, payload: Any = None, *,
            ack: Any = None, dt: float = 0.01, **meta: Any) -> int:
        self.t += dt
        kind = "http" if actor == "http" else ("drone" if actor.startswith("drone") else "ide")
        seq = len(self.lines)
        self.lines.append({"type": "message", "seq": seq, "t": round(self.t, 6),
                           "actor": actor, "kind": kind, "direction": direction,
                           "event": event, "payload": payload, "ack": ack,
                           "socket_id": f"sid-{actor}", "meta": meta})
        return seq

    def ide_connects(self, actor: str = "ide1", token: str = USER_FP) -> None:
        self.add(actor, "connect", "connect", transport="websocket",
                 auth={"type": "code", "token": token})

    def drone_connects(self, actor: str = "drone1", registration: str = DRONE) -> None:
        self.add(actor, "connect", "connect", transport="websocket",
                 auth={"type": "drone", "registrationId": registration, "token": OTHER_FP})

    def request(self, actor: str, event: str, payload: Any, answer: Any,
                dt: float = 0.01) -> None:
        sent = self.add(actor, "sent", event, payload, ack_id=len(self.lines))
        self.add(actor, "ack", event, ack=answer, dt=dt, sent_seq=sent)

    def http(self, path: str, status: int, body: Any, token: str = USER_FP) -> None:
        sent = self.add("http", "sent", f"POST {path}", None, auth=token,
                        headers={"Authorization": f"Bearer {token}"})
        self.add("http", "received", f"POST {path}", body, status=status, sent_seq=sent)

    def text(self) -> str:
        header = {"type": "header", "schema": "gadget-harness-trace", "version": 1,
                  "scenario": "recording", "name": "recording", "source": "harness record",
                  "run": {"id": "rec-1", "title": "harness record"}, "status": "recorded",
                  "steps": [], "actors": {}, "messages": len(self.lines),
                  "recording": {"upstream": "http://127.0.0.1:8080", "payloads": "full",
                                "started": "2026-11-30T09:00:00Z"}}
        return "\n".join(json.dumps(line) for line in [header, *self.lines]) + "\n"


def work_order(tape: Tape) -> None:
    """A whole work order and a termination, as the real clients of the proof do it."""
    tape.drone_connects()
    tape.ide_connects()
    tape.add("ide1", "received", "droneStatus", {"registrationId": DRONE, "status": "online"})
    tape.request("ide1", "openChatSession", {"chatSessionId": CHAT}, {"ok": True})
    lock = {"registrationId": DRONE, "chatSessionId": CHAT}
    sent = tape.add("ide1", "sent", "requestSessionLock", lock, ack_id=1)
    asked = tape.add("drone1", "received", "requestSessionLock",
                     {"chatSessionId": CHAT, "projectId": PROJECT}, wants_ack=True, ack_id=0)
    tape.add("drone1", "acked", "requestSessionLock", ack=True, received_seq=asked)
    tape.add("ide1", "ack", "requestSessionLock", ack={"ok": True}, sent_seq=sent)
    tape.add("ide1", "received", "droneStatus", {"registrationId": DRONE, "status": "busy"})
    sent = tape.add("ide1", "sent", "submitPrompt",
                    {**lock, "prompt": "explain the README"}, ack_id=2)
    asked = tape.add("drone1", "received", "submitPrompt",
                     {"workOrderId": WORK, "chatSessionId": CHAT, "prompt": "explain"},
                     wants_ack=True, ack_id=1)
    tape.add("drone1", "acked", "submitPrompt", ack=True, received_seq=asked)
    tape.add("ide1", "ack", "submitPrompt", ack={"ok": True, "workOrderId": WORK},
             sent_seq=sent)
    for seq, event in enumerate(("thinking", "response")):
        stream = {"workOrderId": WORK, "chatSessionId": CHAT, "seq": seq, "text": event}
        tape.add("drone1", "sent", event, stream)
        tape.add("ide1", "received", event, {**stream, "registrationId": DRONE})
    done = {"workOrderId": WORK, "chatSessionId": CHAT, "seq": 2, "status": "complete",
            "summary": "done"}
    tape.add("drone1", "sent", "workOrderComplete", done)
    tape.add("ide1", "received", "workOrderComplete", {**done, "registrationId": DRONE})
    path = f"/api/v1/drone/registration/{DRONE}/terminate"
    sent = tape.add("http", "sent", f"POST {path}", None, auth=USER_FP, headers={})
    asked = tape.add("drone1", "received", "requestTermination", {}, wants_ack=True, ack_id=2)
    tape.add("drone1", "acked", "requestTermination", ack=True, received_seq=asked)
    tape.add("drone1", "disconnect", "disconnect", reason="client")
    tape.add("ide1", "received", "droneStatus", {"registrationId": DRONE, "status": "offline"})
    tape.add("http", "received", f"POST {path}", {"ok": True, "terminated": True},
             status=200, sent_seq=sent)
    tape.add("ide1", "disconnect", "disconnect", reason="client")


def converted(tape: Tape, **options: Any) -> tuple[str, dict[str, Any]]:
    conversion = convert(parse_trace(tape.text(), "t.jsonl"), source="t.jsonl",
                         options=ReplayOptions(**options))
    return conversion.text, yaml.safe_load(conversion.text)


def steps_of(doc: dict[str, Any], kind: str) -> list[Any]:
    return [step[kind] for step in doc["steps"] if kind in step]


def test_a_work_order_becomes_a_scenario_on_a_seeded_world() -> None:
    tape = Tape()
    work_order(tape)
    text, doc = converted(tape)
    assert doc["world"] == {"users": 1, "chat_sessions_per_project": 1, "drones_per_user": 1}
    assert doc["actors"]["ide1"] == {"ide": {"user": 0}, "reconnect": False}
    assert doc["actors"]["drone1"]["drone"] == {"index": 0, "user": 0}
    assert doc["actors"]["drone1"]["behaviour"] == {
        "on_prompt": "accept", "on_lock": "accept", "on_termination": "accept",
        "exit_mode": "goodbye"}
    assert doc["actors"]["api"] == {"http": {"user": 0}}
    for recorded in (CHAT, DRONE, PROJECT, WORK, USER_FP):  # nothing of the recorded run
        assert recorded not in text
    emits = steps_of(doc, "emit")
    assert [(e["actor"], e["event"]) for e in emits] == [
        ("ide1", "openChatSession"), ("ide1", "requestSessionLock"), ("ide1", "submitPrompt"),
        ("drone1", "thinking"), ("drone1", "response"), ("drone1", "workOrderComplete")]
    assert emits[0]["payload"] == {"chatSessionId": "${ide1.chat_session.id}"}
    assert emits[2]["ack"] == {"ok": True,
                               "workOrderId": {"$type": "objectid", "$capture": "wo1"}}
    assert emits[3]["payload"]["workOrderId"] == "${capture.wo1}"
    assert all(e.get("no_ack") for e in emits[3:])
    http, = steps_of(doc, "http")
    assert http == {"method": "POST", "path": "/api/v1/drone/registration/${drone1.id}/terminate",
                    "actor": "api", "expect": {"status": 200, "body": {"ok": True,
                                                                      "terminated": True}}}
    expects = steps_of(doc, "expect")
    lock = next(e for e in expects if e.get("event") == "requestSessionLock")
    assert lock["payload"]["projectId"] == "${users[0].chat_sessions[0].project_id}"
    # each event the IDE got is expected before the drone's next action, as recorded
    delivered = [(e["event"], e["payload"]["seq"]) for e in expects
                 if e["actor"] == "ide1" and "seq" in e["payload"]]
    assert delivered == [("thinking", 0), ("response", 1), ("workOrderComplete", 2)]
    streamed = [i for i, step in enumerate(doc["steps"])
                if step.get("emit", {}).get("actor") == "drone1"]
    assert [next(iter(doc["steps"][i + 1])) for i in streamed] == ["expect"] * 3
    assert {"wait_until": {"disconnected": ["drone1"]}} in doc["steps"]  # it exits by itself
    assert doc["steps"][-1] == {"disconnect": "ide1"}


def test_acks_lose_their_message_text_and_per_run_values_match_by_type() -> None:
    tape = Tape()
    tape.ide_connects()
    tape.request("ide1", "openChatSession", {"chatSessionId": MISSING},
                 {"ok": False, "error": "not-found", "message": f"no chat session {MISSING}"})
    tape.add("ide1", "received", "droneStatus",
             {"registrationId": "6a0000000000000000000aaa", "status": "online",
              "at": "2026-11-30T09:00:00.123+00:00"})
    _, doc = converted(tape)
    emit, = steps_of(doc, "emit")
    assert emit["payload"] == {"chatSessionId": MISSING}  # in no world: kept as recorded
    assert emit["ack"] == {"ok": False, "error": "not-found"}
    expect, = steps_of(doc, "expect")
    assert expect["payload"] == {"registrationId": {"$type": "objectid"}, "status": "online",
                                 "at": {"$rfc3339": True}}


def test_an_id_answered_forbidden_belongs_to_a_user_of_its_own() -> None:
    tape = Tape()
    tape.ide_connects()
    tape.request("ide1", "openChatSession", {"chatSessionId": CHAT}, {"ok": True})
    tape.request("ide1", "openChatSession", {"chatSessionId": FOREIGN_CHAT},
                 {"ok": False, "error": "forbidden"})
    _, doc = converted(tape)
    assert doc["world"]["users"] == 2
    emits = steps_of(doc, "emit")
    assert emits[1]["payload"] == {"chatSessionId": "${users[1].chat_sessions[0].id}"}


def test_a_second_chat_session_and_a_second_user() -> None:
    tape = Tape()
    tape.ide_connects()
    tape.ide_connects("ide2", token=OTHER_FP)
    tape.request("ide1", "openChatSession", {"chatSessionId": CHAT}, {"ok": True})
    tape.request("ide1", "openChatSession", {"chatSessionId": CHAT2}, {"ok": True})
    _, doc = converted(tape)
    assert doc["world"] == {"users": 2, "chat_sessions_per_project": 2, "drones_per_user": 1}
    assert doc["actors"]["ide2"]["ide"] == {"user": 1}
    assert steps_of(doc, "emit")[1]["payload"] == {
        "chatSessionId": "${users[0].chat_sessions[1].id}"}


def test_a_refused_connection_a_crash_and_a_comeback() -> None:
    tape = Tape()
    tape.add("ide2", "connect-error", "connect_error", "auth-denied: wrong token",
             auth={"type": "code", "token": OTHER_FP})
    tape.drone_connects()
    tape.add("drone1", "disconnect", "disconnect", reason="transport close")
    tape.drone_connects("drone2")  # the same registration, after the first one ended
    text, doc = converted(tape)
    assert doc["actors"]["ide2"]["ide"]["token"] == "not-the-recorded-token"
    assert doc["steps"][0] == {"connect": {"actor": "ide2", "refused": "auth-denied"}}
    assert doc["steps"][1:] == [{"connect": "drone1"}, {"crash": "drone1"},
                                {"reconnect": "drone1"}]
    assert "drone2" not in doc["actors"]
    assert "# drone1's transport closed with no goodbye here" in text
    assert "# recorded as drone2" in text


def test_a_drone_that_answers_differently_changes_behaviour_between_requests() -> None:
    tape = Tape()
    tape.drone_connects()
    tape.ide_connects()
    lock = {"registrationId": DRONE, "chatSessionId": CHAT}
    for answer in (False, True):
        sent = tape.add("ide1", "sent", "requestSessionLock", lock, ack_id=1)
        asked = tape.add("drone1", "received", "requestSessionLock", {"chatSessionId": CHAT},
                         wants_ack=True)
        tape.add("drone1", "acked", "requestSessionLock", ack=answer, received_seq=asked)
        tape.add("ide1", "ack", "requestSessionLock",
                 ack={"ok": answer} if answer else {"ok": False, "error": "drone-rejected"},
                 sent_seq=sent)
    _, doc = converted(tape)
    assert doc["actors"]["drone1"]["behaviour"]["on_lock"] == "refuse"
    changes = steps_of(doc, "set_behaviour")
    assert changes == [{"actor": "drone1", "behaviour": {"on_lock": "accept"}}]
    assert doc["steps"].index({"set_behaviour": changes[0]}) < [
        i for i, s in enumerate(doc["steps"]) if "emit" in s][1]


def test_a_stream_event_the_relay_refused_is_negative() -> None:
    tape = Tape()
    tape.drone_connects()
    tape.add("drone1", "sent", "thinking",
             {"workOrderId": WORK, "chatSessionId": CHAT, "seq": 0, "text": "x"})
    tape.add("drone1", "received", "protocolError", {"event": "thinking", "error": "not-locked"})
    _, doc = converted(tape)
    emit, = steps_of(doc, "emit")
    assert emit["negative"] is True


def test_gaps_are_compressed_or_kept_as_pauses() -> None:
    tape = Tape()
    tape.ide_connects()
    tape.add("ide1", "disconnect", "disconnect", reason="client", dt=1.5)
    _, doc = converted(tape)
    assert steps_of(doc, "pause") == []
    _, doc = converted(tape, gaps="keep", min_gap=1.0)
    assert steps_of(doc, "pause") == [1.5]


def test_a_slow_answer_waits_for_the_relays_own_timeout() -> None:
    tape = Tape()
    tape.ide_connects()
    tape.request("ide1", "requestSessionLock", {"registrationId": DRONE, "chatSessionId": CHAT},
                 {"ok": False, "error": "drone-timeout"}, dt=5.2)
    _, doc = converted(tape)
    assert steps_of(doc, "emit")[0]["timeout"] == "${relay.drone_ack_timeout} + 10"


def test_a_trace_with_no_client_is_refused_in_one_line() -> None:
    tape = Tape()
    with pytest.raises(TraceError, match=r"t.jsonl: no client's message in this trace"):
        converted(tape)
