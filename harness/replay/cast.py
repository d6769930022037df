"""Who is who in a replay: the recorded clients mapped onto a seeded world.

Users are told apart by their token's fingerprint (the recorder keeps an HMAC of it, never
the token), drones by their registration id. A drone belongs to the user whose IDE the
relay told about it (``droneStatus``) or let it lock, prompt or terminate it; a chat session
to the user whose request on it was answered ``ok``. An id that was answered ``forbidden``
belongs to someone else: a user of its own in the world. An id answered ``not-found`` is
kept as it was (it is in no world). Each recorded id becomes a reference into the seeded
world (``${d0.id}``, ``${users[1].chat_sessions[0].id}``), work order ids become captures.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from harness.protocol import IDE_EVENTS, Event, is_object_id
from harness.replay.recording import Client, Recording
from harness.sim.history import Message

__all__ = ["Actor", "Cast", "build_cast", "error_code", "walk_strings"]

WRONG_TOKEN: Final = "not-the-recorded-token"
UNKNOWN_ID: Final = "ffffffffffffffffffffffff"


@dataclass
class User:
    """A user of the world: its recorded identity, and its chat sessions and drones."""

    index: int
    identity: str | None  # None: someone the recording saw only through refusals
    chats: list[str] = field(default_factory=list)
    drones: list[str] = field(default_factory=list)


@dataclass
class Actor:
    """A scenario actor: one or more recorded clients of one identity, one after another."""

    name: str
    kind: str  # ide | drone | http
    user: int
    clients: list[str] = field(default_factory=list)
    drone: int = 0  # its index among its user's drones
    chat: int = 0  # an IDE's chat session, among its user's
    token: str | None = None  # a token override: the recorded one was refused
    registration: str | None = None
    transport: str = "websocket"


@dataclass
class Cast:
    """The world to seed, the actors bound to it and the reference of every recorded id."""

    users: list[User]
    actors: dict[str, Actor]
    of_client: dict[str, str]  # recorded client -> actor
    http_of_user: dict[int, str]  # user index -> http actor
    refs: dict[str, str]  # recorded id -> reference (without ${ })
    work_orders: set[str]
    acks: dict[int, Message]  # seq of an emit or HTTP call -> its answer

    def world(self) -> dict[str, int]:
        """The ``world:`` of the scenario."""
        return {"users": len(self.users),
                "chat_sessions_per_project": max(1, *(len(u.chats) for u in self.users)),
                "drones_per_user": max(1, *(len(u.drones) for u in self.users))}


def walk_strings(value: Any) -> Iterator[tuple[str | None, str]]:
    """Every string in ``value`` with the key it sits under (None in a list)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str):
                yield str(key), item
            else:
                yield from walk_strings(item)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, str):
                yield None, item
            else:
                yield from walk_strings(item)


def _ok(answer: Message | None) -> bool | None:
    """True for an ``ok`` ack or a 2xx HTTP answer, False for a refusal, None unknown."""
    if answer is None:
        return None
    if answer.kind == "http":
        return 200 <= int(answer.meta.get("status") or 0) < 300
    ack = answer.ack
    return bool(ack.get("ok")) if isinstance(ack, dict) else None


def error_code(body: Any) -> str | None:
    """The ``error`` of an ack or an HTTP body, if it is a refusal."""
    return str(body.get("error")) if isinstance(body, dict) and body.get("error") else None


def _error(answer: Message | None) -> str | None:
    if answer is None:
        return None
    return error_code(answer.payload if answer.kind == "http" else answer.ack)


