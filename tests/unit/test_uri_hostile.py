"""Issue 13, findings 5 and 6: hostile MongoDB URIs and durations give one line, exit 2,
and never a part of a password.

Finding 5: ``mask_uri`` printed ``mongodb://user:pa/ss@host/`` in full, showed
``user:***@ss@...`` for ``p@ss``, and the seed CLI replaced every ``p`` of its message with
``***``; ``MONGODB://`` was not masked at all. Two masking functions had different rules.
Finding 6: a malformed ``--mongo-uri`` (unescaped ``@`` or ``/``, port 99999) and
``seed gc --older-than 99999999999w`` ended in a traceback.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from _harness_cli import REPO, run_harness
from click.testing import CliRunner

import harness.uri
from harness.commands.seed import seed_group
from harness.errors import ConfigError
from harness.uri import mask_uri

# The reporter's three URIs, their passwords, and what a message may show of them.
REPORTED = [
    ("mongodb://user:pa/ss@host/", "pa/ss", "mongodb://user:***@host/"),
    ("mongodb://user:p@ss@host/", "p@ss", "mongodb://user:***@host/"),
    ("MONGODB://user:hunter2@host/", "hunter2", "MONGODB://user:***@host/"),
]
# Finding 6: a URI pymongo cannot parse, each with its password (or None).
MALFORMED = [
    ("mongodb://user:p@ss@127.0.0.1/", "p@ss"),
    ("mongodb://user:pa/ss@127.0.0.1/", "pa/ss"),
    ("mongodb://user:s3cret@127.0.0.1:99999/", "s3cret"),
]
# Any attempt to connect here is refused: a refusal must come before it.
NOWHERE = "mongodb://127.0.0.1:9/"
ONE_SCENARIO = str(REPO / "scenarios" / "termination" / "no-answer.scenario.yaml")


def _one_line_error(result: subprocess.CompletedProcess[str], *,
                    secret: str | None = None) -> str:
    """The single line of a refused command: exit 2, ``error: ``, no traceback."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    err = result.stderr
    assert "Traceback" not in err + result.stdout, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    if secret is not None:
        assert secret not in err + result.stdout
    return lines[0]


@pytest.mark.parametrize(("uri", "password", "shown"), REPORTED)
def test_mask_uri_hides_the_reported_passwords(uri: str, password: str, shown: str) -> None:
    masked = mask_uri(uri)
    assert masked == shown
    assert password not in masked
    assert "ss@" not in masked  # no tail of a password split at its first '@'


def test_there_is_one_masking_function() -> None:
    from harness.relay import store

    assert store.mask_uri is harness.uri.mask_uri


@pytest.mark.parametrize(("uri", "password", "shown"), REPORTED)
def test_seed_cli_names_the_masked_uri_without_editing_its_message(
        uri: str, password: str, shown: str) -> None:
    result = CliRunner().invoke(seed_group, ["list", "--mongo-uri", uri])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    err = result.stderr
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"error: --mongo-uri {shown}: "), err
    assert password not in err
    # The old scrubber replaced every occurrence of the password in the message: with
    # "p@ss" masked as "p", "Username and password" became "Username and ***assword".
    assert err.count("***") == 1, err


@pytest.mark.parametrize("uri", [
    "mongodb://u:a%zz@h/",                                  # '%' that is not an escape
    "mongodb://admin:hunter2",                              # a password where a port belongs
    "mongodb://u:pw@h/?tlsCertificateKeyFilePassword=k3y-secret&readPreference=nope",
])
def test_check_mongo_uri_quotes_no_secret(uri: str) -> None:
    from harness.uri import check_mongo_uri

    with pytest.raises(ConfigError) as caught:
        check_mongo_uri(uri)
    message = str(caught.value)
    assert message.startswith("--mongo-uri ") and "\n" not in message
    for secret in ("a%zz", "hunter2", "k3y-secret"):
        assert secret not in message


@pytest.fixture(scope="module")
def healthy_relay() -> Iterator[str]:
    """A stand-in relay whose /healthz answers ok: the database is the next thing checked."""

    class Healthy(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"ok": True}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Healthy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("uri", "password"), MALFORMED)
def test_run_external_refuses_a_malformed_mongo_uri_in_one_line(
        uri: str, password: str, healthy_relay: str) -> None:
    result = run_harness("run", ONE_SCENARIO, "--env", "external", "--relay-url", healthy_relay,
                         "--mongo-uri", uri, timeout=60)
    line = _one_line_error(result, secret=password)
    assert line.startswith("error: --mongo-uri mongodb://user:***@127.0.0.1"), line


@pytest.mark.parametrize(("uri", "password"), MALFORMED[:1])
def test_run_external_checks_the_uri_before_the_relay(uri: str, password: str) -> None:
    result = run_harness("run", ONE_SCENARIO, "--env", "external",
                         "--relay-url", "http://127.0.0.1:1", "--mongo-uri", uri, timeout=60)
    line = _one_line_error(result, secret=password)
    assert line.startswith("error: --mongo-uri "), line


@pytest.mark.parametrize(("uri", "password"), MALFORMED)
def test_relay_refuses_a_malformed_mongo_uri_in_one_line(uri: str, password: str) -> None:
    result = run_harness("relay", "--port", "0", "--mongo-uri", uri, timeout=60)
    line = _one_line_error(result, secret=password)
    assert line.startswith("error: --mongo-uri mongodb://user:***@127.0.0.1"), line


def test_relay_refuses_port_99999() -> None:
    result = run_harness("relay", "--port", "0", "--mongo-uri", "mongodb://127.0.0.1:99999/",
                         timeout=60)
    line = _one_line_error(result)
    assert "port 99999" in line and "1 to 65535" in line, line


@pytest.mark.parametrize("duration", ["99999999999w", "9" * 400 + "s", "1000000d"])
def test_seed_gc_refuses_an_overflowing_duration_in_one_line(duration: str) -> None:
    result = run_harness("seed", "gc", "--older-than", duration, "--mongo-uri", NOWHERE,
                         timeout=60)
    line = _one_line_error(result)
    assert line.startswith("error: --older-than: ") and "too long" in line, line

