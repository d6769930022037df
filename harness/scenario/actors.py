"""Actors of a scenario: simulated clients bound to the seeded world by name."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from harness.scenario.model import ActorSpec
from harness.scenario.templating import ActorRef
from harness.sim import DroneBehaviour, HttpActor, MessageHistory, SimDrone, SimIDE, StreamScript
from seed.world import SeededDrone, World

Actor = SimIDE | SimDrone | HttpActor
IMPLICIT_HTTP = "http"


def merge_behaviour(base: DroneBehaviour, changes: Mapping[str, Any]) -> DroneBehaviour:
    """``base`` with the fields in ``changes`` replaced (``script`` merged field by field)."""
    fields = dict(changes)
    if "script" in fields:
        fields["script"] = dataclasses.replace(base.script, **fields["script"])
    return dataclasses.replace(base, **fields)


def make_script(changes: Mapping[str, Any] | None) -> StreamScript | None:
    """A ``StreamScript`` from scenario fields (defaults elsewhere), or None."""
    return None if changes is None else StreamScript(**changes)


def drone_of(spec: ActorSpec, world: World) -> SeededDrone:
    """The seeded drone an actor is bound to."""
    assert spec.drone is not None
    if spec.user is None:
        return world.drones[spec.drone]
    return world.drones_of(world.users[spec.user].id)[spec.drone]


@dataclasses.dataclass
class Cast:
    """The live actors of one run, with what templates and messages need to know of them."""

    world: World
    actors: dict[str, Actor]
    tokens: dict[str, str | None]

    def ref(self, name: str) -> ActorRef:
        """What ``${actors.<name>.<field>}`` reads."""
        actor = self.actors[name]
        if isinstance(actor, HttpActor):
            return ActorRef(name, None, None, None, self.tokens.get(name))
        registration = actor.registration_id if isinstance(actor, SimDrone) else None
        return ActorRef(name, actor.sid, actor.user_id, registration, self.tokens.get(name))

    def label(self, name: str) -> str:
        """``drone d0 (<registration id>)``, ``ide ide (user <id>)``, ``http api``."""
        actor = self.actors.get(name)
        if isinstance(actor, SimDrone):
            return f"drone {name} ({actor.registration_id})"
        if isinstance(actor, SimIDE):
            return f"ide {name} (user {actor.user_id})"
        return f"http {name}"

    def labels(self) -> dict[str, str]:
        """Every actor's label."""
        return {name: self.label(name) for name in self.actors}

    def http(self, name: str | None, relay_url: str, history: MessageHistory) -> HttpActor:
        """The named HTTP actor, or the implicit tokenless one."""
        key = name or IMPLICIT_HTTP
        while name is None and key in self.actors and \
                not isinstance(self.actors[key], HttpActor):
            key += "_"  # a declared socket actor took the implicit name
        actor = self.actors.get(key)
        if actor is None:
            actor = HttpActor(key, relay_url, history)
            self.actors[key] = actor
            self.tokens[key] = None
        assert isinstance(actor, HttpActor)
        return actor

    async def close(self) -> None:
        """Close every actor (idempotent), whatever state it is in."""
        for actor in self.actors.values():
            await actor.close()


def build_cast(specs: tuple[ActorSpec, ...], world: World, relay_url: str,
               history: MessageHistory, render: Callable[[Any], Any],
               socket_urls: Mapping[str, str] | None = None) -> Cast:
    """Create (not connect) every actor; ``render`` resolves templated tokens and ids.
    ``socket_urls`` gives IDE and drone actors another relay URL (their fault proxy's);
    HTTP actors always use ``relay_url``."""
    actors: dict[str, Actor] = {}
    tokens: dict[str, str | None] = {}
    for spec in specs:
        url = (socket_urls or {}).get(spec.name, relay_url)
        if spec.type == "http":
            actors[spec.name] = HttpActor(spec.name, relay_url, history)
            tokens[spec.name] = world.users[spec.user].token if spec.user is not None else None
        elif spec.type == "ide":
            user = world.users[spec.user or 0]
            token = render(spec.token) if spec.token is not None else user.token
            actors[spec.name] = SimIDE(spec.name, url, token=str(token), history=history,
                                       transport=spec.transport, user_id=user.id,
                                       reconnection=spec.reconnection, reopen=spec.reopen)
            tokens[spec.name] = str(token)
        else:
            drone = drone_of(spec, world)
            registration = render(spec.registration) if spec.registration else drone.id
            token = render(spec.token) if spec.token is not None else drone.token
            behaviour = merge_behaviour(DroneBehaviour(), spec.behaviour)
            actors[spec.name] = SimDrone(spec.name, url, registration_id=str(registration),
                                         token=str(token), history=history,
                                         behaviour=behaviour, transport=spec.transport,
                                         user_id=drone.user_id,
                                         reconnection=spec.reconnection, recover=spec.recover)
            tokens[spec.name] = str(token)
    return Cast(world, actors, tokens)
