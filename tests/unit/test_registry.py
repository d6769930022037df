"""The relay's session registry: every key, replacement, removal, and the no-leak invariant."""

from __future__ import annotations

import random

import pytest

from harness.relay.registry import CodeSession, DroneSession, RegistryError, SessionRegistry

MAP_NAMES = ("sessions", "dronesByRegistration", "codeSessionsByUser",
             "codeSessionsByChatSession")


def _empty(registry: SessionRegistry) -> bool:
    snapshot = registry.snapshot()
    return all(snapshot[name] == {"size": 0, "keys": []} for name in MAP_NAMES)


def test_code_session_is_found_by_socket_user_and_chat_session() -> None:
    registry = SessionRegistry()
    ide = CodeSession("s1", "u1")
    registry.add_code(ide)
    registry.index_chat_session("s1", "c1")
    registry.index_chat_session("s1", "c2")

    assert registry.session("s1") is ide
    assert registry.code_sessions_by_user("u1") == [ide]
    assert registry.code_sessions_by_chat_session("c1") == [ide]
    assert registry.code_sessions_by_chat_session("c2") == [ide]
    assert registry.code_sessions_by_user("u2") == []
    assert registry.code_sessions_by_chat_session("c3") == []


def test_a_user_may_have_several_ides_on_one_chat_session() -> None:
    registry = SessionRegistry()
    first, second = CodeSession("s1", "u1"), CodeSession("s2", "u1")
    registry.add_code(first)
    registry.add_code(second)
    registry.index_chat_session("s1", "c1")
    registry.index_chat_session("s2", "c1")

    assert set(map(id, registry.code_sessions_by_user("u1"))) == {id(first), id(second)}
    registry.remove("s1")
    assert registry.code_sessions_by_user("u1") == [second]
    assert registry.code_sessions_by_chat_session("c1") == [second]


def test_indexing_a_chat_session_twice_is_idempotent() -> None:
    registry = SessionRegistry()
    registry.add_code(CodeSession("s1", "u1"))
    registry.index_chat_session("s1", "c1")
    registry.index_chat_session("s1", "c1")
    assert registry.snapshot()["codeSessionsByChatSession"] == {"size": 1, "keys": ["c1"]}
    registry.remove("s1")
    assert _empty(registry)


def test_drone_session_is_found_by_socket_and_registration() -> None:
    registry = SessionRegistry()
    drone = DroneSession("d1", "u1", "r1")
    assert registry.add_drone(drone) is None
    assert registry.session("d1") is drone
    assert registry.drone_by_registration("r1") is drone
    assert registry.drone_by_registration("r2") is None
    assert registry.is_current(drone)


def test_newest_drone_connection_replaces_the_older_one() -> None:
    registry = SessionRegistry()
    old, new = DroneSession("d1", "u1", "r1"), DroneSession("d2", "u1", "r1")
    registry.add_drone(old)

    assert registry.add_drone(new) is old
    assert registry.drone_by_registration("r1") is new
    assert not registry.is_current(old)
    assert registry.session("d1") is old  # still connected until the relay drops it

    assert registry.remove("d1") is old  # the handover: the successor keeps the index
    assert registry.drone_by_registration("r1") is new
    assert registry.remove("d2") is new
    assert _empty(registry)


def test_remove_takes_a_session_out_of_every_map() -> None:
    registry = SessionRegistry()
    registry.add_code(CodeSession("s1", "u1"))
    registry.index_chat_session("s1", "c1")
    registry.add_drone(DroneSession("d1", "u1", "r1"))

    assert isinstance(registry.remove("s1"), CodeSession)
    assert isinstance(registry.remove("d1"), DroneSession)
    assert registry.remove("d1") is None
    assert "s1" not in registry
    assert len(registry) == 0
    assert _empty(registry)


def test_programming_errors_are_refused() -> None:
    registry = SessionRegistry()
    registry.add_code(CodeSession("s1", "u1"))
    registry.add_drone(DroneSession("d1", "u1", "r1"))
    with pytest.raises(RegistryError, match="s1"):
        registry.add_code(CodeSession("s1", "u2"))
    with pytest.raises(RegistryError, match="d1"):
        registry.index_chat_session("d1", "c1")
    with pytest.raises(RegistryError, match="nope"):
        registry.index_chat_session("nope", "c1")


