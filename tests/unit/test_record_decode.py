"""Decoding Engine.IO / Socket.IO traffic into history messages (pure: packets made by
python-engineio's and python-socketio's own encoders, fed to ``EngineSession``)."""

from __future__ import annotations

from typing import Any

from engineio import packet as eio
from engineio import payload as eio_payload
from socketio import packet as sio

from harness.record import EngineSession, Journal, Redactor, decode_payload
from harness.sim.history import Message


def _journal() -> Journal:
    return Journal(None, redactor=Redactor(b"k" * 32))


def _messages(journal: Journal) -> list[Message]:
    assert journal.messages is not None
    return journal.messages


def _send(session: EngineSession, packet: sio.Packet, *, from_client: bool) -> None:
    """One Socket.IO packet over the websocket: header, then binary attachments."""
    encoded: Any = packet.encode()
    for part in encoded if isinstance(encoded, list) else [encoded]:
        session.message(eio.Packet(eio.MESSAGE, part).encode(), from_client=from_client)


def _open(session: EngineSession, auth: Any, sid: str = "sock1") -> None:
    session.message(eio.Packet(eio.OPEN, {"sid": "eio1", "pingInterval": 1000,
                                          "pingTimeout": 500}).encode(), from_client=False)
    _send(session, sio.Packet(sio.CONNECT, auth), from_client=True)
    _send(session, sio.Packet(sio.CONNECT, {"sid": sid}), from_client=False)


def test_connect_events_and_acks_both_ways() -> None:
    journal = _journal()
    session = EngineSession(journal, transport="websocket")
    _open(session, {"type": "drone", "registrationId": "a" * 24, "token": "tok"})
    _send(session, sio.Packet(sio.EVENT, ["requestSessionLock", {"chatSessionId": "c"}], id=4),
          from_client=False)
    _send(session, sio.Packet(sio.ACK, [True], id=4), from_client=True)
    _send(session, sio.Packet(sio.EVENT, ["thinking", {"seq": 0}]), from_client=True)
    _send(session, sio.Packet(sio.EVENT, ["requestCrashRecovery", {}], id=7), from_client=True)
    _send(session, sio.Packet(sio.ACK, [{"ok": True}], id=7), from_client=False)
    connect, received, acked, sent, asked, ack = _messages(journal)
    assert (connect.actor, connect.kind, connect.direction, connect.socket_id) == \
        ("drone1", "drone", "connect", "sock1")
    assert connect.meta == {"transport": "websocket", "eio_sid": "eio1",
                            "auth": {"type": "drone", "registrationId": "a" * 24,
                                     "token": journal.redactor.fingerprint("tok")}}
    assert journal.actors["drone1"].registration_id == "a" * 24
    assert (received.direction, received.event, received.meta) == \
        ("received", "requestSessionLock", {"ack_id": 4, "wants_ack": True})
    assert (acked.direction, acked.event, acked.ack, acked.meta) == \
        ("acked", "requestSessionLock", True, {"ack_id": 4, "received_seq": received.seq})
    assert (sent.direction, sent.payload, sent.meta) == ("sent", {"seq": 0}, {})
    assert asked.meta == {"ack_id": 7}
    assert (ack.direction, ack.event, ack.ack, ack.meta) == \
        ("ack", "requestCrashRecovery", {"ok": True}, {"ack_id": 7, "sent_seq": asked.seq})
    assert session.ping_timeout == 1.5


def test_binary_attachments_and_several_arguments() -> None:
    journal = _journal()
    session = EngineSession(journal, transport="websocket")
    _open(session, {"type": "code", "token": "t"})
    _send(session, sio.Packet(sio.EVENT, ["upload", b"\x01\x02", {"name": "f"}], id=1),
          from_client=True)
    _send(session, sio.Packet(sio.ACK, [b"\xff"], id=1), from_client=False)
    _, sent, ack = _messages(journal)
    assert sent.payload == [{"_binary": 2, "base64": "AQI="}, {"name": "f"}]
    assert sent.meta == {"ack_id": 1, "args": 2}
    assert ack.ack == {"_binary": 1, "base64": "/w=="} and ack.meta["sent_seq"] == sent.seq
    assert ack.actor == "ide1"


def test_polling_payloads_upgrade_and_connect_error() -> None:
    journal = _journal()
    session = EngineSession(journal, transport="polling")
    server = eio_payload.Payload([eio.Packet(eio.OPEN, {"sid": "e2", "pingInterval": 25000,
                                                        "pingTimeout": 20000})]).encode()
    session.server_payload(server)
    session.message("2probe", from_client=True)
    session.message("3probe", from_client=False)
    session.message("5", from_client=True)  # upgrade, before the Socket.IO connect
    body = eio_payload.Payload([eio.Packet(eio.MESSAGE, sio.Packet(
        sio.CONNECT, {"type": "other", "token": "bad"}).encode())]).encode()
    session.client_payload(body)
    refusal = sio.Packet(sio.CONNECT_ERROR, {"message": "auth-denied", "data": {"x": 1}})
    session.server_payload(eio_payload.Payload([eio.Packet(eio.MESSAGE,
                                                           refusal.encode())]).encode())
    session.message("1", from_client=False)
    upgrade, refused, gone = _messages(journal)
    assert (upgrade.actor, upgrade.direction, upgrade.event) == ("client1", "note", "upgrade")
    assert session.transport == "websocket" and session.eio_sid == "e2"
    assert (refused.direction, refused.event, refused.payload, refused.meta) == \
        ("connect-error", "connect_error", "auth-denied", {"data": {"x": 1}})
    assert (gone.direction, gone.meta) == ("disconnect", {"reason": "server"})
    session.transport_closed("late")  # one disconnect per session
    assert len(_messages(journal)) == 3


def test_many_packets_in_one_poll_and_disconnect_reasons() -> None:
    packets = [eio.Packet(eio.MESSAGE, sio.Packet(sio.EVENT, ["thinking", {"seq": n}]).encode())
               for n in range(40)]
    assert len(decode_payload(eio_payload.Payload(packets).encode())) == 40
    journal = _journal()
    first = EngineSession(journal, transport="websocket")
    _open(first, {"type": "code", "token": "t"})
    _send(first, sio.Packet(sio.DISCONNECT), from_client=True)
    second = EngineSession(journal, transport="websocket")
    _open(second, {"type": "code", "token": "t"}, sid="sock2")
    second.transport_closed("websocket closed by the client (code 1006)")
    probe = EngineSession(journal, transport="polling")
    probe.transport_closed("never connected")  # nothing said: nothing recorded
    reasons = [(m.actor, m.meta) for m in _messages(journal) if m.direction == "disconnect"]
    assert reasons == [("ide1", {"reason": "client"}),
                       ("ide2", {"reason": "transport close",
                                 "detail": "websocket closed by the client (code 1006)"})]
