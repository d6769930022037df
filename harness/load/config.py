"""A load run's parameters (validated on construction) and the actors each worker drives."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from harness.errors import ConfigError
from harness.sim._socket import TRANSPORTS, Transport
from seed.world import World

__all__ = ["LoadConfig", "Pair", "default_workers", "pairs_of", "split_pairs"]


def default_workers() -> int:
    """One worker process per core."""
    return max(os.cpu_count() or 1, 1)


def _positive(flag: str, value: float, *, zero: bool = False) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not zero):
        bound = ">= 0" if zero else "> 0"
        raise ConfigError(f"{flag} must be a number {bound}, got {value!r}")


@dataclass(frozen=True)
class LoadConfig:
    """How hard and how long to drive the relay.

    ``drones`` streaming drones, each locked by one chat session whose IDE submits prompts
    back to back; ``drones_per_user`` of them per seeded user. Connections open spread over
    ``ramp_up`` seconds, then the steady phase lasts ``duration`` seconds, or until
    ``events`` events were delivered (whichever comes first when both are set). Each prompt
    streams ``events_per_prompt`` events of ``text_size`` bytes at ``rate`` events/s per
    drone (0: as fast as possible). Chaos: ``crash_rate`` is the fraction of work orders
    during which the drone crashes (it reconnects and is locked again), ``ide_churn`` the
    fraction of prompts before which the IDE leaves and comes back. A work order is overdue
    when its ``workOrderComplete`` has not come ``completion_timeout`` seconds after its
    stream's own duration (``events_per_prompt`` at ``rate``). At most
    ``max_connecting`` pairs set up (connect, open, lock) at once over all workers, so a
    relay slower than the ramp-up is not flooded into timeouts and retries (the ramp then
    takes as long as the relay needs).
    """

    drones: int = 10
    drones_per_user: int = 5
    workers: int = field(default_factory=default_workers)
    ramp_up: float = 2.0
    duration: float | None = 10.0
    events: int | None = None
    rate: float = 0.0
    events_per_prompt: int = 20
    text_size: int = 64
    crash_rate: float = 0.0
    ide_churn: float = 0.0
    transport: Transport = "websocket"
    interval: float = 1.0
    completion_timeout: float = 30.0
    ack_timeout: float = 10.0
    random_seed: int | None = None
    max_connecting: int = 64

    def __post_init__(self) -> None:
        for flag, value in (("--drones", self.drones), ("--drones-per-user",
                            self.drones_per_user), ("--workers", self.workers),
                            ("--events-per-prompt", self.events_per_prompt),
                            ("--max-connecting", self.max_connecting)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{flag} must be an integer >= 1, got {value!r}")
        if isinstance(self.text_size, bool) or not isinstance(self.text_size, int) \
                or self.text_size < 0:
            raise ConfigError(f"--text-size must be an integer >= 0, got {self.text_size!r}")
        _positive("--ramp-up", self.ramp_up, zero=True)
        _positive("--rate", self.rate, zero=True)
        _positive("--interval", self.interval)
        _positive("--completion-timeout", self.completion_timeout)
        _positive("--ack-timeout", self.ack_timeout)
        if self.duration is None and self.events is None:
            raise ConfigError("give --duration or --events (or both): the run needs an end")
        if self.duration is not None:
            _positive("--duration", self.duration)
        if self.events is not None and (isinstance(self.events, bool)
                                        or not isinstance(self.events, int) or self.events < 1):
            raise ConfigError(f"--events must be an integer >= 1, got {self.events!r}")
        for flag, fraction in (("--crash-rate", self.crash_rate),
                               ("--ide-churn", self.ide_churn)):
            _positive(flag, fraction, zero=True)
            if fraction > 1:
                raise ConfigError(f"{flag} is a fraction of prompts, 0 to 1, got {fraction!r}")
        if self.transport not in TRANSPORTS:
            raise ConfigError(f"--transport must be websocket or polling, "
                              f"got {self.transport!r}")

    @property
    def users(self) -> int:
        """Users to seed."""
        return math.ceil(self.drones / self.drones_per_user)

    @property
    def connecting_per_worker(self) -> int:
        """Pairs one worker sets up at once (its share of ``max_connecting``)."""
        return max(math.ceil(self.max_connecting / self.workers), 1)

    @property
    def pacing(self) -> float:
        """Seconds between two events of one stream (0: none)."""
        return 1.0 / self.rate if self.rate else 0.0


@dataclass(frozen=True)
class Pair:
    """One chat session's IDE and the drone it locks, with their credentials."""

    index: int
    user_id: str
    chat_session_id: str
    registration_id: str
    user_token: str = field(repr=False)
    drone_token: str = field(repr=False)


def pairs_of(world: World, drones: int, per_user: int) -> list[Pair]:
    """The first ``drones`` (chat session, drone) pairs of ``world``, ``per_user`` per user.

    Raises ``ConfigError`` when the world has too few chat sessions or drones.
    """
    pairs: list[Pair] = []
    for user in world.users:
        chats, owned = world.chat_sessions_of(user.id), world.drones_of(user.id)
        for chat, drone in list(zip(chats, owned, strict=False))[:per_user]:
            if len(pairs) == drones:
                return pairs
            pairs.append(Pair(len(pairs), user.id, chat.id, drone.id, user.token, drone.token))
    if len(pairs) < drones:
        raise ConfigError(f"the world holds only {len(pairs)} (chat session, drone) pairs, "
                          f"{drones} needed; seed a larger world")
    return pairs


def split_pairs(pairs: list[Pair], workers: int) -> list[list[Pair]]:
    """Deal pairs to at most ``workers`` slices, keeping each user's pairs together (so a
    stream's drone and IDE share a process). Empty slices are left out."""
    by_user: dict[str, list[Pair]] = {}
    for pair in pairs:
        by_user.setdefault(pair.user_id, []).append(pair)
    slices: list[list[Pair]] = [[] for _ in range(workers)]
    for group in sorted(by_user.values(), key=len, reverse=True):
        min(slices, key=len).extend(group)
    return [s for s in slices if s]
