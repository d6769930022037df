"""The network of one run: a ``FaultProxy`` in front of each IDE and drone actor, for the
scenarios that have ``fault`` steps (the others run with no proxy at all).

Each proxy listens on loopback in the harness process and forwards to the relay's host
and port from ``relay_url``, so it works wherever the relay runs (``--env local``,
``compose``, ``external``) and for both transports. An actor's relay URL becomes its
proxy's, with the scheme and path of the original; HTTP actors and the harness's own
requests (introspection, admin) go to the relay directly. A proxy's random choices (jitter,
toxicity, slice sizes) are seeded from the scenario's file name, its name and the actor's,
so a run can be repeated.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from harness.errors import EnvError
from harness.faults import DIRECTIONS, Direction, FaultProxy, Partition
from harness.scenario.model import Scenario

FAULT_KIND = "fault"
_LOOPBACK = "127.0.0.1"


def uses_faults(scenario: Scenario) -> bool:
    """True when a step of ``scenario`` (groups and step groups included) is a fault step."""
    return any(step.kind == FAULT_KIND for step in scenario.all_steps())


def proxy_seed(scenario: Scenario, actor: str) -> int:
    """The seed of ``actor``'s proxy: stable across runs, machines and working folders."""
    return zlib.crc32(f"{scenario.source.file.name}::{scenario.name}::{actor}".encode())


class Network:
    """The proxies of one run by actor name, and the partitions in force by name."""

    def __init__(self, relay_url: str) -> None:
        parts = urlsplit(relay_url)
        if parts.hostname is None:
            raise EnvError(f"cannot put a fault proxy in front of {relay_url!r}: no host")
        self._relay = parts
        self.upstream = (parts.hostname,
                         parts.port or (443 if parts.scheme == "https" else 80))
        self.proxies: dict[str, FaultProxy] = {}
        self.partitions: dict[str, Partition] = {}

    @classmethod
    async def open(cls, scenario: Scenario, relay_url: str) -> Network:
        """Start a proxy for every IDE and drone actor of ``scenario``; raises ``EnvError``
        when one cannot listen (those already started are closed)."""
        network = cls(relay_url)
        try:
            for spec in scenario.actors:
                if spec.type == "http":
                    continue
                proxy = FaultProxy(*network.upstream, _LOOPBACK,
                                   seed=proxy_seed(scenario, spec.name))
                await proxy.start()
                network.proxies[spec.name] = proxy
        except OSError as exc:
            await network.close()
            raise EnvError(f"cannot start a fault proxy on {_LOOPBACK}: {exc}") from exc
        except BaseException:
            await network.close()
            raise
        return network

    def urls(self) -> Mapping[str, str]:
        """Each proxied actor's relay URL: its proxy's, with the relay URL's scheme and
        path."""
        relay = self._relay
        return {name: urlunsplit((relay.scheme, f"{_LOOPBACK}:{proxy.port}", relay.path,
                                  relay.query, ""))
                for name, proxy in self.proxies.items()}

    def proxy(self, actor: str) -> FaultProxy:
        """The proxy in front of ``actor``."""
        return self.proxies[actor]

    def in_flight(self, actor: str, directions: tuple[Direction, ...] = DIRECTIONS) -> int:
        """Bytes inside ``actor``'s proxy now, in ``directions``, over its live connections."""
        return sum(connection.bytes_in_flight(d)
                   for connection in self.proxies[actor].connections for d in directions)

    async def close(self) -> None:
        """Heal every partition, stop every proxy and close its connections; idempotent."""
        for split in self.partitions.values():
            split.heal()
        for proxy in self.proxies.values():
            with contextlib.suppress(OSError):
                await proxy.stop()
