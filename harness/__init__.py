"""Gadget Harness: integration tests and simulation for the Gadget Code Socket.IO relay."""

from __future__ import annotations

from harness.errors import (
    ConfigError,
    DatabaseError,
    EnvError,
    ExpectationFailed,
    HarnessError,
    InvariantViolation,
    ScenarioError,
    ScenarioTimeout,
    SeedError,
    SpecError,
    TraceError,
)

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DatabaseError",
    "EnvError",
    "ExpectationFailed",
    "HarnessError",
    "InvariantViolation",
    "ScenarioError",
    "ScenarioTimeout",
    "SeedError",
    "SpecError",
    "TraceError",
]
