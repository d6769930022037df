"""World specs and the world JSON: validation that names the field, and a stable round trip."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from harness.errors import SpecError
from seed import (
    World,
    WorldSpec,
    load_spec_file,
    load_world_file,
    plan_world,
    spec_from_dict,
    world_from_json,
    world_to_dict,
    world_to_json,
    write_world_file,
)

RUN = "run-20261126T071500Z-3f9a1c"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"users": 0}, r"spec field users \(--users\): must be from 1"),
    ({"drones_per_user": -1}, r"dronesPerUser \(--drones\): must be from 0"),
    ({"projects_per_user": "2"}, r"projectsPerUser \(--projects\): must be an integer"),
    ({"users": True}, r"users \(--users\): must be an integer, got True"),
    ({"users": 100_001}, r"users \(--users\): must be from 1 to 100000"),
    ({"providers_per_user": 0}, r"providersPerUser \(--providers\): must be at least 1"),
    ({"users": 1000, "drones_per_user": 1001}, r"more than the limit"),
])
def test_spec_names_the_bad_field(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        WorldSpec(**kwargs)  # type: ignore[arg-type]


def test_spec_without_chat_sessions_needs_no_provider() -> None:
    spec = WorldSpec(providers_per_user=0, chat_sessions_per_project=0)
    assert spec.chat_sessions == 0 and spec.total_documents == 1 + 1 + 3


def test_spec_from_dict_accepts_both_spellings() -> None:
    spec = spec_from_dict({"users": 2, "dronesPerUser": 5, "chat_sessions_per_project": 2})
    assert spec == WorldSpec(users=2, drones_per_user=5, chat_sessions_per_project=2)
    with pytest.raises(SpecError, match=r"my\.yaml: unknown field 'drone'; known fields:"):
        spec_from_dict({"drone": 2}, source="my.yaml")
    with pytest.raises(SpecError, match=r"x: spec field users"):
        spec_from_dict({"users": -1}, source="x")
    with pytest.raises(SpecError, match="must be an object"):
        spec_from_dict([1, 2])


def test_load_spec_file_json_and_yaml(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text('{"users": 4, "projectsPerUser": 2}')
    (tmp_path / "s.yaml").write_text("users: 2\ndronesPerUser: 10\n")
    (tmp_path / "empty.yml").write_text("")
    assert load_spec_file(tmp_path / "s.json") == WorldSpec(users=4, projects_per_user=2)
    assert load_spec_file(tmp_path / "s.yaml") == WorldSpec(users=2, drones_per_user=10)
    assert load_spec_file(tmp_path / "empty.yml") == WorldSpec()


def test_load_spec_file_errors_name_the_file_and_place(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"users": 4,\n "x": }')
    (tmp_path / "bad.yaml").write_text("users: 2\n  drones: [\n")
    (tmp_path / "field.yaml").write_text("users: 2\ndronesPerUser: lots\n")
    with pytest.raises(SpecError, match=r"bad\.json: not valid JSON: .* at line 2"):
        load_spec_file(tmp_path / "bad.json")
    with pytest.raises(SpecError, match=r"bad\.yaml: not valid YAML at line 2"):
        load_spec_file(tmp_path / "bad.yaml")
    with pytest.raises(SpecError, match=r"field\.yaml: spec field dronesPerUser .*'lots'"):
        load_spec_file(tmp_path / "field.yaml")
    with pytest.raises(SpecError, match=r"missing\.yaml: cannot read"):
        load_spec_file(tmp_path / "missing.yaml")


def _world() -> World:
    spec = WorldSpec(users=2, projects_per_user=2, drones_per_user=2)
    return plan_world(spec, RUN, "gadget", faker_seed=11).world


def test_world_json_round_trip_is_exact() -> None:
    world = _world()
    text = world_to_json(world)
    assert world_from_json(text) == world
    assert world_to_json(world_from_json(text)) == text


def test_world_json_has_the_documented_keys() -> None:
    data = world_to_dict(_world())
    assert list(data) == ["format", "version", "runId", "database", "createdAt", "fakerSeed",
                          "spec", "users", "providers", "projects", "chatSessions", "drones"]
    assert data["format"] == "gadget-harness/world" and data["version"] == 1
    assert data["spec"] == {"users": 2, "providersPerUser": 1, "projectsPerUser": 2,
                            "chatSessionsPerProject": 1, "dronesPerUser": 2}
    assert set(data["users"][0]) == {"id", "email", "displayName", "token"}
    assert set(data["providers"][0]) == {"id", "userId", "name", "kind", "baseUrl", "model"}
    assert set(data["projects"][0]) == {"id", "userId", "name", "slug"}
    assert set(data["chatSessions"][0]) == {"id", "userId", "projectId", "providerId", "title"}
    assert set(data["drones"][0]) == {"id", "userId", "hostname", "token"}


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d.pop("runId"), r"w\.json: runId: missing"),
    (lambda d: d.update(format="other"), r"format: must be 'gadget-harness/world'"),
    (lambda d: d.update(version=2), r"version: 2 is not supported"),
    (lambda d: d["users"][0].pop("token"), r"users\[0\]\.token: missing"),
    (lambda d: d["drones"][1].update(id="xyz"), r"drones\[1\]\.id: must be 24 hex digits"),
    (lambda d: d["chatSessions"][0].update(title=3), r"chatSessions\[0\]\.title: must be str"),
    (lambda d: d["spec"].update(users=0), r"spec: spec field users"),
    (lambda d: d.update(users={}), r"users: must be list"),
    (lambda d: d.update(fakerSeed="x"), r"fakerSeed: must be int"),
    (lambda d: d.update(runId="a b"), r"runId 'a b'"),
])
def test_world_from_json_names_the_field(mutate: object, message: str) -> None:
    data = world_to_dict(_world())
    mutate(data)  # type: ignore[operator]
    with pytest.raises(SpecError, match=message):
        world_from_json(json.dumps(data), source="w.json")


def test_world_from_json_rejects_bad_json() -> None:
    with pytest.raises(SpecError, match=r"w\.json: not valid JSON: .* at line 1"):
        world_from_json("{nope", source="w.json")
    with pytest.raises(SpecError, match=r"w\.json: must be an object, got list"):
        world_from_json("[]", source="w.json")


def test_world_file_is_private_and_loads_back(tmp_path: Path) -> None:
    world = _world()
    path = tmp_path / "world.json"
    write_world_file(world, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_world_file(path) == world
    assert [p.name for p in tmp_path.iterdir()] == ["world.json"]
    with pytest.raises(SpecError, match="cannot write"):
        write_world_file(world, tmp_path / "no" / "such" / "dir.json")
