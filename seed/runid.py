"""Run ids: short, sortable, unique per seeding run, e.g. ``run-20261126T071500Z-3f9a1c``."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime
from typing import Final

from harness.errors import SpecError

RUN_ID_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
_GENERATED: Final = re.compile(r"^run-(\d{8}T\d{6}Z)-[0-9a-f]+$")
_TIME_FORMAT: Final = "%Y%m%dT%H%M%SZ"


def new_run_id(now: datetime | None = None) -> str:
    """A fresh run id: ``run-`` + UTC time to the second + 6 random hex digits."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"run-{moment.strftime(_TIME_FORMAT)}-{secrets.token_hex(3)}"


def is_run_id(value: object) -> bool:
    """True when ``value`` is a run id: 1-64 of ``[A-Za-z0-9._:-]`` starting alphanumeric."""
    return isinstance(value, str) and RUN_ID_PATTERN.fullmatch(value) is not None


def check_run_id(run_id: object, *, what: str = "run id") -> str:
    """Return ``run_id`` if it is 1-64 of ``[A-Za-z0-9._:-]`` starting alphanumeric.

    Raises ``SpecError`` naming ``what`` otherwise.
    """
    if not isinstance(run_id, str) or not is_run_id(run_id):
        raise SpecError(
            f"{what} {run_id!r}: must be 1 to 64 letters, digits, '.', '_', ':' or '-',"
            " starting with a letter or digit"
        )
    return run_id


def run_tag(run_id: str) -> str:
    """Eight hex digits derived from the run id, put into emails, slugs and hostnames."""
    return hashlib.sha256(run_id.encode()).hexdigest()[:8]


def run_time(run_id: str) -> datetime | None:
    """The creation time encoded in a generated run id, or None for any other id."""
    match = _GENERATED.fullmatch(run_id)
    if match is None:
        return None
    try:
        return datetime.strptime(match.group(1), _TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None
