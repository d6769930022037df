"""The typed result of seeding: ids (24-hex strings) and clear tokens of one run's world."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class WorldSpec:
    """How big a world to seed. The defaults are the protocol's default world."""

    users: int = 1
    providers_per_user: int = 1
    projects_per_user: int = 1
    chat_sessions_per_project: int = 1
    drones_per_user: int = 3


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
    created_at: str  # ISO 8601, UTC
    spec: WorldSpec
    users: tuple[SeededUser, ...]
    providers: tuple[SeededProvider, ...]
    projects: tuple[SeededProject, ...]
    chat_sessions: tuple[SeededChatSession, ...]
    drones: tuple[SeededDrone, ...]

    def drones_of(self, user_id: str) -> tuple[SeededDrone, ...]:
        """The drones registered to ``user_id``."""
        return tuple(d for d in self.drones if d.user_id == user_id)

    def chat_sessions_of(self, user_id: str) -> tuple[SeededChatSession, ...]:
        """The chat sessions of ``user_id``."""
        return tuple(c for c in self.chat_sessions if c.user_id == user_id)

    def projects_of(self, user_id: str) -> tuple[SeededProject, ...]:
        """The projects of ``user_id``."""
        return tuple(p for p in self.projects if p.user_id == user_id)
