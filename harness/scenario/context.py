"""The state of one scenario run that every step reads and updates."""

from __future__ import annotations

import dataclasses
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from harness.env.base import Environment
from harness.outcome.results import fail
from harness.scenario.actors import Cast
from harness.scenario.matchers import MatchResult
from harness.scenario.model import Scenario
from harness.scenario.network import Network
from harness.scenario.templating import TemplateContext
from harness.sim import HttpActor, Message, MessageHistory, SimClient, SimDrone
from harness.text import short
from seed.world import World

DEFAULT_TIMEOUT = 5.0


@dataclass
class Run:
    """One run: the scenario, its environment, database, world, actors and history.

    ``network`` holds the fault proxies in front of the socket actors when the scenario has
    ``fault`` steps (None otherwise). ``cursors[actor]`` is the history seq after the last
    message an ``expect`` consumed for that actor; the next ``expect`` and
    ``expect_nothing`` look only after it. Each branch of a ``parallel`` step works on a
    ``fork`` with cursors of its own.
    """

    scenario: Scenario
    env: Environment
    db: AsyncDatabase[dict[str, Any]]
    world: World
    history: MessageHistory
    cast: Cast
    templates: TemplateContext
    cursors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    network: Network | None = None  # the actors' fault proxies (scenarios with fault steps)

    def fork(self) -> Run:
        """A branch of a ``parallel`` step: everything shared but the cursors, copied."""
        return dataclasses.replace(self, cursors=defaultdict(int, self.cursors))

    def join(self, branches: list[Run]) -> None:
        """After the branches: each actor's cursor is the furthest any branch moved it."""
        for branch in branches:
            for name, cursor in branch.cursors.items():
                self.cursors[name] = max(self.cursors[name], cursor)

    def elapsed(self, message: Message | None = None) -> float:
        """Seconds since the run started (at ``message``, when given)."""
        now = message.t if message is not None else time.monotonic()
        return now - self.history.started_at

    def seconds(self, value: Any, default: float) -> float:
        """A step's ``timeout`` or ``for`` in seconds (``${relay.*}`` sums resolved)."""
        return self.templates.seconds(value, default)

    def render(self, value: Any) -> Any:
        """``value`` with ``${...}`` references resolved."""
        return self.templates.render(value)

    def capture(self, result: MatchResult) -> None:
        """Keep the captures of a successful match."""
        self.templates.captures.update(result.captures)

    def socket(self, name: str) -> SimClient:
        """The IDE or drone actor ``name``."""
        actor = self.cast.actors[name]
        assert isinstance(actor, SimClient)
        return actor

    def drone(self, name: str) -> SimDrone:
        """The drone actor ``name``."""
        actor = self.cast.actors[name]
        assert isinstance(actor, SimDrone)
        return actor

    def http(self, name: str | None) -> HttpActor:
        """The HTTP actor ``name`` (or the implicit one)."""
        return self.cast.http(name, self.env.relay_url, self.history)

    def label(self, name: str) -> str:
        """``drone d0 (<registration id>)`` and the like."""
        return self.cast.label(name)

    def describe(self, message: Message) -> str:
        """``+1.234 s  received thinking {...}`` for failure texts."""
        body = message.ack if message.direction in ("ack", "acked") else message.payload
        text = "" if body is None else " " + short(body, 160)
        return f"+{self.elapsed(message):.3f} s  {message.direction} {message.event}{text}"

    def ensure_connected(self, name: str, what: str) -> SimClient:
        """The socket actor, or a failure saying it is not connected. An actor that is
        reconnecting by itself passes: what it emits meanwhile is buffered and goes out on
        its new connection, as socket.io-client's emits do."""
        actor = self.socket(name)
        if not actor.connected and not actor.reconnecting:
            raise fail(f"{self.label(name)} cannot {what}: it is not connected "
                       "(add a connect step before)", kind="error")
        return actor
