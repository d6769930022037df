"""The relay's JSON for python-socketio (``AsyncServer(json=...)``): orjson, with stdlib
``json``'s answers.

orjson encodes and decodes several times faster than the standard library, but it answers
differently on a few inputs a client may send; there this module hands over to ``json``, so
the relay reads and writes exactly what it did with ``json`` alone:

    loads  orjson refuses lone surrogates (``"\\ud800"``), ``NaN``/``Infinity`` and numbers
           that overflow a double; it reads integers beyond 64 bits as floats (any run of 19
           digits goes to ``json``); it nests deeper than ``json``'s recursion limit (text
           with many brackets goes to ``json``)
    dumps  orjson refuses lone surrogates, integers beyond 64 bits and keys that are not
           strings, and writes NaN and infinities as ``null`` (``json``: ``NaN``,
           ``Infinity``); datetimes and dataclasses, which ``json`` refuses, are refused

Only compact ``dumps`` (``separators=(",", ":")``, what python-socketio and python-engineio
use for packets) go to orjson; any other call is ``json``'s. python-socketio installs the
codec on its packet classes, so it serves every Socket.IO packet of the process.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final

import orjson

__all__ = ["dumps", "loads"]

_COMPACT: Final = (",", ":")
_OPTIONS: Final = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_LONG_NUMBER: Final = re.compile(r"\d{19}")
# Nested deeper than this, json's recursion limit may refuse what orjson reads.
_MANY_BRACKETS: Final = 500


def loads(text: str | bytes, **kwargs: Any) -> Any:
    """``json.loads``, by orjson where it gives the same value."""
    if (kwargs or not isinstance(text, str) or _LONG_NUMBER.search(text)
            or text.count("[") + text.count("{") > _MANY_BRACKETS):
        return json.loads(text, **kwargs)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)  # json's value, or json's error


def dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps``, by orjson where it gives the same text (compact calls only)."""
    if kwargs.keys() != {"separators"} or tuple(kwargs["separators"]) != _COMPACT:
        return json.dumps(value, **kwargs)
    try:
        encoded = orjson.dumps(value, option=_OPTIONS)
    except TypeError:
        return json.dumps(value, **kwargs)  # json's text, or json's error
    if b"null" in encoded and _has_non_finite(value):
        return json.dumps(value, **kwargs)
    return encoded.decode()


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_has_non_finite(item) for item in value)
    return False
