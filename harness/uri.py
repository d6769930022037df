"""MongoDB URI helpers shared by every part that names a URI in a message."""

from __future__ import annotations

import re

_CREDENTIALS = re.compile(r"^(mongodb(?:\+srv)?://)([^@/]+)@")


def mask_uri(uri: str) -> str:
    """``uri`` with its password replaced by ``***`` (the user name stays, for diagnosis)."""
    def _mask(match: re.Match[str]) -> str:
        user = match.group(2).split(":", 1)[0]
        return f"{match.group(1)}{user}:***@"

    return _CREDENTIALS.sub(_mask, uri)
