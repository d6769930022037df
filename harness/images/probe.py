"""Container healthchecks: ``python -m harness.images.probe http URL | mongo HOST:PORT``.

Exits 0 when the target answers (HTTP 200 with ``{"ok": true}``, or a MongoDB ``ping``),
1 otherwise with one line on stderr saying why. Standard library plus pymongo only, so it
starts fast enough to run every couple of seconds.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence

_USAGE = "usage: python -m harness.images.probe http URL | mongo HOST:PORT"


def probe_http(url: str, timeout: float = 2.0) -> str | None:
    """None when ``url`` answers 200 ``{"ok": true}``, else what was wrong."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = json.loads(response.read() or b"null")
            if response.status == 200 and isinstance(body, dict) and body.get("ok") is True:
                return None
            return f"HTTP {response.status} {body!r}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"


def probe_mongo(address: str, timeout: float = 2.0) -> str | None:
    """None when the MongoDB server at ``HOST:PORT`` answers a ping, else what was wrong."""
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return f"expected HOST:PORT, got {address!r}"
    millis = int(timeout * 1000)
    client: MongoClient[dict[str, object]] = MongoClient(
        host, int(port), directConnection=True, serverSelectionTimeoutMS=millis,
        connectTimeoutMS=millis)
    try:
        client.admin.command("ping")
        return None
    except PyMongoError as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        client.close()


def main(argv: Sequence[str]) -> int:
    """Run one probe; 0 healthy, 1 unhealthy, 2 usage error."""
    if len(argv) != 2 or argv[0] not in ("http", "mongo"):
        sys.stderr.write(_USAGE + "\n")
        return 2
    problem = probe_http(argv[1]) if argv[0] == "http" else probe_mongo(argv[1])
    if problem is not None:
        sys.stderr.write(f"unhealthy: {problem}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
