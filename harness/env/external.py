"""``ExternalEnvironment``: a relay someone else runs (staging, production-like, a laptop)."""

from __future__ import annotations

import logging
from types import TracebackType
from urllib.parse import urlsplit

from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from harness.env.health import wait_for_health
from harness.errors import ConfigError, EnvError
from harness.settings import RelayTimeouts
from harness.uri import check_mongo_uri, mask_uri, safe_detail

log = logging.getLogger(__name__)


class ExternalEnvironment:
    """An already-running relay and its MongoDB; starts nothing and stops nothing.

    ``start`` checks that the relay answers ``/healthz`` and the database a ping, each
    within ``timeout`` seconds, and raises ``EnvError`` naming which did not. ``timeouts``
    are the relay's own, as the user states them (the harness cannot read them).
    """

    def __init__(self, relay_url: str, mongo_uri: str, database: str,
                 admin_token: str | None = None, *, timeout: float = 10.0,
                 timeouts: RelayTimeouts | None = None) -> None:
        parts = urlsplit(relay_url or "")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"--relay-url: expected http(s)://host:port, got {relay_url!r}")
        self._relay_url = relay_url.rstrip("/")
        self._mongo_uri = check_mongo_uri(mongo_uri)
        self._database = database
        self._admin_token = admin_token
        self._timeout = timeout
        self._timeouts = timeouts or RelayTimeouts()

    @property
    def relay_url(self) -> str:
        """The relay's base URL as given."""
        return self._relay_url

    @property
    def mongo_uri(self) -> str:
        """The database URI as given."""
        return self._mongo_uri

    @property
    def database(self) -> str:
        """The database name as given."""
        return self._database

    @property
    def admin_token(self) -> str | None:
        """The admin token as given (None: introspection checks are skipped)."""
        return self._admin_token

    @property
    def relay_timeouts(self) -> RelayTimeouts:
        """The relay's timeouts as the user stated them (the contract's defaults if not)."""
        return self._timeouts

    @property
    def supports_restart(self) -> bool:
        """An external relay cannot be restarted by the harness."""
        return False

    @property
    def reference_relay(self) -> bool:
        """Someone else's relay: only the contract is asserted, never our relay's choices."""
        return False

    def describe(self) -> str:
        """One line for summaries (password masked)."""
        return (f"external: relay at {self._relay_url}, database {self._database} "
                f"at {mask_uri(self._mongo_uri)}")

    async def start(self) -> None:
        """Check that the relay and the database answer."""
        await wait_for_health(self._relay_url, self._timeout)
        masked = mask_uri(self._mongo_uri)
        try:
            client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
                self._mongo_uri, serverSelectionTimeoutMS=int(self._timeout * 1000))
        except (PyMongoError, ValueError, TypeError) as exc:
            raise ConfigError(
                f"--mongo-uri {masked}: {safe_detail(str(exc), self._mongo_uri)}") from None
        try:
            await client.admin.command("ping")
        except PyMongoError as exc:
            detail = safe_detail(str(exc), self._mongo_uri)
            raise EnvError(f"database at {masked} unreachable: {detail}") from None
        finally:
            await client.close()

    async def stop(self) -> None:
        """Nothing to stop."""

    async def restart_relay(self) -> None:
        """Not possible for an external relay."""
        raise EnvError("an external relay cannot be restarted by the harness")

    def logs(self) -> dict[str, str]:
        """No logs: the harness does not run this relay."""
        return {}

    async def __aenter__(self) -> ExternalEnvironment:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()
