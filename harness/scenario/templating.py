"""``${...}`` references in scenario values: the seeded world, actors, variables, captures.

    ${users[0].id}  ${users[1].token}  ${drones[2].id}  ${chat_sessions[0].id}
    ${users[1].drones[0].id}  ${users[0].chat_sessions[1].id}  ${run_id}
    ${capture.workOrderId}  ${actors.d0.sid}  ${actors.ide.user_id}
    ${relay.drone_ack_timeout}  ${relay.termination_ack_timeout}  ${vars.prompt}

An actor's name is a root too, and reads what that actor is bound to:

    drone   ${d0.id}  ${d0.token}  ${d0.hostname}  ${d0.user.email}  ${d0.user.drones[1].id}
            ${d0.sid}  ${d0.user_id}  ${d0.registration_id}
    ide     ${ide.user.id}  ${ide.user.chat_sessions[1].id}  ${ide.chat_session.id}
            ${ide.token}  ${ide.sid}  ${ide.user_id}
    http    ${api.user.id}  ${api.token}

``user`` is the seeded user the actor connects as (a drone's owner) and takes everything
``users[i]`` does, per-user lists included; ``chat_session`` is the chat session an IDE
works on (``chat_session:`` in its declaration, an index among its user's, default 0).
``id``, ``hostname``, ``user`` and ``chat_session`` are the seeded values; ``token`` is the
actor's ``token:`` override if it has one, else the seeded one; ``sid``, ``user_id`` and
``registration_id`` are read from the live actor, as ``${actors.<name>.<field>}`` still is
(a drone with a ``registration:`` override uses ``registration_id``, not its seeded ``id``).
An actor may not be named after a root (``RESERVED_NAMES``).

``vars:`` at the top of a scenario names values, ``${vars.<name>}`` reads one. A variable
may hold references (rendered where it is used); variables that refer to each other in a
loop are an error.

A string that is exactly one reference takes the referenced value's type; otherwise each
reference is replaced by its text. ``$${`` writes a literal ``${``. References are checked
at load time against the world spec (index ranges, field names), the actors and variables
declared, and the captures of earlier steps, and resolved at run time.

A step's ``timeout`` (and ``for``) is a number of seconds or a sum such as
``${relay.drone_ack_timeout} + 10``: the relay under test's own timeout plus a margin, so
a scenario that waits out a relay timeout works on a relay configured otherwise.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from harness.errors import ScenarioError
from harness.scenario.actorrefs import (
    LIVE_FIELDS,
    PER_USER,
    actor_field,
    check_spec_indexes,
    count,
    seeded_path,
)
from harness.scenario.model import ActorSpec
from harness.settings import RelayTimeouts
from seed.world import (
    SeededChatSession,
    SeededDrone,
    SeededProject,
    SeededProvider,
    SeededUser,
    World,
    WorldSpec,
)

REFERENCE = re.compile(r"(?<!\$)\$\{([^}]*)\}")
"""A ``${...}`` reference in a string (group 1: the expression); ``$${`` is not one."""
# Hyphens too: the schema allows them in actor names (``${actors.my-drone.sid}``).
_PART = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]")
ROOT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
"""The root of a reference: ``users``, ``capture``, an actor's name, ..."""

_COLLECTIONS: dict[str, type[Any]] = {
    "users": SeededUser, "providers": SeededProvider, "projects": SeededProject,
    "chat_sessions": SeededChatSession, "drones": SeededDrone,
}
ACTOR_FIELDS = ("name", "sid", "user_id", "registration_id", "token")
# The unknown-name message lists these only: tests/unit/test_scenario_loader.py pins it.
ROOTS = (*_COLLECTIONS, "run_id", "capture", "actors", "relay", "vars")
RESERVED_NAMES: tuple[str, ...] = ROOTS
"""Names an actor may not take: ``${<name>...}`` would read the root instead."""
RELAY_FIELDS = RelayTimeouts.readable()
_TERM = r"(?:\d+(?:\.\d+)?|\$\{[^}]*\})"
_DURATION = re.compile(rf"\s*{_TERM}(?:\s*\+\s*{_TERM})*\s*")

Part = str | int
Actors = Mapping[str, ActorSpec] | set[str]


class _Nested(ValueError):
    """A problem inside a variable or token override; the outermost reference names it."""


def parse_reference(expr: str) -> tuple[str, tuple[Part, ...]]:
    """Split ``users[0].id`` into ``("users", (0, "id"))``; raises ``ValueError``."""
    expr = expr.strip()
    root = ROOT_NAME.match(expr)
    if root is None:
        raise ValueError(f"${{{expr}}}: a reference starts with one of {', '.join(ROOTS)} "
                         "or an actor's name")
    parts: list[Part] = []
    pos = root.end()
    while pos < len(expr):
        part = _PART.match(expr, pos)
        if part is None:
            raise ValueError(f"${{{expr}}}: cannot read {expr[pos:]!r}; "
                             "write .field or [index]")
        parts.append(part.group(1) if part.group(1) is not None else int(part.group(2)))
        pos = part.end()
    return root.group(0), tuple(parts)


def references(value: Any) -> list[str]:
    """Every ``${...}`` expression inside ``value`` (strings, lists, mapping values)."""
    found: list[str] = []
    _walk_strings(value, lambda text: found.extend(m.group(1) for m in REFERENCE.finditer(text)))
    return found


def _walk_strings(value: Any, visit: Callable[[str], None]) -> None:
    if isinstance(value, str):
        visit(value)
    elif isinstance(value, list):
        for item in value:
            _walk_strings(item, visit)
    elif isinstance(value, dict):
        for item in value.values():
            _walk_strings(item, visit)


def check_actor_name(name: str) -> None:
    """Raise ``ValueError`` when ``name`` cannot name an actor: it is a reference root."""
    if name in RESERVED_NAMES:
        raise ValueError(f"actor name {name!r} is reserved: ${{{name}...}} reads the "
                         f"world, not an actor; pick another (reserved: "
                         f"{', '.join(RESERVED_NAMES)})")


def check_reference(expr: str, spec: WorldSpec, captures: set[str], actors: Actors,
                    variables: Mapping[str, Any] | None = None) -> None:
    """Raise ``ValueError`` saying what is wrong with ``${expr}`` for this world and scope.

    ``actors`` maps names to their ``ActorSpec``; a plain set of names (older callers)
    checks an actor-relative reference only for the name. ``variables`` are the scenario's
    ``vars:``; those a reference reads are checked too, with the same captures.
    """
    _check_top(expr, spec, captures, actors, variables or {})


def check_variable(name: str, variables: Mapping[str, Any], spec: WorldSpec,
                   actors: Actors) -> None:
    """Raise ``ValueError`` when variable ``name`` cannot be declared as written: a name
    that ``${vars.<name>}`` cannot spell, a wrong reference in its value, or a loop of
    variables. Captures are not checked here (that depends on where it is used)."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", name) is None:
        raise ValueError(f"vars: {name!r} cannot be written as ${{vars.{name}}}; use "
                         "letters, digits, _ and -, not starting with a digit")
    _check_top(f"vars.{name}", spec, None, actors, variables)


def _check_top(expr: str, spec: WorldSpec, captures: set[str] | None, actors: Actors,
               variables: Mapping[str, Any]) -> None:
    try:
        _check(expr, spec, captures, actors, variables, ())
    except _Nested as exc:
        raise ValueError(f"${{{expr.strip()}}}: {exc}") from None


def _check(expr: str, spec: WorldSpec, captures: set[str] | None, actors: Actors,
           variables: Mapping[str, Any], chain: tuple[str, ...]) -> None:
    """``check_reference``; ``captures`` None accepts any, ``chain`` is what is being
    expanded (``vars.a``, ``ide.token``), to find loops."""
    root, parts = parse_reference(expr)
    if root == "run_id":
        if parts:
            raise ValueError(f"${{{expr}}}: run_id has no fields")
        return
    if root == "capture":
        if not parts or not isinstance(parts[0], str):
            raise ValueError(f"${{{expr}}}: write capture.<name>")
        if captures is not None and parts[0] not in captures:
            known = ", ".join(sorted(captures)) or "none yet"
            raise ValueError(f"${{{expr}}}: no earlier step captures {parts[0]!r} "
                             f"(captured so far: {known})")
        return
    if root == "actors":
        if len(parts) != 2 or not all(isinstance(p, str) for p in parts):
            raise ValueError(f"${{{expr}}}: write actors.<name>.<field>")
        if parts[0] not in actors:
            raise ValueError(f"${{{expr}}}: no actor {parts[0]!r}; "
                             f"actors: {', '.join(sorted(actors))}")
        if parts[1] not in ACTOR_FIELDS:
            raise ValueError(f"${{{expr}}}: actors have no field {parts[1]!r}; "
                             f"fields: {', '.join(ACTOR_FIELDS)}")
        return
    if root == "relay":
        _check_relay(expr, parts)
        return
    if root == "vars":
        name = _var_name(expr, parts, variables)
        _check_nested(f"vars.{name}", variables[name], chain, spec, captures, actors,
                      variables)
        return
    if root in _COLLECTIONS:
        _check_collection(expr, root, parts, spec, per_user=False)
        return
    if root not in actors:
        raise ValueError(f"${{{expr}}}: unknown name {root!r}; use one of "
                         f"{', '.join(ROOTS)} or an actor's name ({', '.join(sorted(actors))})")
    if not isinstance(actors, Mapping):
        if not parts or not isinstance(parts[0], str):
            raise ValueError(f"${{{expr}}}: write {root}.<field>")
        return
    actor = actors[root]
    field = actor_field(expr, actor, parts)
    if field == "token" and actor.token is not None:
        _check_nested(f"{root}.token", actor.token, chain, spec, captures, actors, variables)
    elif field not in LIVE_FIELDS[actor.type]:
        check_spec_indexes(expr, actor, field, spec)
        world_root, world_parts = seeded_path(actor, field, parts[1:], None)
        _check_collection(expr, world_root, world_parts, spec, per_user=False)


def _check_nested(key: str, value: Any, chain: tuple[str, ...], spec: WorldSpec,
                  captures: set[str] | None, actors: Actors,
                  variables: Mapping[str, Any]) -> None:
    """Check the references inside a variable or token override named ``key``."""
    if key in chain:
        raise _Nested(_loop(chain, key))
    for expr in references(value):
        try:
            _check(expr, spec, captures, actors, variables, (*chain, key))
        except _Nested:
            raise
        except ValueError as exc:
            raise _Nested(f"in {key}: {exc}") from None


def _loop(chain: tuple[str, ...], key: str) -> str:
    cycle = (*chain[chain.index(key):], key)
    if len(cycle) == 2:
        return f"{key} refers to itself"
    return f"{' -> '.join(cycle)} refer to each other in a loop"


def _var_name(expr: str, parts: tuple[Part, ...], variables: Mapping[str, Any]) -> str:
    if not parts or not isinstance(parts[0], str):
        raise ValueError(f"${{{expr}}}: write vars.<name>")
    if parts[0] not in variables:
        declared = ", ".join(sorted(variables)) or "none (declare them under vars:)"
        raise ValueError(f"${{{expr}}}: no variable {parts[0]!r}; declared: {declared}")
    return parts[0]


def _check_relay(expr: str, parts: tuple[Part, ...]) -> None:
    if len(parts) != 1 or parts[0] not in RELAY_FIELDS:
        raise ValueError(f"${{{expr}}}: write relay.<name>, one of {', '.join(RELAY_FIELDS)}")


def check_duration(value: Any) -> None:
    """Raise ``ValueError`` unless ``value`` is seconds > 0 or a sum of numbers and
    ``${relay.<timeout>}`` references."""
    if isinstance(value, bool):
        raise ValueError(f"expected seconds, got {value!r}")
    if isinstance(value, int | float):
        if value <= 0:
            raise ValueError(f"expected seconds > 0, got {value!r}")
        return
    if not isinstance(value, str) or _DURATION.fullmatch(value) is None:
        raise ValueError(f"expected seconds or a sum like '${{relay.drone_ack_timeout}} + 10', "
                         f"got {value!r}")
    for match in REFERENCE.finditer(value):
        root, parts = parse_reference(match.group(1))
        if root != "relay":
            raise ValueError(f"${{{match.group(1)}}}: a duration reads only relay.<name>, one "
                             f"of {', '.join(RELAY_FIELDS)}")
        _check_relay(match.group(1), parts)


def _check_collection(expr: str, name: str, parts: tuple[Part, ...], spec: WorldSpec,
                      per_user: bool) -> None:
    if len(parts) < 2 or not isinstance(parts[0], int):
        raise ValueError(f"${{{expr}}}: write {name}[<index>].<field>")
    size = count(spec, name, per_user)
    if parts[0] >= size:
        whose = "each user has" if per_user else "the world has"
        raise ValueError(f"${{{expr}}}: index {parts[0]} out of range; {whose} {size} {name}")
    field = parts[1]
    if name == "users" and field in PER_USER and not per_user:
        _check_collection(expr, str(field), parts[2:], spec, per_user=True)
        return
    names = [f.name for f in dataclasses.fields(_COLLECTIONS[name])]
    if not isinstance(field, str) or field not in names or len(parts) > 2:
        extra = ", " + ", ".join(PER_USER) + " (per user)" if name == "users" else ""
        raise ValueError(f"${{{expr}}}: {name} have fields {', '.join(names)}{extra}")


@dataclass(frozen=True)
class ActorRef:
    """What ``${actors.<name>.<field>}`` can read about a live actor."""

    name: str
    sid: str | None
    user_id: str | None
    registration_id: str | None
    token: str | None


@dataclass
class TemplateContext:
    """The values references resolve against during a run.

    ``actors`` reads live actors (``sid``, ``user_id``, ``registration_id``);
    ``actor_specs`` are the declared actors, for ``${<actor>.<field>}``; ``variables`` are
    the scenario's ``vars:``.
    """

    world: World
    captures: dict[str, Any] = dataclasses.field(default_factory=dict)
    actors: Callable[[str], ActorRef] | None = None
    relay: RelayTimeouts = dataclasses.field(default_factory=RelayTimeouts)
    actor_specs: Mapping[str, ActorSpec] = dataclasses.field(default_factory=dict)
    variables: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    _expanding: list[str] = dataclasses.field(default_factory=list, init=False, repr=False)

    def lookup(self, expr: str) -> Any:
        """The value of ``${expr}``; raises ``ScenarioError`` when it cannot be resolved."""
        try:
            root, parts = parse_reference(expr)
            return self._lookup(expr.strip(), root, parts)
        except _Nested as exc:
            if self._expanding:
                raise  # the outermost reference names it
            raise ScenarioError(f"${{{expr.strip()}}}: {exc}") from exc
        except (ValueError, LookupError, AttributeError) as exc:
            message = str(exc) if isinstance(exc, ValueError) else f"${{{expr}}}: not found"
            raise ScenarioError(message) from exc

    def _lookup(self, expr: str, root: str, parts: tuple[Part, ...]) -> Any:
        if root == "run_id":
            return self.world.run_id
        if root == "capture":
            name = parts[0]
            if name not in self.captures:
                raise ValueError(f"${{capture.{name}}}: nothing was captured under that name "
                                 "(the capturing step did not match)")
            return _walk(self.captures[name], parts[1:])
        if root == "actors":
            return getattr(self._live(str(parts[0])), str(parts[1]))
        if root == "relay":
            _check_relay(f"relay.{parts[0]}" if parts else "relay", parts)
            return getattr(self.relay, str(parts[0]))
        if root == "vars":
            name = _var_name(expr, parts, self.variables)
            return _walk(self._expand(f"vars.{name}", self.variables[name]), parts[1:])
        if root in _COLLECTIONS:
            return self._world_value(root, parts)
        actor = self.actor_specs.get(root)
        if actor is None:
            raise ValueError(f"${{{expr}}}: no actor {root!r} here")
        field = actor_field(expr, actor, parts)
        if field in LIVE_FIELDS[actor.type]:
            return getattr(self._live(root), field)
        if field == "token" and actor.token is not None:
            return self._expand(f"{root}.token", actor.token)
        check_spec_indexes(expr, actor, field, self.world.spec)
        return self._world_value(*seeded_path(actor, field, parts[1:], self.world))

    def _live(self, name: str) -> ActorRef:
        if self.actors is None:
            raise ValueError("actors are not available here")
        return self.actors(name)

    def _world_value(self, root: str, parts: tuple[Part, ...]) -> Any:
        items: tuple[Any, ...] = getattr(self.world, root)
        value = items[int(parts[0])]
        rest = parts[1:]
        if root == "users" and rest and rest[0] in PER_USER:
            owned: tuple[Any, ...] = getattr(self.world, f"{rest[0]}_of")(value.id)
            return _walk(owned, rest[1:])
        return _walk(value, rest)

    def _expand(self, key: str, value: Any) -> Any:
        """``value`` (a variable, a token override) rendered, or a loop reported."""
        if key in self._expanding:
            raise _Nested(_loop(tuple(self._expanding), key))
        self._expanding.append(key)
        try:
            return self.render(value)
        except ScenarioError as exc:
            raise _Nested(f"in {key}: {exc}") from exc
        finally:
            self._expanding.pop()

    def seconds(self, value: Any, default: float) -> float:
        """A step's duration (``timeout``, ``for``): ``default`` when None, else a number
        or a sum of numbers and ``${relay.<timeout>}`` references."""
        if value is None:
            return default
        try:
            check_duration(value)
        except ValueError as exc:
            raise ScenarioError(str(exc)) from exc
        if not isinstance(value, str):
            return float(value)
        text = REFERENCE.sub(lambda m: repr(float(self.lookup(m.group(1)))), value)
        return sum(float(term) for term in text.split("+"))

    def render(self, value: Any) -> Any:
        """``value`` with every reference resolved (deeply; mapping keys untouched)."""
        if isinstance(value, str):
            return self._render_text(value)
        if isinstance(value, list):
            return [self.render(item) for item in value]
        if isinstance(value, dict):
            return {key: self.render(item) for key, item in value.items()}
        return value

    def _render_text(self, text: str) -> Any:
        whole = REFERENCE.fullmatch(text)
        if whole is not None:
            return self.lookup(whole.group(1))
        if "${" not in text:
            return text
        rendered = REFERENCE.sub(lambda m: as_text(self.lookup(m.group(1))), text)
        return rendered.replace("$${", "${")


def _walk(value: Any, parts: tuple[Part, ...]) -> Any:
    for part in parts:
        if isinstance(part, int) or isinstance(value, Mapping):
            value = value[part]
        else:
            value = getattr(value, part)
    return value


def as_text(value: Any) -> str:
    """A referenced value inside a longer string: YAML's spelling of null and booleans."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def captures_of(matcher: Any) -> set[str]:
    """Names a matcher tree captures with ``{$capture: name}``."""
    found: set[str] = set()

    def visit(value: Any) -> None:
        if isinstance(value, dict):
            name = value.get("$capture")
            if isinstance(name, str):
                found.add(name)
            for item in value.values():
                visit(item)
        elif isinstance(value, list):
            for item in value:
                visit(item)

    visit(matcher)
    return found
