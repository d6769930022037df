"""The typed result of seeding: ids (24-hex strings) and clear tokens of one run's world."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Final

from harness.errors import SpecError

# Spec field -> (key in spec files and the world JSON, CLI flag, minimum).
SPEC_KEYS: Final[dict[str, tuple[str, str, int]]] = {
    "users": ("users", "--users", 1),
    "providers_per_user": ("providersPerUser", "--providers", 0),
    "projects_per_user": ("projectsPerUser", "--projects", 0),
    "chat_sessions_per_project": ("chatSessionsPerProject", "--chat-sessions", 0),
    "drones_per_user": ("dronesPerUser", "--drones", 0),
}
MAX_PER_FIELD: Final = 100_000
MAX_DOCUMENTS: Final = 1_000_000


@dataclass(frozen=True)
class WorldSpec:
    """How big a world to seed. The defaults are the protocol's default world.

    Raises ``SpecError`` naming the field when a count is not an integer in range,
    or when chat sessions are asked for without a provider to point at.
    """

    users: int = 1
    providers_per_user: int = 1
    projects_per_user: int = 1
    chat_sessions_per_project: int = 1
    drones_per_user: int = 3

    def __post_init__(self) -> None:
        for spec_field in fields(self):
            value = getattr(self, spec_field.name)
            key, flag, minimum = SPEC_KEYS[spec_field.name]
            if isinstance(value, bool) or not isinstance(value, int):
                raise SpecError(
                    f"spec field {key} ({flag}): must be an integer, got {value!r}"
                )
            if not minimum <= value <= MAX_PER_FIELD:
                raise SpecError(
                    f"spec field {key} ({flag}): must be from {minimum} to {MAX_PER_FIELD},"
                    f" got {value}"
                )
        if self.chat_sessions and not self.providers_per_user:
            raise SpecError(
                "spec field providersPerUser (--providers): must be at least 1 when"
                " chatSessionsPerProject is above 0 (a chat session needs a provider)"
            )
        if self.total_documents > MAX_DOCUMENTS:
            raise SpecError(
                f"spec: would create {self.total_documents} documents, more than the"
                f" limit of {MAX_DOCUMENTS}; lower the counts"
            )

    @property
    def providers(self) -> int:
        """Providers in the whole world."""
        return self.users * self.providers_per_user

    @property
    def projects(self) -> int:
        """Projects in the whole world."""
        return self.users * self.projects_per_user

    @property
    def chat_sessions(self) -> int:
        """Chat sessions in the whole world."""
        return self.projects * self.chat_sessions_per_project

    @property
    def drones(self) -> int:
        """Drone registrations in the whole world."""
        return self.users * self.drones_per_user

    @property
    def total_documents(self) -> int:
        """Documents a run of this spec writes, over every collection."""
        return self.users + self.providers + self.projects + self.chat_sessions + self.drones


@dataclass(frozen=True)
class SeededUser:
    id: str
    email: str
    display_name: str
    token: str = field(repr=False)


@dataclass(frozen=True)
class SeededProvider:
    id: str
    user_id: str
    name: str
    kind: str
    base_url: str
    model: str


@dataclass(frozen=True)
class SeededProject:
    id: str
    user_id: str
    name: str
    slug: str


@dataclass(frozen=True)
class SeededChatSession:
    id: str
    user_id: str
    project_id: str
    provider_id: str
    title: str


@dataclass(frozen=True)
class SeededDrone:
    id: str
    user_id: str
    hostname: str
    token: str = field(repr=False)


@dataclass(frozen=True)
class World:
    """Everything one seeding run created, in creation order per kind."""

    run_id: str
    database: str
    created_at: str  # ISO 8601, UTC, millisecond precision, e.g. 2026-11-26T07:15:00.123Z
    spec: WorldSpec
    users: tuple[SeededUser, ...]
    providers: tuple[SeededProvider, ...]
    projects: tuple[SeededProject, ...]
    chat_sessions: tuple[SeededChatSession, ...]
    drones: tuple[SeededDrone, ...]
    faker_seed: int | None = None

    def drones_of(self, user_id: str) -> tuple[SeededDrone, ...]:
        """The drones registered to ``user_id``."""
        return tuple(d for d in self.drones if d.user_id == user_id)

    def chat_sessions_of(self, user_id: str) -> tuple[SeededChatSession, ...]:
        """The chat sessions of ``user_id``."""
        return tuple(c for c in self.chat_sessions if c.user_id == user_id)

    def projects_of(self, user_id: str) -> tuple[SeededProject, ...]:
        """The projects of ``user_id``."""
        return tuple(p for p in self.projects if p.user_id == user_id)

    def providers_of(self, user_id: str) -> tuple[SeededProvider, ...]:
        """The AI providers of ``user_id``."""
        return tuple(p for p in self.providers if p.user_id == user_id)
