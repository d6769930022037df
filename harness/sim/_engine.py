"""The Engine.IO client under every simulated client: python-engineio's, with four overrides.

Each override says why; ``harness.sim._socket`` builds on this class and nothing else here.

- Messages read before a disconnect are handled before it (``_trigger_event``).
- The heartbeat deadline socket.io-client applies is exposed (``ping_deadline``) for the
  link's watchdog.
- The write loop waits for packets for as long as the connection lives: python-engineio's
  gives up when nothing was sent for max(pingInterval, pingTimeout) + 5 s (30 s with
  socket.io's defaults), which socket.io-client never does; a relay whose PINGs come more
  than 5 s late (an overloaded one) lost every idle IDE that way. A dead server is the
  watchdog's to detect, on socket.io-client's rule.
- The websocket read loop passes its timeout to ``receive`` instead of wrapping each read
  in ``asyncio.wait_for``, which on Python 3.11 costs a task per message received; the
  write loop takes each first packet with a plain ``get`` for the same reason.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Final

import aiohttp
import engineio
import engineio.base_client
import engineio.packet
import engineio.payload

__all__ = ["EngineClient", "engine_clock", "raise_decode_limit"]

# python-engineio's client aborts the whole long-polling connection when one poll response
# carries more than ``Payload.max_decode_packets`` (16) packets, which any burst of stream
# events to a polling IDE produces; the guard is a server-side DoS limit with no use in a
# test client, so the simulated clients raise it (a process-wide class attribute).
_MAX_DECODE_PACKETS: Final = 1_000_000
# Message tasks kept before the finished ones are swept out (instead of a done-callback
# per message; the library holds its own reference to each task meanwhile).
_SWEEP_AT: Final = 64


def raise_decode_limit() -> None:
    """Lift python-engineio's per-poll packet limit (see ``_MAX_DECODE_PACKETS``)."""
    current = engineio.payload.Payload.max_decode_packets
    engineio.payload.Payload.max_decode_packets = max(current, _MAX_DECODE_PACKETS)


def engine_clock() -> float:
    """The running loop's clock, which ``ping_deadline`` is measured on."""
    return asyncio.get_running_loop().time()


class EngineClient(engineio.AsyncClient):  # type: ignore[misc]
    """Engine.IO client that delivers every message received before a disconnect first.

    The library hands each received message to a task of its own but runs the
    ``disconnect`` handlers at once, so events read in the same poll response (or the same
    websocket read) as the relay's CLOSE, or just before a goodbye, were handled after the
    disconnect: recorded after it with no socket id, a false "after-disconnect". Here the
    disconnect waits for the message tasks already started.
    """

    _FLUSH_TIMEOUT: Final = 2.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._message_tasks: list[asyncio.Task[Any]] = []
        self.last_ping: float | None = None  # loop time of the handshake or the last PING

    async def _receive_packet(self, pkt: engineio.packet.Packet) -> None:
        if pkt.packet_type == engineio.packet.PING:
            self.last_ping = engine_clock()
        await super()._receive_packet(pkt)

    @property
    def ping_deadline(self) -> float | None:
        """When socket.io-client would give up on the server's heartbeat (loop time)."""
        if self.last_ping is None:
            return None
        return self.last_ping + float(self.ping_interval) + float(self.ping_timeout)

    async def _trigger_event(self, event: str, *args: Any, **kwargs: Any) -> Any:
        if event == "connect":
            self.last_ping = engine_clock()
        if event == "disconnect":
            await self._drain_messages()
        result = await super()._trigger_event(event, *args, **kwargs)
        if event == "message" and isinstance(result, asyncio.Task):
            tasks = self._message_tasks
            if len(tasks) >= _SWEEP_AT:
                tasks[:] = [t for t in tasks if not t.done()]
            tasks.append(result)
        return result

    async def _drain_messages(self) -> None:
        current = asyncio.current_task()
        pending = [t for t in self._message_tasks if t is not current and not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=self._FLUSH_TIMEOUT)

    async def _read_loop_websocket(self) -> None:
        """python-engineio 4.x's loop, with the read timeout given to ``receive``."""
        while self.state == "connected" and self.write_loop_task:
            try:
                message = await self.ws.receive(timeout=self.ping_interval + self.ping_timeout)
                if not isinstance(message.data, str | bytes):
                    self.logger.warning("Server sent %s packet data %s, aborting",
                                        message.type, message.data)
                    await self.queue.put(None)
                    break  # the connection is broken
                data = message.data
            except TimeoutError:
                self.logger.warning("Server has stopped communicating, aborting")
                await self.queue.put(None)
                break
            except Exception as exc:  # the library's: any failure ends the connection
                self.logger.info('Unexpected error receiving packet: "%s", aborting', exc)
                await self.queue.put(None)
                break
            try:
                pkt = engineio.packet.Packet(encoded_packet=data)
            except Exception as exc:
                self.logger.info('Unexpected error decoding packet: "%s", aborting', exc)
                await self.queue.put(None)
                break
            await self._receive_packet(pkt)
        await self._end_read_loop()

    async def _end_read_loop(self) -> None:
        # The tail of python-engineio's _read_loop_websocket, as it is there.
        if self.write_loop_task:
            await self.write_loop_task
        if self.state == "connected":
            await self._trigger_event("disconnect", self.reason.TRANSPORT_ERROR, run_async=False)
            with contextlib.suppress(ValueError):
                engineio.base_client.connected_clients.remove(self)
            await self._reset()

    async def _next_packets(self) -> tuple[list[engineio.packet.Packet], bool]:
        """The packets queued now (waiting for the first one), and whether the queue said
        stop (a None) after them."""
        first = await self.queue.get()
        if first is None:
            self.queue.task_done()
            return [], True
        packets = [first]
        while True:
            try:
                more = self.queue.get_nowait()
            except asyncio.QueueEmpty:
                return packets, False
            if more is None:
                self.queue.task_done()
                return packets, True
            packets.append(more)

    async def _write_loop(self) -> None:
        """python-engineio 4.x's loop, waiting for packets as long as the connection lives."""
        stop = False
        while self.state == "connected" and not stop:
            try:
                packets, stop = await self._next_packets()
            except asyncio.CancelledError:
                break
            if not packets:
                break  # the connection is closed
            if self.current_transport == "polling":
                if not await self._post(packets):
                    break
            elif not await self._send_frames(packets):
                break
        self.logger.info("Exiting write loop task")
        self.write_loop_task = None

    async def _post(self, packets: list[engineio.packet.Packet]) -> bool:
        body = engineio.payload.Payload(packets=packets).encode()
        answer = await self._send_request("POST", self.base_url, body=body,
                                          headers={"Content-Type": "text/plain"},
                                          timeout=self.request_timeout)
        for _ in packets:
            self.queue.task_done()
        if answer is None or isinstance(answer, str):
            self.logger.warning(answer or "Connection refused by the server, aborting")
            return False
        if answer.status < 200 or answer.status >= 300:
            self.logger.warning("Unexpected status code %s in server response, aborting",
                                answer.status)
            return False
        return True

    async def _send_frames(self, packets: list[engineio.packet.Packet]) -> bool:
        try:
            for pkt in packets:
                if pkt.binary:
                    await self.ws.send_bytes(pkt.encode())
                else:
                    await self.ws.send_str(pkt.encode())
                self.queue.task_done()
        except (aiohttp.client_exceptions.ServerDisconnectedError, BrokenPipeError, OSError):
            self.logger.info("Write loop: WebSocket connection was closed, aborting")
            return False
        return True
