"""A model of the contract (``docs/socket-protocol.md``, v1.1) for ``harness explore``. Pure.

The model holds what a conforming relay's clients and database must show after each action:
which drones are connected, their status and lock, which IDEs are connected and which chat
session each opened, and every work order's status. For each request it answers *what the
relay may answer now*, as a set: every code a conforming relay may give, honouring the
freedoms of section 11 (``error-precedence`` may answer ``not-locked`` where the reference
relay answers ``drone-offline``; a lock request racing another may wait or be refused
``drone-locked``). Where the reference relay promises one answer of such a set (section 11
lists the points) and ``reference`` is on, the model asks for that one, and the finding is
marked reference-only.

Names are the explorer's fixed cast (``CAST``): IDEs ``ide0``, ``ide0b`` (both on user 0's
first chat session), ``ide1`` (user 0's second) and ``ide2`` (user 1's first); drones ``d0``
and ``d1`` (user 0's; ``d1`` on long-polling) and ``d2`` (user 1's); HTTP clients ``api0``
and ``api1`` for the two users.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, Literal

from harness.protocol import ErrorCode

OK: Final = "ok"

Transport = Literal["websocket", "polling"]


@dataclass(frozen=True)
class Chat:
    """A seeded chat session: its user and its index among that user's."""

    user: int
    index: int

    @property
    def ref(self) -> str:
        """Its id as a scenario reference."""
        return f"${{users[{self.user}].chat_sessions[{self.index}].id}}"

    @property
    def label(self) -> str:
        """``chat 0/1`` (user 0's second chat session)."""
        return f"chat {self.user}/{self.index}"


@dataclass
class Drone:
    """A drone actor as the contract sees it."""

    name: str
    user: int
    index: int  # among its user's drones
    transport: Transport = "websocket"
    connected: bool = False
    status: str = "offline"
    locked_by: Chat | None = None
    on_lock: str = "accept"
    on_prompt: str = "stream"
    on_termination: str = "accept"
    exit_mode: str = "goodbye"


@dataclass
class Ide:
    """An IDE actor: its user, the chat session it works on, and whether it opened it."""

    name: str
    user: int
    chat: Chat
    connected: bool = False
    opened: bool = False


@dataclass
class WorkOrder:
    """A work order the explorer created, by the capture that holds its id."""

    capture: str
    drone: str
    chat: Chat
    status: str


@dataclass(frozen=True)
class Answer:
    """What a request may be answered: ``OK`` and/or error codes. ``reference_only`` is the
    reason when the set is narrower than the contract's (the reference relay's choice)."""

    codes: frozenset[str]
    reference_only: str | None = None

    @classmethod
    def of(cls, *codes: str, reference_only: str | None = None) -> Answer:
        return cls(frozenset(codes), reference_only)

    @property
    def ok(self) -> bool:
        """True when the only allowed answer is ok."""
        return self.codes == {OK}

    def describe(self) -> str:
        """``ok``, ``drone-locked`` or ``ok or drone-locked``."""
        return " or ".join(sorted(self.codes, key=lambda c: (c != OK, c)))


@dataclass(frozen=True)
class HttpAnswer:
    """An HTTP status (or statuses) and the error code of the body (None: ok)."""

    statuses: frozenset[int]
    error: str | None
    reference_only: str | None = None

    def describe(self) -> str:
        status = " or ".join(str(s) for s in sorted(self.statuses))
        return f"{status} {self.error}" if self.error else status


CAST_IDES: Final = (("ide0", 0, 0), ("ide0b", 0, 0), ("ide1", 0, 1), ("ide2", 1, 0))
CAST_DRONES: Final = (("d0", 0, 0, "websocket"), ("d1", 0, 1, "polling"),
                      ("d2", 1, 0, "websocket"))
CAST_HTTP: Final = (("api0", 0), ("api1", 1))
USERS: Final = 2
DRONES_PER_USER: Final = 2
CHATS_PER_USER: Final = 2

RELAY_RESTART: Final = (
    "the contract does not speak of relay restarts; what the reference relay does on its "
    "way down and at start-up is its own decision (docs/socket-protocol.md, section 9)")
POLLING_EXIT: Final = (
    "contract 8 answers an accepted termination 200 once the drone is offline within the "
    "poll timeout and does not say how soon a relay must notice a drone that exits without "
    "a goodbye; the reference relay ends such a session itself after "
    "--termination-exit-grace (section 8, Decisions)")


