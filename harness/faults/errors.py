"""The fault proxy's error: a bad toxic or control parameter (a ``ConfigError``)."""

from __future__ import annotations

from harness.errors import ConfigError


class ToxicError(ConfigError, ValueError):
    """A toxic or a proxy control got a bad parameter; the message names both, and
    ``param`` names the parameter (None when the problem is not one parameter's)."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


__all__ = ["ToxicError"]
