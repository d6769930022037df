"""Network faults between an actor and the relay: an asyncio TCP proxy with toxics.

``FaultProxy`` forwards each connection byte for byte to the relay; toxics (Toxiproxy's
vocabulary: latency, bandwidth, timeout, reset_peer, slow_close, slicer, limit_data) and
controls (cut, stall/resume, refuse, partition/heal) change what passes. It works on the
TCP byte stream: no UDP, no TLS termination, no packet-level loss. See docs/faults.md.
"""

from harness.faults.connection import ProxyConnection
from harness.faults.errors import ToxicError
from harness.faults.notes import FaultNote
from harness.faults.partition import Partition, partition
from harness.faults.proxy import CUT_SIDES, CutSide, FaultProxy
from harness.faults.toxics import (
    DIRECTIONS,
    TOXICS,
    Bandwidth,
    Direction,
    Latency,
    LimitData,
    ResetPeer,
    Slicer,
    SlowClose,
    Timeout,
    Toxic,
    bandwidth,
    latency,
    limit_data,
    parameters,
    reset_peer,
    slicer,
    slow_close,
    timeout,
)

__all__ = [
    "CUT_SIDES",
    "DIRECTIONS",
    "TOXICS",
    "Bandwidth",
    "CutSide",
    "Direction",
    "FaultNote",
    "FaultProxy",
    "Latency",
    "LimitData",
    "Partition",
    "ProxyConnection",
    "ResetPeer",
    "Slicer",
    "SlowClose",
    "Timeout",
    "Toxic",
    "ToxicError",
    "bandwidth",
    "latency",
    "limit_data",
    "parameters",
    "partition",
    "reset_peer",
    "slicer",
    "slow_close",
    "timeout",
]
