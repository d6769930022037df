"""What every environment that runs the reference relay itself has in common."""

from __future__ import annotations

import dataclasses
import secrets
from types import TracebackType
from typing import Any, Self

from harness.errors import EnvError
from harness.settings import RelaySettings, RelayTimeouts


class RelayOwningEnvironment:
    """Settings, URLs and the context-manager protocol of an environment that starts the relay.

    Subclasses set ``_relay_port`` once the relay listens and implement ``start``/``stop``;
    an admin token is generated unless the settings carry one, so introspection is on.
    """

    _label = "environment"

    def __init__(self, settings: RelaySettings | None, **overrides: Any) -> None:
        base = settings or RelaySettings()
        self._settings = dataclasses.replace(
            base, admin_token=base.admin_token or secrets.token_urlsafe(18), **overrides)
        self._relay_port: int | None = None

    def _not_started(self) -> EnvError:
        return EnvError(f"the {self._label} is not started")

    @property
    def settings(self) -> RelaySettings:
        """The relay's settings."""
        return self._settings

    @property
    def relay_url(self) -> str:
        """Base URL of the running relay, on loopback."""
        if self._relay_port is None:
            raise self._not_started()
        return f"http://127.0.0.1:{self._relay_port}"

    @property
    def database(self) -> str:
        """The relay's database name."""
        return self._settings.database

    @property
    def admin_token(self) -> str | None:
        """The relay's admin token (introspection is always on here)."""
        return self._settings.admin_token

    @property
    def relay_timeouts(self) -> RelayTimeouts:
        """The timeouts the relay was started with."""
        return self._settings.timeouts

    @property
    def supports_restart(self) -> bool:
        """The harness owns the relay, so it can restart it."""
        return True

    def _relay_label(self) -> str:
        """``reference relay``, with its switches when any are on."""
        switches = [f"--regress {r}" for r in sorted(self._settings.regressions)] + \
            [f"--variant {v}" for v in sorted(self._settings.variants)]
        return "reference relay" + (f" ({', '.join(switches)})" if switches else "")

    @property
    def reference_relay(self) -> bool:
        """The reference relay, unless a ``--variant`` makes it take another allowed answer."""
        return not self._settings.variants

    async def start(self) -> None:
        """Bring everything up (subclasses)."""
        raise NotImplementedError

    async def stop(self) -> None:
        """Tear everything down (subclasses)."""
        raise NotImplementedError

    async def _after_exit(self) -> None:
        """Hook run after ``stop`` when the context exits."""

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()
        await self._after_exit()