def test_snapshot_has_the_introspection_shape() -> None:
    registry = SessionRegistry()
    registry.add_code(CodeSession("s2", "u1"))
    registry.add_code(CodeSession("s1", "u1"))
    registry.index_chat_session("s1", "c1")
    registry.add_drone(DroneSession("d1", "u1", "r1"))

    assert registry.snapshot() == {
        "sessions": {"size": 3, "keys": ["d1", "s1", "s2"]},
        "dronesByRegistration": {"size": 1, "keys": ["r1"]},
        "codeSessionsByUser": {"size": 1, "keys": ["u1"]},
        "codeSessionsByChatSession": {"size": 1, "keys": ["c1"]},
    }


def test_regression_lookup_by_socket_id_finds_nothing_by_business_id() -> None:
    registry = SessionRegistry(["lookup-by-socket-id"])
    registry.add_code(CodeSession("s1", "u1"))
    registry.index_chat_session("s1", "c1")
    registry.add_drone(DroneSession("d1", "u1", "r1"))

    assert registry.drone_by_registration("r1") is None
    assert registry.code_sessions_by_user("u1") == []
    assert registry.code_sessions_by_chat_session("c1") == []
    assert registry.session("d1") is not None


def test_regression_stale_index_on_disconnect_leaves_index_entries() -> None:
    registry = SessionRegistry(["stale-index-on-disconnect"])
    registry.add_code(CodeSession("s1", "u1"))
    registry.index_chat_session("s1", "c1")
    registry.add_drone(DroneSession("d1", "u1", "r1"))
    registry.remove("s1")
    registry.remove("d1")

    snapshot = registry.snapshot()
    assert snapshot["sessions"]["size"] == 0
    assert snapshot["dronesByRegistration"]["keys"] == ["r1"]
    assert snapshot["codeSessionsByUser"]["keys"] == ["u1"]
    assert snapshot["codeSessionsByChatSession"]["keys"] == ["c1"]


class _Model:
    """The expected state, kept the obvious way, to compare the registry against."""

    def __init__(self) -> None:
        self.live: dict[str, CodeSession | DroneSession] = {}
        self.owner: dict[str, DroneSession] = {}  # registration -> newest drone


def _check_against(registry: SessionRegistry, model: _Model) -> None:
    assert {s.sid for s in registry.sessions()} == set(model.live)
    for registration, drone in model.owner.items():
        assert registry.drone_by_registration(registration) is drone
    users = {s.user_id for s in model.live.values() if isinstance(s, CodeSession)}
    chats = {c for s in model.live.values() if isinstance(s, CodeSession)
             for c in s.chat_session_ids}
    snapshot = registry.snapshot()
    assert snapshot["sessions"]["keys"] == sorted(model.live)
    assert snapshot["dronesByRegistration"]["keys"] == sorted(model.owner)
    assert snapshot["codeSessionsByUser"]["keys"] == sorted(users)
    assert snapshot["codeSessionsByChatSession"]["keys"] == sorted(chats)
    for user in users:
        expected = {s.sid for s in model.live.values()
                    if isinstance(s, CodeSession) and s.user_id == user}
        assert {s.sid for s in registry.code_sessions_by_user(user)} == expected
    for chat in chats:
        expected = {s.sid for s in model.live.values()
                    if isinstance(s, CodeSession) and chat in s.chat_session_ids}
        assert {s.sid for s in registry.code_sessions_by_chat_session(chat)} == expected


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_sequences_never_leak_and_match_a_model(seed: int) -> None:
    rng = random.Random(seed)
    registry, model = SessionRegistry(), _Model()
    users, chats, registrations = ["u1", "u2", "u3"], ["c1", "c2", "c3", "c4"], ["r1", "r2"]
    counter = 0
    for _ in range(600):
        op = rng.random()
        if op < 0.3 or not model.live:
            counter += 1
            sid = f"s{counter}"
            if rng.random() < 0.5:
                code = CodeSession(sid, rng.choice(users))
                registry.add_code(code)
                model.live[sid] = code
            else:
                drone = DroneSession(sid, rng.choice(users), rng.choice(registrations))
                older = registry.add_drone(drone)
                assert older is model.owner.get(drone.registration_id)
                model.live[sid] = drone
                model.owner[drone.registration_id] = drone
        elif op < 0.55:
            codes = [s for s in model.live.values() if isinstance(s, CodeSession)]
            if codes:
                registry.index_chat_session(rng.choice(codes).sid, rng.choice(chats))
        else:
            sid = rng.choice(sorted(model.live))
            gone: CodeSession | DroneSession = model.live.pop(sid)
            assert registry.remove(sid) is gone
            if isinstance(gone, DroneSession):
                registration = gone.registration_id
                if model.owner.get(registration) is gone:
                    del model.owner[registration]
            _check_against(registry, model)
    for sid in sorted(model.live):
        registry.remove(sid)
    assert _empty(registry)
