"""Where the relay under test runs: local processes, containers, or someone else's server."""

from __future__ import annotations

from harness.env.background import BackgroundEnvironment
from harness.env.base import Environment
from harness.env.database import DATABASE_CHOICES, DatabaseChoice
from harness.env.external import ExternalEnvironment
from harness.env.factory import ENVIRONMENT_KINDS, open_environment
from harness.env.local import LocalEnvironment

__all__ = [
    "DATABASE_CHOICES",
    "ENVIRONMENT_KINDS",
    "BackgroundEnvironment",
    "DatabaseChoice",
    "Environment",
    "ExternalEnvironment",
    "LocalEnvironment",
    "open_environment",
]
