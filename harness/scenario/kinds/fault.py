"""``fault``: change what the network between socket actors and the relay does, through
the fault proxy the runner puts in front of each IDE and drone of a scenario that has
fault steps (``harness.scenario.network``). One action per step, in Toxiproxy's
vocabulary (docs/faults.md, "In scenarios"):

    ==================================================  ===================================
    step                                                effect on the actor's link
    ==================================================  ===================================
    {actor, toxic: <kind>, <params>, direction, name,   put a toxic in force (both
     toxicity}                                          directions unless ``direction``)
    {actor, remove: <name>} / {actor, clear: true}      withdraw one toxic / every toxic
    {actor, cut: true}                                  reset every live connection now
    {actor, cut: client}                                reset the actor's side only (the
                                                        relay's stays open: half-open)
    {actor, stall: <direction>} / {actor, resume: ...}  hold / release one direction
    {actor, refuse: true|false}                         reset new connections at once
    {partition: [actors], name} / {heal: <name>}        blackhole those links / let go
    {actor, connections: N, timeout}                    wait until N connections are live
    ==================================================  ===================================

Every action is recorded in the history as a ``FaultNote`` (event ``fault``), which the
reports draw where it happened.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from harness.errors import ScenarioTimeout
from harness.faults import (
    DIRECTIONS,
    TOXICS,
    CutSide,
    Direction,
    FaultNote,
    Partition,
    Toxic,
    ToxicError,
    parameters,
)
from harness.faults.notes import EVENT
from harness.outcome.results import fail
from harness.scenario.context import DEFAULT_TIMEOUT, Run
from harness.scenario.kinds.base import (
    ACTORS,
    DURATION,
    NAME_PATTERN,
    SOCKET,
    Canonical,
    ErrorSink,
    StepKind,
    names,
)
from harness.scenario.model import Step
from harness.scenario.network import Network

BOTH: Final = "both"
WAYS: Final = (BOTH, *DIRECTIONS)
ACTIONS: Final = ("toxic", "remove", "clear", "cut", "stall", "resume", "refuse", "partition",
                  "heal", "connections")
_OWN_PARAMS: Final = tuple(dict.fromkeys(p for kind in TOXICS.values() for p in parameters(kind)))
_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "toxic": ("actor", "toxic", "direction", "name", "toxicity"),
    "remove": ("actor", "remove"), "clear": ("actor", "clear"), "cut": ("actor", "cut"),
    "stall": ("actor", "stall"), "resume": ("actor", "resume"), "refuse": ("actor", "refuse"),
    "partition": ("partition", "name"), "heal": ("heal",),
    "connections": ("actor", "connections", "timeout"),
}
_PARTITION: Final = "partition"  # a partition's name when the step gives none


@dataclass(frozen=True)
class FaultArgs:
    """The actors and the one action (the field that is set); ``params`` are the toxic's
    own parameters (``ms``, ``kb_per_s``...)."""

    actor: tuple[str, ...] = field(default=(), metadata=names())
    toxic: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    direction: str = BOTH
    name: str | None = None
    toxicity: float = 1.0
    remove: str | None = None
    clear: bool = False
    cut: bool | str = False  # true, or "client": half-open
    stall: str | None = None
    resume: str | None = None
    refuse: bool | None = None
    partition: tuple[str, ...] = field(default=(), metadata=names())
    heal: str | None = None
    connections: int | None = None
    timeout: Any = None

    @property
    def action(self) -> str:
        """The action this step takes (the loader guarantees exactly one)."""
        set_ = {"toxic": self.toxic is not None, "remove": self.remove is not None,
                "clear": self.clear, "cut": bool(self.cut), "stall": self.stall is not None,
                "resume": self.resume is not None, "refuse": self.refuse is not None,
                "partition": bool(self.partition), "heal": self.heal is not None,
                "connections": self.connections is not None}
        return next(name for name in ACTIONS if set_[name])


def _ways(direction: str) -> tuple[Direction, ...]:
    return DIRECTIONS if direction == BOTH else \
        tuple(d for d in DIRECTIONS if d == direction)


def toxics_of(args: FaultArgs) -> tuple[Toxic, ...]:
    """The toxics a ``toxic`` step puts on each of its actors' links (one per direction):
    named ``<name>_<direction>`` (``name`` defaults to the kind), or just ``name`` when the
    step names it and gives one direction. Raises ``ToxicError`` on a bad parameter."""
    assert args.toxic is not None
    kind = TOXICS[args.toxic]
    ways = _ways(args.direction)
    base = args.name or args.toxic
    return tuple(kind(name=args.name if args.name and len(ways) == 1 else f"{base}_{way}",
                      direction=way, toxicity=args.toxicity, **args.params)
                 for way in ways)


async def fault(run: Run, step: Step) -> None:
    """Take the step's fault action on its actors' links and record it in the history."""
    args: FaultArgs = step.args
    network = run.network
    assert network is not None  # the runner opens one for every scenario with fault steps
    action = args.action
    actors = args.partition or args.actor
    params: dict[str, Any] = {}
    effect: dict[str, Any] = {}
    try:
        if action == "toxic":
            actors, params = args.actor, _add_toxics(network, args)
        elif action == "remove":
            assert args.remove is not None
            params["name"] = args.remove
            effect["released"] = sum(network.in_flight(a) for a in actors)
            params["removed"] = [_remove(network, a, args.remove) for a in actors]
        elif action == "clear":
            effect["released"] = sum(network.in_flight(a) for a in actors)
            params["names"] = sorted({t.name for a in actors for t in network.proxy(a).toxics})
            for name in actors:
                network.proxy(name).clear()
        elif action == "cut":
            side: CutSide = "client" if args.cut == "client" else "both"
            if side == "client":
                params["side"] = side
            effect["connections"] = sum(len(network.proxy(a).connections) for a in actors)
            effect["lost"] = sum(network.in_flight(a) for a in actors)
            for name in actors:
                await network.proxy(name).cut(side)
        elif action in ("stall", "resume"):
            direction = args.stall if action == "stall" else args.resume
            assert direction is not None
            params["direction"] = direction
            if action == "resume":
                effect["released"] = sum(network.in_flight(a, _ways(direction)) for a in actors)
            for name in actors:
                for way in _ways(direction):
                    if action == "stall":
                        network.proxy(name).stall(way)
                    else:
                        network.proxy(name).resume(way)
        elif action == "refuse":
            params["refuse"] = bool(args.refuse)
            for name in actors:
                network.proxy(name).refuse(bool(args.refuse))
        elif action == "partition":
            params["name"] = _split(network, args.name or _PARTITION, actors)
        elif action == "heal":
            assert args.heal is not None
            actors, released = _heal(network, args.heal)
            params["name"], effect["released"] = args.heal, released
        else:
            assert args.connections is not None
            params["count"] = args.connections
            timeout = run.seconds(args.timeout, DEFAULT_TIMEOUT)
            for name in actors:
                try:
                    await network.proxy(name).wait_connections(args.connections, timeout)
                except ScenarioTimeout as exc:
                    live = len(network.proxy(name).connections)
                    raise fail(f"the link of {run.label(name)} carried {live} live "
                               f"connection(s), not {args.connections}, after {timeout:g} s",
                               kind="timeout", expected=args.connections,
                               actual=live) from exc
    except ToxicError as exc:
        raise fail(f"fault {action} on {', '.join(actors)}: {exc}", kind="error") from exc
    note = FaultNote(tuple(actors), action, params, effect)
    run.history.record("harness", "harness", "note", EVENT, note.to_json(), line=step.source.line)


def _add_toxics(network: Network, args: FaultArgs) -> dict[str, Any]:
    toxics = toxics_of(args)
    for name in args.actor:  # check every link first: all or nothing
        taken = [t.name for t in toxics if t.name in {x.name for x in network.proxy(name).toxics}]
        if taken:
            raise ToxicError(f"the link of {name} already has a toxic named {taken[0]}; "
                             "remove it first or give this one another name")
    for name in args.actor:
        for toxic in toxics:
            network.proxy(name).add(toxic)
    return {"toxic": args.toxic, "direction": args.direction, "name": args.name or args.toxic,
            "toxicity": args.toxicity, **args.params, "names": [t.name for t in toxics]}


def _remove(network: Network, actor: str, name: str) -> list[str]:
    """Remove the toxic ``name``, or both of ``name``'s directions, from ``actor``'s link."""
    proxy = network.proxy(actor)
    present = {t.name for t in proxy.toxics}
    found = [name] if name in present else [f"{name}_{d}" for d in DIRECTIONS
                                            if f"{name}_{d}" in present]
    if not found:
        raise ToxicError(f"the link of {actor} has no toxic named {name} (nor "
                         f"{name}_upstream, {name}_downstream); in force: "
                         f"{', '.join(sorted(present)) or 'none'}")
    for toxic in found:
        proxy.remove(toxic)
    return found


def _split(network: Network, name: str, actors: tuple[str, ...]) -> str:
    if name in network.partitions:
        held = ", ".join(p for p in network.partitions)
        raise ToxicError(f"a partition named {name} is in force already (in force: {held}); "
                         "heal it first or name this one")
    network.partitions[name] = Partition([network.proxy(a) for a in actors])
    return name


def _heal(network: Network, name: str) -> tuple[tuple[str, ...], int]:
    """Heal partition ``name``: its actors and the bytes it held."""
    split = network.partitions.pop(name, None)
    if split is None:
        raise ToxicError(f"no partition named {name} is in force; in force: "
                         f"{', '.join(network.partitions) or 'none'}")
    actors = tuple(a for held in split.proxies for a, proxy in network.proxies.items()
                   if proxy is held)
    released = sum(network.in_flight(a) for a in actors)
    split.heal()
    return actors, released


def _canonical(raw: Any) -> Canonical:
    """The toxic's own parameters (``ms``, ``kb_per_s``...) gathered under ``params``."""
    if not isinstance(raw, dict):
        return Canonical(raw)
    own = {k: v for k, v in raw.items() if k in _OWN_PARAMS}
    rest = {k: v for k, v in raw.items() if k not in _OWN_PARAMS}
    return Canonical({**rest, "params": own}, (("params",), ()))


