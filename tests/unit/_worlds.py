"""A small hand-made ``World`` for the reference tests: two users, two drones each
(``d<user><n>``), and one chat session each (``c<user>``) or several (``c<user><n>``)."""

from __future__ import annotations

from seed.world import (
    SeededChatSession,
    SeededDrone,
    SeededProject,
    SeededProvider,
    SeededUser,
    World,
    WorldSpec,
)


def make_world(spec: WorldSpec) -> World:
    """The world of ``spec`` (2 users, 2 drones each; chat sessions as the spec says)."""
    chats = spec.chat_sessions_per_project
    users = tuple(SeededUser(f"u{i}", f"u{i}@x", f"U{i}", f"tok-u{i}") for i in range(2))
    drones = tuple(SeededDrone(f"d{u}{j}", f"u{u}", f"h{u}{j}", f"tok-d{u}{j}")
                   for u in range(2) for j in range(2))
    return World(
        run_id="run1", database="gadget", created_at="2026-01-01T00:00:00.000Z", spec=spec,
        users=users,
        providers=tuple(SeededProvider(f"p{u}", f"u{u}", "p", "openai", "http://x", "m")
                        for u in range(2)),
        projects=tuple(SeededProject(f"j{u}", f"u{u}", "j", "j") for u in range(2)),
        chat_sessions=tuple(
            SeededChatSession(f"c{u}{k}" if chats > 1 else f"c{u}", f"u{u}", f"j{u}", f"p{u}",
                              f"t{k}" if chats > 1 else "t")
            for u in range(2) for k in range(chats)),
        drones=drones)
