"""The harness's exception tree.

    HarnessError
    ├── ConfigError            bad flag, environment variable or option value
    ├── EnvError               an environment failed to start, stop or answer
    ├── DatabaseError          the database is unreachable or refused an operation
    ├── SeedError              seeding or cleanup failed
    │   └── SpecError          a malformed world spec or world file
    ├── ScenarioError          a scenario file is malformed (file, line, step)
    ├── ExpectationFailed      something arrived other than expected, or nothing did
    │   └── InvariantViolation an automatic check over the message history failed
    ├── ScenarioTimeout        a step or ack did not complete in time
    └── TraceError             a trace file cannot be read (file and line)

Elsewhere, by the code that raises them: ``harness.sim.ConnectRefused``
(an ``ExpectationFailed``), ``harness.sim.AckTimeout`` (a ``ScenarioTimeout``) and
``harness.faults.ToxicError`` (a ``ConfigError`` and a ``ValueError``).

Third-party errors are converted at the boundary (``raise X(...) from exc``) so a
user reads our message, not a socketio or pymongo traceback.
"""

from __future__ import annotations


class HarnessError(Exception):
    """Root of every error the harness raises on purpose."""


class ConfigError(HarnessError):
    """A flag, environment variable or option has a bad value."""


class EnvError(HarnessError):
    """An environment failed to start, stop or answer."""


class DatabaseError(HarnessError):
    """The database is unreachable or refused an operation."""


class SeedError(HarnessError):
    """Seeding or cleanup failed."""


class SpecError(SeedError):
    """A world spec or world file is malformed."""


class ScenarioError(HarnessError):
    """A scenario file is malformed; the message names file, line and step."""


class ExpectationFailed(HarnessError):
    """What arrived differs from what a step expected, or nothing arrived."""


class InvariantViolation(ExpectationFailed):
    """An automatic check over the message history failed."""


class ScenarioTimeout(HarnessError):
    """A step or an ack did not complete within its timeout."""


class TraceError(HarnessError):
    """A trace file cannot be read: names the file and the line."""


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