def _check(args: Mapping[str, Any], error: ErrorSink) -> None:
    action = next(a for a in ACTIONS if a in args)
    allowed = _FIELDS[action]
    own: dict[str, bool] = {}
    if action == "toxic":
        own = parameters(TOXICS[args["toxic"]])
    for key in args:
        if key not in allowed and key != "params":
            error((key,), f"not a field of a {action} fault; its fields: {', '.join(allowed)}")
    if "actor" in allowed and "actor" not in args:
        error((), f"a {action} fault needs `actor` (the actors whose link it acts on)")
    params: Mapping[str, Any] = args.get("params") or {}
    if action != "toxic":
        for key in params:
            error(("params", key), f"not a field of a {action} fault; its fields: "
                  f"{', '.join(allowed)}")
        if action in ("cut", "clear") and args.get(action) is False:
            error((action,), f"`{action}: false` does nothing; write `{action}: true`")
        return
    for key in params:
        if key not in own:
            error(("params", key), f"not a parameter of the {args['toxic']} toxic; its "
                  f"parameters: {', '.join(own)}")
    missing = [p for p, required in own.items() if required and p not in params]
    if missing:
        error((), f"the {args['toxic']} toxic needs {', '.join(missing)}")
        return
    if any(key not in own for key in params):
        return
    try:
        toxics_of(FaultArgs(toxic=args["toxic"], params=params,
                            direction=args.get("direction", BOTH), name=args.get("name"),
                            toxicity=args.get("toxicity", 1.0)))
    except ToxicError as exc:
        at: tuple[str, ...] = ()
        if exc.param is not None and exc.param in params:
            at = ("params", exc.param)
        elif exc.param is not None and exc.param in args:
            at = (exc.param,)
        error(at, str(exc))


