"""Small text helpers every layer shares, each defined once.

    clip(text, width)   a line cut to ``width`` characters, the cut marked
    short(value)        a value as one line of JSON (its repr when not JSON), clipped
    plain(document)     a database document as plain JSON data: ObjectId -> hex,
                        datetime -> RFC 3339 (``timestamp`` picks the form)

URIs are masked in one place too: ``harness.uri.mask_uri``.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from typing import Any

from bson import ObjectId

__all__ = ["clip", "plain", "short"]


def clip(text: str, width: int, mark: str = "...") -> str:
    """``text`` cut to ``width`` characters ending in ``mark`` (no cut when ``width`` <= 0)."""
    return text if width <= 0 or len(text) <= width else text[: width - len(mark)] + mark


def short(value: Any, limit: int = 80, *, sort_keys: bool = True) -> str:
    """``value`` as one line of JSON (its repr when it is not JSON), clipped to ``limit``."""
    try:
        text = json.dumps(value, sort_keys=sort_keys, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return clip(text, limit)


def _isoformat(moment: datetime.datetime) -> str:
    return moment.isoformat()


def plain(value: Any,
          timestamp: Callable[[datetime.datetime], str] = _isoformat) -> Any:
    """``value`` (a document, list or scalar) with every ObjectId as its hex string and every
    datetime as ``timestamp(datetime)``, at any depth; everything else as it is."""
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, datetime.datetime):
        return timestamp(value)
    if isinstance(value, dict):
        return {k: plain(v, timestamp) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v, timestamp) for v in value]
    return value
