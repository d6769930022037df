"""The relay's live-session registry: one primary map and three secondary indexes, no I/O.

    sessions                    socket id        -> session (code or drone)
    dronesByRegistration        registration id  -> the drone session that owns it now
    codeSessionsByUser          user id          -> {socket id: code session}
    codeSessionsByChatSession   chat session id  -> {socket id: code session}

Every lookup by business id goes through an index. ``remove`` takes a session out of
every map and index, so that after every client has gone the registry is empty. Two
known-bug switches live here, where the original bugs lived: ``lookup-by-socket-id``
(business-id lookups read the socket-id map) and ``stale-index-on-disconnect``
(``remove`` forgets the indexes).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.relay.inbox import Inbox

__all__ = ["CodeSession", "DroneSession", "RegistryError", "Session", "SessionRegistry"]

LOOKUP_BY_SOCKET_ID = "lookup-by-socket-id"
STALE_INDEX_ON_DISCONNECT = "stale-index-on-disconnect"


class RegistryError(Exception):
    """A registry operation that contradicts its state (a programming error)."""


@dataclass(eq=False)
class CodeSession:
    """A connected IDE socket of ``user_id`` and the chat sessions it has opened."""

    sid: str
    user_id: str
    chat_session_ids: set[str] = field(default_factory=set)


@dataclass(eq=False)
class DroneSession:
    """A connected drone socket; ``locked_by`` caches the registration's lock in memory.

    ``work_orders`` maps the work orders the relay created for this drone (or handed over
    to it on reconnect or recovery) to their chat session.
    """

    sid: str
    user_id: str
    registration_id: str
    locked_by: str | None = None
    work_orders: dict[str, str] = field(default_factory=dict, repr=False)
    closed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    inbox: Inbox | None = field(default=None, repr=False)
    arrival: int = 0  # the order its connect came in (the newest connection wins)


Session = CodeSession | DroneSession


class SessionRegistry:
    """Live sessions by socket id, indexed by registration, user and chat session."""

    def __init__(self, regressions: Iterable[str] = ()) -> None:
        self._regressions = frozenset(regressions)
        self._sessions: dict[str, Session] = {}
        self._drones_by_registration: dict[str, DroneSession] = {}
        self._code_by_user: dict[str, dict[str, CodeSession]] = {}
        self._code_by_chat: dict[str, dict[str, CodeSession]] = {}

    # -- adding ---------------------------------------------------------------------------

    def add_code(self, session: CodeSession) -> None:
        """Register an IDE socket under its socket id and its user."""
        self._insert_primary(session)
        self._code_by_user.setdefault(session.user_id, {})[session.sid] = session
        for chat_id in session.chat_session_ids:
            self._code_by_chat.setdefault(chat_id, {})[session.sid] = session

    def add_drone(self, session: DroneSession) -> DroneSession | None:
        """Register a drone socket; newest wins: returns the session it replaced, if any.

        The replaced session stays in the primary map (its socket is still open until the
        caller disconnects it) but no longer owns the registration index entry.
        """
        self._insert_primary(session)
        older = self._drones_by_registration.get(session.registration_id)
        self._drones_by_registration[session.registration_id] = session
        return older

    def index_chat_session(self, sid: str, chat_session_id: str) -> CodeSession:
        """Index the code session ``sid`` under ``chat_session_id`` (idempotent)."""
        session = self._sessions.get(sid)
        if not isinstance(session, CodeSession):
            raise RegistryError(f"no code session with socket id {sid}")
        session.chat_session_ids.add(chat_session_id)
        self._code_by_chat.setdefault(chat_session_id, {})[sid] = session
        return session

    def _insert_primary(self, session: Session) -> None:
        if session.sid in self._sessions:
            raise RegistryError(f"socket id {session.sid} is already registered")
        self._sessions[session.sid] = session

    # -- lookups --------------------------------------------------------------------------

    def session(self, sid: str) -> Session | None:
        """The session of socket ``sid``, or None."""
        return self._sessions.get(sid)

    def drone_by_registration(self, registration_id: str) -> DroneSession | None:
        """The live drone session that owns ``registration_id``, or None."""
        if LOOKUP_BY_SOCKET_ID in self._regressions:
            # The original bug: a business id looked up in the socket-id map.
            found = self._sessions.get(registration_id)
            return found if isinstance(found, DroneSession) else None
        return self._drones_by_registration.get(registration_id)

    def code_sessions_by_user(self, user_id: str) -> list[CodeSession]:
        """The live code sessions of ``user_id``."""
        if LOOKUP_BY_SOCKET_ID in self._regressions:
            return self._code_in_primary(user_id)
        return list(self._code_by_user.get(user_id, {}).values())

    def code_sessions_by_chat_session(self, chat_session_id: str) -> list[CodeSession]:
        """The live code sessions that opened ``chat_session_id``."""
        if LOOKUP_BY_SOCKET_ID in self._regressions:
            return self._code_in_primary(chat_session_id)
        return list(self._code_by_chat.get(chat_session_id, {}).values())

    def _code_in_primary(self, key: str) -> list[CodeSession]:
        found = self._sessions.get(key)
        return [found] if isinstance(found, CodeSession) else []

    def is_current(self, session: DroneSession) -> bool:
        """True when ``session`` still owns its registration (it was not replaced)."""
        return self._drones_by_registration.get(session.registration_id) is session

    def __len__(self) -> int:
        return len(self._sessions)

    def __contains__(self, sid: object) -> bool:
        return sid in self._sessions

    def sessions(self) -> list[Session]:
        """Every live session, in connection order."""
        return list(self._sessions.values())

    # -- removing -------------------------------------------------------------------------

    def remove(self, sid: str) -> Session | None:
        """Remove socket ``sid`` from every map and index; returns its session, or None.

        An index entry is removed only when it points at this very session, so removing a
        replaced drone leaves its successor in place.
        """
        session = self._sessions.pop(sid, None)
        if session is None:
            return None
        if STALE_INDEX_ON_DISCONNECT in self._regressions:
            # The original bug: only the primary map was cleaned on disconnect.
            return session
        if isinstance(session, DroneSession):
            if self._drones_by_registration.get(session.registration_id) is session:
                del self._drones_by_registration[session.registration_id]
        else:
            _discard(self._code_by_user, session.user_id, sid)
            for chat_id in session.chat_session_ids:
                _discard(self._code_by_chat, chat_id, sid)
        return session

    # -- introspection --------------------------------------------------------------------

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Sizes and sorted keys of every map, in the introspection endpoint's shape."""
        maps: dict[str, Iterable[str]] = {
            "sessions": self._sessions,
            "dronesByRegistration": self._drones_by_registration,
            "codeSessionsByUser": self._code_by_user,
            "codeSessionsByChatSession": self._code_by_chat,
        }
        return {name: {"size": len(list(keys)), "keys": sorted(keys)}
                for name, keys in maps.items()}


def _discard(index: dict[str, dict[str, CodeSession]], key: str, sid: str) -> None:
    bucket = index.get(key)
    if bucket is None:
        return
    bucket.pop(sid, None)
    if not bucket:
        del index[key]