def _schema() -> dict[str, Any]:
    way = {"enum": list(WAYS)}
    properties: dict[str, Any] = {
        "actor": ACTORS,
        "toxic": {"enum": list(TOXICS), "description": "A toxic of docs/faults.md."},
        **{p: {"type": "number"} for p in _OWN_PARAMS},
        "direction": {**way, "description": "upstream (actor to relay), downstream (relay to "
                      "actor) or both (the default)."},
        "name": {"type": "string", "pattern": NAME_PATTERN},
        "toxicity": {"type": "number"},
        "remove": {"type": "string", "minLength": 1},
        "clear": {"type": "boolean"},
        "cut": {"enum": [True, "client"], "description": "true: reset the connections, "
                "both sides; client: the actor's side only, the relay's left open (half-open)"},
        "stall": way, "resume": way,
        "refuse": {"type": "boolean"},
        "partition": ACTORS,
        "heal": {"type": "string", "pattern": NAME_PATTERN},
        "connections": {"type": "integer", "minimum": 0},
        "timeout": DURATION,
    }
    return {"type": "object", "properties": properties, "additionalProperties": False,
            "oneOf": [{"required": [action]} for action in ACTIONS],
            "description": "A network fault on socket actors' links to the relay (one action)."}


_REFERENCE = (
    "one action on the links of socket actors (a fault proxy per IDE and drone, see "
    "docs/faults.md): `{actor, toxic: latency|bandwidth|timeout|reset_peer|slow_close|"
    "slicer|limit_data, <its parameters>, direction, name, toxicity}` (`direction`: "
    "`upstream`, `downstream` or `both`, the default), `{actor, remove: <name>}`, "
    "`{actor, clear: true}`, `{actor, cut: true}` (reset live connections), `{actor, cut: "
    "client}` (reset the actor's side only: the relay's stays open, half-open, until its "
    "heartbeat), "
    "`{actor, stall: <direction>}` / `{actor, resume: <direction>}`, "
    "`{actor, refuse: true|false}`, `{partition: [actors], name}` / `{heal: <name>}`, "
    "`{actor, connections: N, timeout}` (wait until N connections are live)")

KINDS = (
    StepKind(
        name="fault", order=20, summary="A network fault on socket actors' links.",
        schema=_schema(), reference=_REFERENCE, args=FaultArgs, handler=fault,
        shorthand=_canonical, actors={"actor": SOCKET, "partition": SOCKET}, check=_check),
)