class _Builder:
    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self.clients = recording.clients
        self.users: list[User] = []
        self.user_of: dict[str, int] = {}  # identity -> user index
        self.refs: dict[str, str] = {}
        self.acks = self._answers()
        self._foreign: int | None = None

    def _answers(self) -> dict[int, Message]:
        acks: dict[int, Message] = {}
        for message in self.recording.messages:
            answers = message.direction == "ack" or (
                message.kind == "http" and message.direction == "received")
            if answers and "sent_seq" in message.meta:
                acks[int(message.meta["sent_seq"])] = message
        return acks

    def user(self, identity: str | None) -> int:
        if identity is None:
            return self.foreign()
        if identity not in self.user_of:
            self.user_of[identity] = len(self.users)
            self.users.append(User(len(self.users), identity))
        return self.user_of[identity]

    def foreign(self) -> int:
        if self._foreign is None:
            self._foreign = len(self.users)
            self.users.append(User(self._foreign, None))
        return self._foreign

    def requests(self) -> Iterator[tuple[int, str, Any, Message | None]]:
        """(user, what, payload or path, answer) of every IDE request and HTTP call."""
        for message in self.recording.messages:
            if message.direction != "sent":
                continue
            client = self.clients.get(message.actor)
            if message.kind == "ide" and client and client.connects \
                    and message.event in IDE_EVENTS:
                yield (self.user(client.identity), message.event, message.payload,
                       self.acks.get(message.seq))
            elif message.kind == "http":
                auth = message.meta.get("auth")
                if isinstance(auth, str):
                    yield (self.user(f"user:{auth}"), "http", message.event,
                           self.acks.get(message.seq))

    def build(self) -> Cast:
        for client in self.clients.values():  # users in order of first appearance
            if client.kind == "ide" and client.connects:
                self.user(client.identity)
        self._drones()
        self._chats()
        self._projects_and_users()
        work_orders = {text for message in self.recording.messages
                       for value in (message.payload, message.ack)
                       for key, text in walk_strings(value)
                       if key == "workOrderId" and is_object_id(text)}
        actors, of_client, http_of_user = _actors(self)
        return Cast(self.users, actors, of_client, http_of_user, self.refs, work_orders,
                    self.acks)

    def _drones(self) -> None:
        owners: dict[str, int] = {}
        for message in self.recording.messages:  # the relay tells a drone's owner about it
            if message.kind == "ide" and message.event == Event.DRONE_STATUS \
                    and message.direction == "received" and isinstance(message.payload, dict):
                client = self.clients[message.actor]
                owners.setdefault(str(message.payload.get("registrationId")),
                                  self.user(client.identity))
        for user, _what, subject, answer in self.requests():
            for registration in _ids(subject, "registrationId"):
                if _ok(answer):
                    owners.setdefault(registration, user)
        recorded = [c.registration_id for c in self.clients.values()
                    if c.kind == "drone" and c.registration_id and c.connects]
        for registration in dict.fromkeys(recorded):
            owner = owners.get(registration)
            self._add_drone(registration, self.user(f"owner-of:{registration}")
                            if owner is None else owner)
        for user, _what, subject, answer in self.requests():  # drones no client connected as
            for registration in _ids(subject, "registrationId"):
                if registration in self.refs or _error(answer) == "not-found":
                    continue
                self._add_drone(registration, self.foreign()
                                if _error(answer) == "forbidden" else user)

    def _add_drone(self, registration: str, user: int) -> None:
        drones = self.users[user].drones
        self.refs[registration] = f"users[{user}].drones[{len(drones)}].id"
        drones.append(registration)

    def _chats(self) -> None:
        pending: list[tuple[int, str, Message | None]] = []
        for user, _what, subject, answer in self.requests():
            for chat in _ids(subject, "chatSessionId"):
                if _ok(answer):
                    self._add_chat(chat, user)
                else:
                    pending.append((user, chat, answer))
        for user, chat, answer in pending:
            if chat in self.refs or _error(answer) == "not-found":
                continue
            self._add_chat(chat, self.foreign() if _error(answer) == "forbidden" else user)

    def _add_chat(self, chat: str, user: int) -> None:
        if chat in self.refs:
            return
        chats = self.users[user].chats
        self.refs[chat] = f"users[{user}].chat_sessions[{len(chats)}].id"
        chats.append(chat)

    def _projects_and_users(self) -> None:
        for user in self.users:
            if user.identity is not None and user.identity.startswith("user:") \
                    and is_object_id(user.identity.removeprefix("user:")):
                self.refs.setdefault(user.identity.removeprefix("user:"),
                                     f"users[{user.index}].id")  # a harness run's trace
        for message in self.recording.messages:
            payload = message.payload
            if not isinstance(payload, dict):
                continue
            chat = self.refs.get(str(payload.get("chatSessionId")))
            project = payload.get("projectId")
            if chat and isinstance(project, str) and is_object_id(project):
                self.refs.setdefault(project, chat.removesuffix(".id") + ".project_id")
            drone = self.refs.get(str(payload.get("_id") or payload.get("id")))
            owner = payload.get("user") or payload.get("userId")
            if drone and isinstance(owner, str) and is_object_id(owner):
                self.refs.setdefault(owner, drone.split(".")[0] + ".id")


