"""Decoding what passes through the recorder: one ``EngineSession`` per Engine.IO session.

The packet classes are python-engineio's and python-socketio's own (``engineio.packet``,
``engineio.payload``, ``socketio.packet``); this module is the glue that turns a stream of
them, each marked client -> relay or relay -> client, into the history's messages, the way
a simulated client records its own side (harness/sim/client.py):

    client CONNECT {auth}          names the actor (auth type code/drone/other)
    relay CONNECT {sid}            connect        meta transport, auth, eio_sid
    relay CONNECT_ERROR            connect-error  payload the message, meta data
    client EVENT [ev, *args] id?   sent           meta ack_id
    relay ACK id                   ack            meta ack_id, sent_seq
    relay EVENT [ev, *args] id?    received       meta wants_ack, ack_id
    client ACK id                  acked          meta ack_id, received_seq
    DISCONNECT / Engine.IO CLOSE   disconnect     meta reason client|server
    transport ended, no goodbye    disconnect     meta reason "transport close", detail
    client UPGRADE                 note upgrade   (polling -> websocket)

Binary packets (BINARY_EVENT / BINARY_ACK) are held until their attachments, the next
binary Engine.IO messages in the same direction, have arrived (``Packet.add_attachment``).
Pure: no I/O; everything goes to a ``Journal``.
"""

from __future__ import annotations

import logging
from typing import Any

from engineio import packet as eio
from engineio import payload as eio_payload
from socketio import packet as sio

from harness.record.journal import Journal
from harness.sim.history import ActorKind, Direction, Message

__all__ = ["EngineSession", "decode_payload"]

log = logging.getLogger(__name__)

_MAX_PACKETS = 1_000_000  # engineio's Payload refuses > 16 packets; we only read


def decode_payload(body: str) -> list[eio.Packet]:
    """The Engine.IO packets of a polling body (records separated by ``\\x1e``)."""
    payload = eio_payload.Payload()
    payload.max_decode_packets = _MAX_PACKETS
    payload.decode(body)
    return list(payload.packets)


def _args(data: Any) -> list[Any]:
    return list(data) if isinstance(data, list) else ([] if data is None else [data])


def _value(args: list[Any]) -> tuple[Any, dict[str, Any]]:
    """An emit's or ack's recorded value: its one argument, None, or the list (``args: n``)."""
    if not args:
        return None, {}
    if len(args) == 1:
        return args[0], {}
    return list(args), {"args": len(args)}


