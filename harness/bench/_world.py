"""A seeded world for a benchmark, removed on the way out."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from harness.load.config import LoadConfig
from harness.load.runner import seed_world
from seed import cleanup
from seed.world import World


@contextlib.asynccontextmanager
async def seeded(db: Any, config: LoadConfig) -> AsyncIterator[World]:
    """The world ``config`` needs, seeded into ``db`` and cleaned up after."""
    world = await seed_world(db, config)
    try:
        yield world
    finally:
        await cleanup(db, world.run_id)
