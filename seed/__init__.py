"""Seeding of Gadget worlds in MongoDB, and their cleanup (docs/seed.md).

    world = await build_world(db)             # the default world, a fresh run id
    report = await cleanup(db, world.run_id)  # removes that run and nothing else
"""

from seed.factory import WorldPlan, hash_token, plan_world
from seed.output import (
    load_world_file,
    world_from_dict,
    world_from_json,
    world_to_dict,
    world_to_json,
    write_world_file,
)
from seed.runid import new_run_id, run_tag
from seed.spec import load_spec_file, spec_from_dict, spec_to_dict
from seed.store import (
    CleanupReport,
    RunInfo,
    build_world,
    cleanup,
    gc,
    list_runs,
    stale_runs,
    write_plan,
)
from seed.world import (
    SeededChatSession,
    SeededDrone,
    SeededProject,
    SeededProvider,
    SeededUser,
    World,
    WorldSpec,
)

__all__ = [
    "CleanupReport",
    "RunInfo",
    "SeededChatSession",
    "SeededDrone",
    "SeededProject",
    "SeededProvider",
    "SeededUser",
    "World",
    "WorldPlan",
    "WorldSpec",
    "build_world",
    "cleanup",
    "gc",
    "hash_token",
    "list_runs",
    "load_spec_file",
    "load_world_file",
    "new_run_id",
    "plan_world",
    "run_tag",
    "spec_from_dict",
    "spec_to_dict",
    "stale_runs",
    "world_from_dict",
    "world_from_json",
    "world_to_dict",
    "world_to_json",
    "write_plan",
    "write_world_file",
]
