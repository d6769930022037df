"""Planning a world in memory: the contract's shape, run-unique values, Faker determinism."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from _seed_helpers import check_default_world, check_world_documents
from bson import ObjectId

from harness.errors import SpecError
from harness.protocol import Collection
from seed import WorldSpec, hash_token, new_run_id, plan_world, run_tag
from seed.runid import check_run_id, run_time

RUN = "run-20261126T071500Z-3f9a1c"


def test_default_plan_has_the_documented_shape() -> None:
    plan = plan_world(WorldSpec(), RUN, "gadget")
    check_default_world(plan.documents, plan.world)
    assert plan.world.database == "gadget"
    assert plan.world.run_id == RUN
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", plan.world.created_at)
    # Documents are planned in the world's order, parents first.
    assert plan.ids(Collection.DRONE_REGISTRATIONS) == [ObjectId(d.id) for d in plan.world.drones]
    assert list(plan.documents) == [Collection.USERS, Collection.AI_PROVIDERS,
                                    Collection.PROJECTS, Collection.CHAT_SESSIONS,
                                    Collection.DRONE_REGISTRATIONS]


def test_larger_spec_counts_and_links() -> None:
    spec = WorldSpec(users=3, providers_per_user=2, projects_per_user=2,
                     chat_sessions_per_project=3, drones_per_user=4)
    plan = plan_world(spec, RUN, "gadget")
    world = plan.world
    assert (len(world.users), len(world.providers), len(world.projects),
            len(world.chat_sessions), len(world.drones)) == (3, 6, 6, 18, 12)
    check_world_documents(plan.documents, world)
    for user in world.users:
        assert len(world.drones_of(user.id)) == 4
        assert len(world.projects_of(user.id)) == 2
        assert len(world.providers_of(user.id)) == 2
        assert len(world.chat_sessions_of(user.id)) == 6
        # Chat sessions spread over the user's providers.
        used = {c.provider_id for c in world.chat_sessions_of(user.id)}
        assert used == {p.id for p in world.providers_of(user.id)}
    for field in ("email",):
        values = [getattr(u, field) for u in world.users]
        assert len(set(values)) == len(values)
    assert len({p.slug for p in world.projects}) == 6
    assert len({d.hostname for d in world.drones}) == 12


def test_thousand_drones_plan_stays_unique() -> None:
    plan = plan_world(WorldSpec(users=1, drones_per_user=1000), RUN, "gadget")
    hostnames = [d.hostname for d in plan.world.drones]
    assert len(set(hostnames)) == 1000
    assert len(plan.documents[Collection.DRONE_REGISTRATIONS]) == 1000


def test_empty_optional_kinds() -> None:
    spec = WorldSpec(providers_per_user=0, projects_per_user=0, chat_sessions_per_project=0,
                     drones_per_user=0)
    plan = plan_world(spec, RUN, "gadget")
    assert len(plan.world.users) == 1
    assert all(not plan.documents[c] for c in plan.documents if c != Collection.USERS)


def _names(seed: int | None, run_id: str = RUN) -> list[str]:
    world = plan_world(WorldSpec(users=2, projects_per_user=2), run_id, "gadget",
                       faker_seed=seed).world
    return ([u.display_name for u in world.users] + [p.name for p in world.providers]
            + [p.model for p in world.providers] + [p.name for p in world.projects]
            + [c.title for c in world.chat_sessions])


def test_same_faker_seed_same_names_but_fresh_ids_and_tokens() -> None:
    first = plan_world(WorldSpec(), RUN, "gadget", faker_seed=7).world
    again = plan_world(WorldSpec(), RUN, "gadget", faker_seed=7).world
    assert _names(7) == _names(7)
    assert _names(7, "other-run") == _names(7)  # names do not depend on the run
    assert (first.users[0].email, first.projects[0].slug, first.drones[0].hostname) == (
        again.users[0].email, again.projects[0].slug, again.drones[0].hostname)
    assert first.users[0].id != again.users[0].id
    assert first.users[0].token != again.users[0].token
    assert first.drones[0].token != again.drones[0].token
    assert first.faker_seed == 7


def test_different_faker_seeds_differ() -> None:
    assert _names(1) != _names(2)


def test_two_runs_never_share_unique_values() -> None:
    spec = WorldSpec(users=5, projects_per_user=3, drones_per_user=5)
    # Same Faker seed, so only the run makes the values differ.
    a = plan_world(spec, new_run_id(), "gadget", faker_seed=3).world
    b = plan_world(spec, new_run_id(), "gadget", faker_seed=3).world
    assert a.run_id != b.run_id
    assert not {u.email for u in a.users} & {u.email for u in b.users}
    assert not {p.slug for p in a.projects} & {p.slug for p in b.projects}
    assert not {d.hostname for d in a.drones} & {d.hostname for d in b.drones}


def test_tokens_are_random_and_stored_hashed() -> None:
    plan = plan_world(WorldSpec(), RUN, "gadget")
    token = plan.world.users[0].token
    assert len(token) >= 40
    assert hash_token(token) == plan.documents[Collection.USERS][0]["apiTokenHash"]
    assert token not in repr(plan.world)
    assert plan.world.drones[0].token not in repr(plan.world)


def test_plan_rejects_a_bad_run_id() -> None:
    with pytest.raises(SpecError, match="run id 'bad id!'"):
        plan_world(WorldSpec(), "bad id!", "gadget")


def test_run_ids_are_sortable_unique_and_carry_their_time() -> None:
    moment = datetime(2026, 11, 26, 7, 15, tzinfo=UTC)
    ids = {new_run_id(moment) for _ in range(50)}
    assert len(ids) == 50
    for run_id in ids:
        assert re.fullmatch(r"run-20261126T071500Z-[0-9a-f]{6}", run_id)
        assert run_time(run_id) == moment
    assert run_time("my-ci-run") is None
    assert new_run_id(moment) < new_run_id(datetime(2026, 11, 26, 7, 16, tzinfo=UTC))
    assert run_tag(RUN) == run_tag(RUN) != run_tag(RUN + "x")
    assert re.fullmatch(r"[0-9a-f]{8}", run_tag(RUN))


@pytest.mark.parametrize("bad", ["", " ", "a b", "-lead", "x" * 65, "ü", None, 5])
def test_check_run_id_refuses(bad: object) -> None:
    with pytest.raises(SpecError, match="RUN_ID"):
        check_run_id(bad, what="RUN_ID")


@pytest.mark.parametrize("good", ["a", "ci-1234.attempt_2", "run-20261126T071500Z-3f9a1c",
                                  "job:42"])
def test_check_run_id_accepts(good: str) -> None:
    assert check_run_id(good) == good