def _ids(subject: Any, key: str) -> list[str]:
    """The ids under ``key`` in a payload, or (an HTTP call's ``"VERB /path"``) in the path."""
    if isinstance(subject, str):
        return [part for part in re.split(r"[/?&=\s]", subject)
                if is_object_id(part)] if key == "registrationId" else []
    value = subject.get(key) if isinstance(subject, dict) else None
    return [value] if isinstance(value, str) and is_object_id(value) else []


def _actors(builder: _Builder) -> tuple[dict[str, Actor], dict[str, str], dict[int, str]]:
    actors: dict[str, Actor] = {}
    of_client: dict[str, str] = {}
    ended: dict[str, float] = {}  # actor -> when its last client ended (inf: still on)
    for client in sorted(builder.clients.values(), key=lambda c: c.first):
        if client.kind == "http":
            continue
        identity = client.identity if not client.only_refused else f"refused:{client.name}"
        reuse = next((a for a in actors.values() if a.kind == client.kind
                      and _identity_of(builder, a) == identity
                      and ended.get(a.name, float("inf")) <= client.first), None)
        actor = reuse or _new_actor(builder, client, actors)
        actor.clients.append(client.name)
        of_client[client.name] = actor.name
        ended[actor.name] = client.last if _ended(builder.recording, client) else float("inf")
    http_of_user: dict[int, str] = {}
    for message in builder.recording.messages:
        auth = message.meta.get("auth") if message.kind == "http" else None
        if isinstance(auth, str) and message.direction == "sent":
            user = builder.user(f"user:{auth}")
            if user not in http_of_user:
                name = "api" if not http_of_user else f"api{len(http_of_user) + 1}"
                http_of_user[user] = name
                actors[name] = Actor(name, "http", user)
    return actors, of_client, http_of_user


def _identity_of(builder: _Builder, actor: Actor) -> str | None:
    first = builder.clients[actor.clients[0]]
    return first.identity if not first.only_refused else f"refused:{first.name}"


def _ended(recording: Recording, client: Client) -> bool:
    last = [m for m in recording.messages if m.actor == client.name]
    return bool(last) and last[-1].direction in ("disconnect", "connect-error")


def _new_actor(builder: _Builder, client: Client, actors: dict[str, Actor]) -> Actor:
    name = client.name if client.name not in actors else f"{client.name}_{len(actors)}"
    transport = "polling" if client.transport == "polling" and not client.upgraded \
        else "websocket"
    if client.kind == "drone":
        registration = client.registration_id or ""
        ref = builder.refs.get(registration)
        if ref is None or client.only_refused:  # credentials the relay never took
            user = 0 if builder.users else builder.foreign()
            actor = Actor(name, "drone", user, transport=transport, token=WRONG_TOKEN)
            if "auth-unknown" in client.refused:
                actor.registration = UNKNOWN_ID
            return actors.setdefault(name, actor)
        user = int(ref.split("[")[1].split("]")[0])
        drone = builder.users[user].drones.index(registration)
        return actors.setdefault(name, Actor(name, "drone", user, drone=drone,
                                             transport=transport))
    if client.only_refused:
        user = 0 if builder.users else builder.foreign()
        return actors.setdefault(name, Actor(name, "ide", user, transport=transport,
                                             token=WRONG_TOKEN))
    user = builder.user(client.identity)
    actor = Actor(name, "ide", user, transport=transport)
    opened = next((m.payload.get("chatSessionId") for m in builder.recording.messages
                   if m.actor == client.name and m.event == Event.OPEN_CHAT_SESSION
                   and m.direction == "sent" and isinstance(m.payload, dict)), None)
    if isinstance(opened, str) and opened in builder.users[user].chats:
        actor.chat = builder.users[user].chats.index(opened)
    return actors.setdefault(name, actor)


def build_cast(recording: Recording) -> Cast:
    """The world and the actors of ``recording`` (see the module's docstring)."""
    return _Builder(recording).build()