@dataclass
class Model:
    """The clients, registrations and work orders of one exploration example."""

    reference: bool = False
    drones: dict[str, Drone] = field(default_factory=dict)
    ides: dict[str, Ide] = field(default_factory=dict)
    work_orders: list[WorkOrder] = field(default_factory=list)
    references: list[str] = field(default_factory=list)  # reference-only answers relied on

    @classmethod
    def of_cast(cls, reference: bool) -> Model:
        """The model of the explorer's cast, nothing connected."""
        model = cls(reference)
        for name, user, index, transport in CAST_DRONES:
            model.drones[name] = Drone(name, user, index, transport,  # type: ignore[arg-type]
                                       exit_mode="silent" if transport == "polling"
                                       else "goodbye")
        for name, user, chat in CAST_IDES:
            model.ides[name] = Ide(name, user, Chat(user, chat))
        return model

    # -- who ---------------------------------------------------------------------------------

    def owner_ides(self, drone: Drone) -> list[Ide]:
        """The connected IDEs of the drone's owner: they hear its ``droneStatus``."""
        return [i for i in self.ides.values() if i.connected and i.user == drone.user]

    def watchers(self, chat: Chat) -> list[Ide]:
        """The connected IDEs that opened ``chat``: they receive its stream."""
        return [i for i in self.ides.values() if i.connected and i.opened and i.chat == chat]

    def running(self, drone: Drone, chat: Chat | None = None) -> list[WorkOrder]:
        """The drone's running work orders (of ``chat``), oldest first."""
        return [w for w in self.work_orders if w.drone == drone.name and w.status == "running"
                and (chat is None or w.chat == chat)]

    def next_capture(self) -> str:
        """The capture name of the next work order."""
        return f"wo{len(self.work_orders) + 1}"

    # -- what the relay may answer -----------------------------------------------------------

    def lock(self, ide: Ide, drone: Drone) -> tuple[Answer, bool]:
        """``requestSessionLock`` by ``ide`` for ``drone``, and whether the relay asks the
        drone (contract 4)."""
        if drone.user != ide.user:
            return Answer.of(ErrorCode.FORBIDDEN), False
        if not drone.connected:
            return Answer.of(ErrorCode.DRONE_OFFLINE), False
        if drone.locked_by == ide.chat:
            return Answer.of(OK), False
        if drone.locked_by is not None:
            return Answer.of(ErrorCode.DRONE_LOCKED), False
        return Answer.of(self._drone_answer(drone.on_lock)), True

    def release(self, ide: Ide, drone: Drone) -> Answer:
        """``releaseSessionLock`` (never ``drone-offline``: contract 4)."""
        if drone.user != ide.user:
            return Answer.of(ErrorCode.FORBIDDEN)
        if drone.locked_by != ide.chat:
            return Answer.of(ErrorCode.NOT_LOCKED)
        return Answer.of(OK)

    def submit(self, ide: Ide, drone: Drone) -> tuple[Answer, bool]:
        """``submitPrompt``, and whether the drone is asked."""
        if drone.user != ide.user:
            return Answer.of(ErrorCode.FORBIDDEN), False
        if not drone.connected:
            # An offline drone holds no lock: drone-offline, or not-locked where a relay
            # checks the lock first (section 11.1).
            return Answer.of(ErrorCode.DRONE_OFFLINE, ErrorCode.NOT_LOCKED), False
        if drone.locked_by != ide.chat:
            return Answer.of(ErrorCode.NOT_LOCKED), False
        answer = OK if drone.on_prompt in ("stream", "accept") else \
            self._drone_answer(drone.on_prompt)
        return Answer.of(answer), True

    def race(self, first: Ide, second: Ide, drone: Drone) -> Answer:
        """Each of two lock requests for one unlocked drone sent at once: the later waits
        for the first to settle or is refused ``drone-locked`` (contract 4)."""
        alone = self._drone_answer(drone.on_lock)
        return Answer.of(alone, ErrorCode.DRONE_LOCKED)

    def retry(self, drone: Drone) -> Answer:
        """A lock retry while the first request waits for a drone that does not answer: never
        ok, since the drone never accepts (contract 4)."""
        return Answer.of(ErrorCode.DRONE_TIMEOUT, ErrorCode.DRONE_LOCKED)

    def terminate(self, user: int, drone: Drone) -> HttpAnswer:
        """``POST .../terminate`` by ``user`` (contract 8, checks in order)."""
        if drone.user != user:
            return HttpAnswer(frozenset({403}), ErrorCode.FORBIDDEN)
        if not drone.connected:
            return HttpAnswer(frozenset({409}), ErrorCode.DRONE_OFFLINE)
        if drone.on_termination == "refuse":
            return HttpAnswer(frozenset({409}), ErrorCode.TERMINATION_REJECTED)
        if drone.on_termination == "ignore":
            return HttpAnswer(frozenset({504}), ErrorCode.TERMINATION_TIMEOUT)
        if drone.exit_mode == "silent" and drone.transport == "polling":
            if self.reference:
                self.references.append(POLLING_EXIT)
                return HttpAnswer(frozenset({200}), None, POLLING_EXIT)
            return HttpAnswer(frozenset({200, 504}), None)
        return HttpAnswer(frozenset({200}), None)

    def registration(self, user: int, drone: Drone) -> HttpAnswer:
        """``GET /api/v1/drone/registration/:id``."""
        if drone.user != user:
            return HttpAnswer(frozenset({403}), ErrorCode.FORBIDDEN)
        return HttpAnswer(frozenset({200}), None)

    def recovery(self, drone: Drone) -> tuple[Chat | None, WorkOrder | None]:
        """What ``requestCrashRecovery`` reports after a handover: the lock and the newest
        unfinished work order of the drone and that chat session (contract 9)."""
        if drone.locked_by is None:
            return None, None
        running = self.running(drone, drone.locked_by)
        return drone.locked_by, (running[-1] if running else None)

    @staticmethod
    def _drone_answer(answer: str) -> str:
        return {"accept": OK, "stream": OK, "refuse": ErrorCode.DRONE_REJECTED,
                "ignore": ErrorCode.DRONE_TIMEOUT}[answer]

    # -- what follows ------------------------------------------------------------------------

    def drone_connected(self, drone: Drone) -> None:
        """A new connection with no lock (after a disconnect the relay cleared it)."""
        drone.connected, drone.status, drone.locked_by = True, "online", None

    def drone_gone(self, drone: Drone) -> list[WorkOrder]:
        """A drone's disconnect (contract 9): offline, unlocked, its running work orders
        aborted, which are returned."""
        drone.connected, drone.status, drone.locked_by = False, "offline", None
        return self._abort(drone)

    def drone_reaped(self, drone: Drone) -> list[WorkOrder]:
        """Offline by the relay's reckoning (a heartbeat, a restart) while the client comes
        back by itself: the same in the database as a disconnect."""
        aborted = self.drone_gone(drone)
        return aborted

    def _abort(self, drone: Drone) -> list[WorkOrder]:
        aborted = self.running(drone)
        for work_order in aborted:
            work_order.status = "aborted"
        return aborted

    def locked(self, drone: Drone, chat: Chat) -> None:
        drone.status, drone.locked_by = "busy", chat

    def released(self, drone: Drone) -> None:
        drone.status, drone.locked_by = "online", None

    def ide_gone(self, ide: Ide) -> None:
        ide.connected, ide.opened = False, False

    def new_work_order(self, drone: Drone, chat: Chat, status: str) -> WorkOrder:
        work_order = WorkOrder(self.next_capture(), drone.name, chat, status)
        self.work_orders.append(work_order)
        return work_order

    # -- the relay's maps (section 10) -------------------------------------------------------

    def expected_maps(self) -> dict[str, tuple[list[str], list[str]]]:
        """For each index map: the references of keys it must have and must lack."""
        drones_has = [f"${{{d.name}.id}}" for d in self.drones.values() if d.connected]
        drones_lacks = [f"${{{d.name}.id}}" for d in self.drones.values() if not d.connected]
        users = {i.user for i in self.ides.values() if i.connected}
        users_has = [f"${{users[{u}].id}}" for u in sorted(users)]
        users_lacks = [f"${{users[{u}].id}}" for u in range(USERS) if u not in users]
        chats = {i.chat for i in self.ides.values() if i.connected and i.opened}
        every = [Chat(u, c) for u in range(USERS) for c in range(CHATS_PER_USER)]
        return {
            "dronesByRegistration": (drones_has, drones_lacks),
            "codeSessionsByUser": (users_has, users_lacks),
            "codeSessionsByChatSession": ([c.ref for c in every if c in chats],
                                          [c.ref for c in every if c not in chats]),
        }


def names(items: Iterable[Drone | Ide]) -> list[str]:
    """The actors' names."""
    return [item.name for item in items]
