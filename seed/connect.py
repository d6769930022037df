"""Open a MongoDB database for the CLI, failing fast with the masked URI and the cause."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConfigurationError, PyMongoError

from harness.errors import ConfigError, DatabaseError
from harness.uri import check_mongo_uri, mask_uri, safe_detail

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT: Final = 3.0


def describe_error(exc: BaseException) -> str:
    """One line for a pymongo error: the server's message, without topology dumps."""
    details = getattr(exc, "details", None)
    if isinstance(details, dict):
        write_errors = details.get("writeErrors") or []
        if write_errors and isinstance(write_errors[0], dict):
            return str(write_errors[0].get("errmsg", exc))
        if details.get("errmsg"):
            return str(details["errmsg"])
    text = str(exc).split(", Timeout:", 1)[0].split(" (configured timeouts:", 1)[0]
    return " ".join(text.split()) or type(exc).__name__


@asynccontextmanager
async def open_database(
    uri: str, database: str, *, timeout: float = CONNECT_TIMEOUT
) -> AsyncIterator[AsyncDatabase[Any]]:
    """Connect to ``uri``, ping it, yield ``database``, close the client afterwards.

    Waits at most ``timeout`` seconds for a server. Raises ``ConfigError`` for a
    malformed URI or database name and ``DatabaseError`` (masked URI, cause) when no
    server answers.
    """
    check_mongo_uri(uri)
    masked = mask_uri(uri)
    if not database or any(ch in database for ch in '/\\. "$\0'):
        raise ConfigError(f"--database: invalid database name {database!r}")
    millis = max(1, int(timeout * 1000))
    try:
        client: AsyncMongoClient[Any] = AsyncMongoClient(
            uri, serverSelectionTimeoutMS=millis, connectTimeoutMS=millis, tz_aware=True
        )
    except (ConfigurationError, ValueError, TypeError) as exc:
        raise ConfigError(
            f"--mongo-uri {masked}: {safe_detail(describe_error(exc), uri)}"
        ) from None
    try:
        try:
            await client.admin.command("ping")
        except PyMongoError as exc:
            raise DatabaseError(
                f"cannot reach MongoDB at {masked} within {timeout:g}s:"
                f" {safe_detail(describe_error(exc), uri)}"
            ) from None
        logger.debug("connected to %s, database %s", masked, database)
        yield client[database]
    finally:
        await client.close()
