"""Redaction and payload shaping: nothing secret reaches a recording, and payloads can be cut.

A secret becomes ``<redacted:XXXXXXXX>``, ``XXXXXXXX`` the first 8 hex digits of
HMAC-SHA256 under a key drawn afresh for each recording: the same secret gets the same
fingerprint within one recording (two users stay apart) and the fingerprint means nothing
outside it. What counts as a secret: the value of any key matching ``token``, ``secret``,
``password``, ``apikey`` (``api_key``, ``api-key``) or ``authorization`` (any case,
anywhere in a key), in auth payloads, event payloads, query strings and headers; every
cookie value; the password of a URL. ``Bearer T`` keeps its scheme: ``Bearer <redacted:...>``.

Shaping (``--payloads``) comes after redaction: ``full`` keeps payloads as they are,
``truncate`` cuts strings longer than ``max_chars``, ``hash`` replaces every string that is
not a 24-hex id (nor a redaction mark) by ``sha256:<16 hex>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["PAYLOAD_MODES", "PayloadMode", "Redactor", "Shaper", "binary_json"]

PayloadMode = Literal["full", "truncate", "hash"]
PAYLOAD_MODES: tuple[PayloadMode, ...] = ("full", "truncate", "hash")

_SECRET_KEY = re.compile(r"token|secret|password|api[-_]?key|authorization", re.IGNORECASE)
_OBJECT_ID = re.compile(r"^[0-9a-fA-F]{24}$")
_MARK = "<redacted:"
_COOKIE_HEADERS = ("cookie", "set-cookie")


def binary_json(data: bytes) -> dict[str, Any]:
    """A binary attachment as JSON: its size and its bytes in base64."""
    return {"_binary": len(data), "base64": base64.b64encode(data).decode("ascii")}


class Redactor:
    """Replaces secrets by per-recording fingerprints (see the module docstring)."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key is not None else os.urandom(32)

    def fingerprint(self, value: Any) -> str:
        """``<redacted:XXXXXXXX>`` for ``value`` (its text, for a non-string)."""
        text = value if isinstance(value, str) else repr(value)
        digest = hmac.new(self._key, text.encode("utf-8"), hashlib.sha256).hexdigest()
        return f"{_MARK}{digest[:8]}>"

    def secret(self, value: Any) -> Any:
        """A secret's stand-in; ``Bearer T`` keeps its scheme; None stays None."""
        if value is None:
            return None
        if isinstance(value, str) and _MARK in value:
            return value  # already redacted (a header shown twice)
        if isinstance(value, str):
            scheme, _, rest = value.partition(" ")
            if rest and scheme.lower() in ("bearer", "basic", "token"):
                return f"{scheme} {self.fingerprint(rest.strip())}"
        return self.fingerprint(value)

    def value(self, data: Any) -> Any:
        """``data`` (any JSON-like value) with every secret-named key's value redacted."""
        if isinstance(data, Mapping):
            return {key: self.secret(item) if _SECRET_KEY.search(str(key)) else self.value(item)
                    for key, item in data.items()}
        if isinstance(data, list | tuple):
            return [self.value(item) for item in data]
        return data

    def query(self, query: str) -> str:
        """A query string with secret-named parameters redacted (order kept)."""
        if not query:
            return query
        pairs = parse_qsl(query, keep_blank_values=True)
        return urlencode([(k, self.secret(v) if _SECRET_KEY.search(k) else v)
                          for k, v in pairs], safe="<>:/")

    def path_qs(self, path_qs: str) -> str:
        """``/path?query`` with the query redacted."""
        path, sep, query = path_qs.partition("?")
        return path + sep + self.query(query) if sep else path

    def url(self, url: str) -> str:
        """A URL with its password and secret query parameters masked."""
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, host = netloc.rpartition("@")
            user = userinfo.partition(":")[0]
            netloc = f"{user}:***@{host}" if ":" in userinfo else f"***@{host}"
        return urlunsplit((parts.scheme, netloc, parts.path, self.query(parts.query),
                           parts.fragment))

    def cookies(self, header: str, *, set_cookie: bool = False) -> str:
        """A ``Cookie`` value with every cookie's value redacted; for ``Set-Cookie`` the
        first pair only (the attributes after it, Path or Expires, stay)."""
        out = []
        for index, part in enumerate(header.split(";")):
            name, eq, value = part.partition("=")
            redact = eq and (index == 0 or not set_cookie)
            out.append(f"{name}={self.fingerprint(value.strip())}" if redact else part)
        return ";".join(out)

    def headers(self, headers: Iterable[tuple[str, str]]) -> dict[str, str]:
        """Headers as a dict (repeated names joined by ``, ``), secrets redacted."""
        shown: dict[str, str] = {}
        for name, value in headers:
            lower = name.lower()
            if lower in _COOKIE_HEADERS:
                value = self.cookies(value, set_cookie=lower == "set-cookie")
            elif _SECRET_KEY.search(name):
                value = str(self.secret(value))
            shown[name] = f"{shown[name]}, {value}" if name in shown else value
        return shown


@dataclass(frozen=True)
class Shaper:
    """Applies the ``--payloads`` choice to a (redacted) value."""

    mode: PayloadMode = "full"
    max_chars: int = 200

    def __call__(self, data: Any) -> Any:
        if self.mode == "full":
            return data
        return self._shape(data)

    def _shape(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            return {key: self._shape(item) for key, item in data.items()}
        if isinstance(data, list | tuple):
            return [self._shape(item) for item in data]
        if isinstance(data, str):
            return self._string(data)
        return data

    def _string(self, text: str) -> str:
        if self.mode == "truncate":
            if len(text) <= self.max_chars:
                return text
            return f"{text[: self.max_chars]}…(+{len(text) - self.max_chars} chars)"
        if _OBJECT_ID.match(text) or text.startswith(_MARK):
            return text
        return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
