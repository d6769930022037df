"""The fault proxy's error: a bad toxic or control parameter (a ``ConfigError``)."""

from __future__ import annotations

from harness.errors import ConfigError


class ToxicError(ConfigError, ValueError):
    """A toxic or a proxy control got a bad parameter; the message names both."""


__all__ = ["ToxicError"]
