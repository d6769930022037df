"""Container images for the container tier, built from nothing where none can be pulled."""

from __future__ import annotations

from harness.images.base import BaseRecipe, build_base
from harness.images.build import (
    BASE_CHOICES,
    DATABASE_IMAGE_CHOICES,
    BuildOptions,
    Images,
    ensure_images,
    project_root,
)
from harness.images.dockercli import engine_problem
from harness.images.hashing import content_hash
from harness.images.mirror import find_mirror

__all__ = [
    "BASE_CHOICES",
    "DATABASE_IMAGE_CHOICES",
    "BaseRecipe",
    "BuildOptions",
    "Images",
    "build_base",
    "content_hash",
    "engine_problem",
    "ensure_images",
    "find_mirror",
    "project_root",
]
