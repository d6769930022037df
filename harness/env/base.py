"""The one Protocol every environment (local processes, containers, external relay) speaks."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from harness.settings import RelayTimeouts


@runtime_checkable
class Environment(Protocol):
    """Where the relay under test runs, and its database.

    Environments are async context managers: ``__aenter__`` starts (and on a failure halfway
    stops whatever already started), ``__aexit__`` stops everything they started.
    """

    @property
    def relay_url(self) -> str:
        """Base URL of the relay, e.g. ``http://127.0.0.1:8080``."""
        ...

    @property
    def mongo_uri(self) -> str:
        """MongoDB URI of the relay's database."""
        ...

    @property
    def database(self) -> str:
        """Name of the relay's database."""
        ...

    @property
    def admin_token(self) -> str | None:
        """Admin token for the introspection endpoint, when the relay has one."""
        ...

    @property
    def supports_restart(self) -> bool:
        """True when ``restart_relay`` can restart the relay mid-scenario."""
        ...

    @property
    def reference_relay(self) -> bool:
        """True when the relay under test is the harness's reference relay with its own
        choices (no ``--variant``): scenarios marked ``reference_only`` run only there."""
        ...

    @property
    def relay_timeouts(self) -> RelayTimeouts:
        """The relay's timeouts as scenarios must wait them out (``${relay.*}``)."""
        ...

    def describe(self) -> str:
        """One line naming the environment and its database, for summaries."""
        ...

    async def start(self) -> None:
        """Bring everything up and wait until the relay is healthy."""
        ...

    async def stop(self) -> None:
        """Tear down everything this environment started. Idempotent."""
        ...

    async def restart_relay(self) -> None:
        """Restart the relay process on the same URL (raises ``EnvError`` if unsupported)."""
        ...

    def logs(self) -> dict[str, str]:
        """The logs of every process or container this environment runs, by name."""
        ...


@runtime_checkable
class SplitEnvironment(Protocol):
    """An environment that can start a second relay beside its own (``LocalEnvironment``):
    scenarios that cannot share a relay run there, at the same time as the others."""

    def apart(self) -> Environment:
        """A second relay like this one, with a database of its own; unstarted."""
        ...
