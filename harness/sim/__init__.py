"""Simulated IDE and drone clients, and an HTTP actor, recording into one history.

Every actor speaks to a real relay (python-socketio ``AsyncClient`` over TCP, aiohttp for
HTTP) and records what it sends and receives into a shared ``MessageHistory``. The
socket actors reconnect as socket.io-client does (``Reconnection``, ``harness.sim.client``).
"""

from harness.sim._socket import Transport
from harness.sim.client import SimClient
from harness.sim.drone import SimDrone
from harness.sim.errors import AckTimeout, ConnectRefused
from harness.sim.history import ActorKind, Message, MessageHistory
from harness.sim.http import HttpActor, HttpResult
from harness.sim.ide import SimIDE
from harness.sim.reconnect import Backoff, Reconnection
from harness.sim.recorder import Recorder, SinkHistory
from harness.sim.script import DroneBehaviour, StreamScript, stream_events

__all__ = [
    "AckTimeout",
    "ActorKind",
    "Backoff",
    "ConnectRefused",
    "DroneBehaviour",
    "HttpActor",
    "HttpResult",
    "Message",
    "MessageHistory",
    "Reconnection",
    "Recorder",
    "SimClient",
    "SimDrone",
    "SimIDE",
    "SinkHistory",
    "StreamScript",
    "Transport",
    "stream_events",
]