class EngineSession:
    """One Engine.IO session (one actor): transport, Socket.IO state, pending acks."""

    def __init__(self, journal: Journal, *, transport: str, eio_sid: str | None = None) -> None:
        self.journal = journal
        self.transport = transport
        self.eio_sid = eio_sid
        self.actor: str | None = None
        self.kind: ActorKind = "ide"
        self.socket_id: str | None = None
        self.auth: Any = None
        self.ended = False
        self.ping_timeout = 45.0  # interval + timeout, from the OPEN packet (seconds)
        self._deferred: list[tuple[Direction, str, Any, dict[str, Any]]] = []
        self._client_acks: dict[int, tuple[str, int]] = {}
        self._server_acks: dict[int, tuple[str, int]] = {}
        self._partial: dict[bool, sio.Packet] = {}

    # --- input ---------------------------------------------------------------------------

    def client_payload(self, body: str) -> None:
        """A polling POST body, client -> relay."""
        for packet in decode_payload(body):
            self.packet(packet, from_client=True)

    def server_payload(self, body: str) -> None:
        """A polling GET answer, relay -> client."""
        for packet in decode_payload(body):
            self.packet(packet, from_client=False)

    def message(self, data: str | bytes, *, from_client: bool) -> None:
        """One websocket message (text or binary)."""
        self.packet(eio.Packet(encoded_packet=data), from_client=from_client)

    def packet(self, packet: eio.Packet, *, from_client: bool) -> None:
        """One Engine.IO packet."""
        kind = packet.packet_type
        if kind == eio.OPEN and not from_client and isinstance(packet.data, dict):
            self.eio_sid = str(packet.data.get("sid") or self.eio_sid or "")
            interval = packet.data.get("pingInterval", 25000)
            timeout = packet.data.get("pingTimeout", 20000)
            if isinstance(interval, int | float) and isinstance(timeout, int | float):
                self.ping_timeout = (interval + timeout) / 1000
        elif kind == eio.CLOSE:
            self._disconnect("client" if from_client else "server")
        elif kind == eio.UPGRADE and from_client:
            self.transport = "websocket"
            self._note("upgrade", "polling -> websocket", {"transport": "websocket"})
        elif kind == eio.MESSAGE:
            if packet.binary:
                self._attachment(bytes(packet.data), from_client)
            else:
                data = packet.data
                self._socketio(data if isinstance(data, str) else str(data), from_client)

    def transport_closed(self, detail: str) -> None:
        """The transport ended with no goodbye (a crash, the network, a lost poll)."""
        self._disconnect("transport close", detail=detail)

    # --- Socket.IO -------------------------------------------------------------------------

    def _socketio(self, encoded: str, from_client: bool) -> None:
        try:
            packet = sio.Packet(encoded_packet=encoded)
        except (ValueError, TypeError) as exc:
            log.debug("undecodable Socket.IO packet (%s): %.80r", exc, encoded)
            return
        if packet.attachment_count:
            self._partial[from_client] = packet
            return
        self._handle(packet, from_client)

    def _attachment(self, data: bytes, from_client: bool) -> None:
        packet = self._partial.get(from_client)
        if packet is None:
            log.debug("binary message with no packet waiting for it (%d bytes)", len(data))
            return
        try:
            done = packet.add_attachment(data)
        except ValueError:
            done = False
        if done:
            del self._partial[from_client]
            self._handle(packet, from_client)

    def _handle(self, packet: sio.Packet, from_client: bool) -> None:
        kind, data = packet.packet_type, packet.data
        namespace = {"namespace": packet.namespace} if packet.namespace not in (None, "/") \
            else {}
        if kind == sio.CONNECT:
            if from_client:
                self.auth = data
                self.ended = False
                self._name()
            else:
                self.socket_id = data.get("sid") if isinstance(data, dict) else None
                self._record("connect", "connect", transport=self.transport, auth=self.auth,
                             eio_sid=self.eio_sid, **namespace)
        elif kind == sio.CONNECT_ERROR and not from_client:
            message = data.get("message") if isinstance(data, dict) else data
            extra = {"data": data["data"]} if isinstance(data, dict) and "data" in data else {}
            self._record("connect-error", "connect_error", message, **extra, **namespace)
        elif kind == sio.DISCONNECT:
            self._disconnect("client" if from_client else "server")
        elif kind in (sio.EVENT, sio.BINARY_EVENT):
            self._event(packet, from_client, namespace)
        elif kind in (sio.ACK, sio.BINARY_ACK):
            self._ack(packet, from_client)

    def _event(self, packet: sio.Packet, from_client: bool, extra: dict[str, Any]) -> None:
        args = _args(packet.data)
        if not args:
            return
        event = str(args[0])
        payload, meta = _value(args[1:])
        meta.update(extra)
        if packet.id is not None:
            meta["ack_id"] = packet.id
            if not from_client:
                meta["wants_ack"] = True
        direction: Direction = "sent" if from_client else "received"
        message = self._record(direction, event, payload, **meta)
        if packet.id is not None and message is not None:
            acks = self._client_acks if from_client else self._server_acks
            acks[packet.id] = (event, message.seq)

    def _ack(self, packet: sio.Packet, from_client: bool) -> None:
        if packet.id is None:
            return
        pending = self._server_acks if from_client else self._client_acks
        event, seq = pending.pop(packet.id, ("?", -1))
        value, meta = _value(_args(packet.data))
        if from_client:
            self._record("acked", event, ack=value, ack_id=packet.id, received_seq=seq, **meta)
        else:
            self._record("ack", event, ack=value, ack_id=packet.id, sent_seq=seq, **meta)

    # --- recording -------------------------------------------------------------------------

    def _name(self) -> None:
        if self.actor is None:
            self.actor, self.kind = self.journal.name_actor(self.auth)
            deferred, self._deferred = self._deferred, []
            for direction, event, payload, meta in deferred:
                self._record(direction, event, payload, **meta)  # "ack" is in meta

    def _note(self, event: str, text: str, meta: dict[str, Any]) -> None:
        self._record("note", event, text, **meta)

    def _disconnect(self, reason: str, **meta: Any) -> None:
        if self.ended:
            return
        self.ended = True
        if self.actor is None and not self._deferred:
            return  # never connected, nothing said: a probe of the endpoint
        self._name()
        self._record("disconnect", "disconnect", reason=reason, **meta)

    def _record(self, direction: Direction, event: str, payload: Any = None, *,
                ack: Any = None, **meta: Any) -> Message | None:
        if self.actor is None:
            self._deferred.append((direction, event, payload, {**meta, "ack": ack}))
            return None
        return self.journal.record(self.actor, self.kind, direction, event, payload, ack=ack,
                                   socket_id=self.socket_id, **meta)
