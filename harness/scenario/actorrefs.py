"""What ``${<actor>.<field>}`` reads: an actor's seeded values, worked out from the world
and the actor's declaration (``${d0.id}``, ``${ide.chat_session.id}``, ``${d0.user.email}``),
and which fields are read from the live actor instead (``${d0.sid}``). Used by
``harness.scenario.templating``, which documents the forms.
"""

from __future__ import annotations

import dataclasses

from harness.scenario.model import ActorSpec
from seed.world import SeededUser, World, WorldSpec

Part = str | int
PER_USER = ("drones", "chat_sessions", "projects", "providers")
"""The lists ``users[i].<list>[j]`` counts per user."""

# What ``${<actor>.<field>}`` reads, by actor type: seeded values (from the world and the
# actor's declaration, known before anything connects), then live ones (``ActorRef``).
SEEDED_FIELDS: dict[str, tuple[str, ...]] = {
    "drone": ("id", "token", "hostname", "user"),
    "ide": ("user", "chat_session", "token"),
    "http": ("user", "token"),
}
LIVE_FIELDS: dict[str, tuple[str, ...]] = {
    "drone": ("sid", "user_id", "registration_id"),
    "ide": ("sid", "user_id"),
    "http": (),
}
ACTOR_REF_FIELDS: dict[str, tuple[str, ...]] = {
    kind: (*SEEDED_FIELDS[kind], *LIVE_FIELDS[kind]) for kind in SEEDED_FIELDS
}
"""The fields ``${<actor>.<field>}`` reads, by actor type."""



def actor_field(expr: str, actor: ActorSpec, parts: tuple[Part, ...]) -> str:
    """The field ``${<actor>.<field>...}`` reads; raises ``ValueError`` with a hint."""
    name, kind = actor.name, actor.type
    fields = ACTOR_REF_FIELDS[kind]
    article = "an" if kind in ("ide", "http") else "a"
    if not parts or not isinstance(parts[0], str):
        raise ValueError(f"${{{expr}}}: write {name}.<field>; {article} {kind} actor has "
                         f"fields {', '.join(fields)}")
    field = parts[0]
    if field not in fields:
        if field == "id" and kind != "drone":
            also = f" or ${{{name}.chat_session.id}}" if kind == "ide" else ""
            hint = f"write ${{{name}.user.id}}{also}"
        elif field in (*_user_fields(), *PER_USER):
            hint = f"write ${{{name}.user.{expr.strip()[len(name) + 1:]}}}"
        else:
            hint = f"it has fields {', '.join(fields)}"
        raise ValueError(f"${{{expr}}}: {article} {kind} actor has no {field}; {hint}")
    if field not in ("user", "chat_session") and len(parts) > 1:
        raise ValueError(f"${{{expr}}}: {name}.{field} has no fields")
    if field in ("user", "chat_session") and len(parts) == 1:
        raise ValueError(f"${{{expr}}}: write {name}.{field}.<field>")
    return field


def _user_fields() -> list[str]:
    return [f.name for f in dataclasses.fields(SeededUser)]


def _chat_session_index(actor: ActorSpec) -> int:
    return 0 if actor.chat_session is None else actor.chat_session


def check_spec_indexes(expr: str, actor: ActorSpec, field: str, spec: WorldSpec) -> None:
    """The indexes in the actor's declaration that ``field`` depends on are in range."""
    name = actor.name
    if actor.type == "drone" and actor.user is None:
        index = actor.drone or 0
        if index >= spec.drones:
            raise ValueError(f"${{{expr}}}: actor {name} is drone {index}, out of range; the "
                             f"world has {spec.drones} drones ({_range(spec.drones)})")
        return
    user = 0 if actor.type == "ide" and actor.user is None else actor.user
    if user is None:
        raise ValueError(f"${{{expr}}}: actor {name} has no user; declare it as "
                         f"{{http: {{user: <index>}}}} to read its user or token")
    if user >= spec.users:
        raise ValueError(f"${{{expr}}}: actor {name} is user {user}, out of range; the "
                         f"world has {spec.users} users ({_range(spec.users)})")
    if actor.type == "drone":
        index = actor.drone or 0
        if index >= spec.drones_per_user:
            raise ValueError(f"${{{expr}}}: actor {name} is drone {index} of user {user}, "
                             f"out of range; each user has {spec.drones_per_user} drones "
                             f"({_range(spec.drones_per_user)})")
    if field == "chat_session":
        index = _chat_session_index(actor)
        size = count(spec, "chat_sessions", per_user=True)
        if index >= size:
            raise ValueError(f"${{{expr}}}: actor {name} works on chat session {index} of "
                             f"its user, out of range; each user has {size} chat_sessions "
                             f"({_range(size)})")


def _range(size: int) -> str:
    return "none" if size == 0 else "index 0" if size == 1 else f"indexes 0 to {size - 1}"


def seeded_path(actor: ActorSpec, field: str, rest: tuple[Part, ...],
                 world: World | None) -> tuple[str, tuple[Part, ...]]:
    """The world reference a seeded actor field stands for: ``d0.user.email`` is
    ``users[<its owner>].email``. Without a world (load time) a global drone's owner is
    taken as user 0: every user has the same counts, so the check is the same."""
    if actor.type == "drone" and field != "user":
        if actor.user is None:
            return "drones", (actor.drone or 0, field)
        return "users", (actor.user, "drones", actor.drone or 0, field)
    user = _user_index(actor, world)
    if field == "chat_session":
        return "users", (user, "chat_sessions", _chat_session_index(actor), *rest)
    if field == "token":
        return "users", (user, "token")
    return "users", (user, *rest)


def _user_index(actor: ActorSpec, world: World | None) -> int:
    if actor.type == "drone" and actor.user is None:
        if world is None:
            return 0
        owner = world.drones[actor.drone or 0].user_id
        return next(i for i, user in enumerate(world.users) if user.id == owner)
    return actor.user or 0  # an http actor without a user failed check_spec_indexes


def count(spec: WorldSpec, name: str, per_user: bool) -> int:
    """How many ``name`` (users, drones, chat_sessions, ...) the world has, or each user
    has (``per_user``)."""
    if not per_user:
        return int(getattr(spec, name))
    per = {"users": 1, "drones": spec.drones_per_user, "projects": spec.projects_per_user,
           "providers": spec.providers_per_user,
           "chat_sessions": spec.projects_per_user * spec.chat_sessions_per_project}
    return per[name]


