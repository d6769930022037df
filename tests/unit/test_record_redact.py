"""Redaction and payload shaping of ``harness record`` (pure)."""

from __future__ import annotations

import io
import json

from harness.record import Journal, Redactor, Shaper

KEY = b"k" * 32


def test_secret_named_keys_are_redacted_anywhere_and_stable_within_a_recording() -> None:
    redactor = Redactor(KEY)
    data = {"type": "drone", "token": "tok-A", "nested": [{"apiKey": "k1", "Password": "p"}],
            "registrationId": "a" * 24, "client_secret": 7}
    shown = redactor.value(data)
    assert shown["type"] == "drone" and shown["registrationId"] == "a" * 24
    assert shown["token"].startswith("<redacted:") and len(shown["token"]) == len("<redacted:>") + 8
    assert shown["nested"][0]["apiKey"].startswith("<redacted:")
    assert shown["nested"][0]["Password"].startswith("<redacted:")
    assert shown["client_secret"].startswith("<redacted:")
    assert redactor.value({"token": "tok-A"})["token"] == shown["token"]
    assert redactor.value({"token": "tok-B"})["token"] != shown["token"]
    assert Redactor(b"x" * 32).value({"token": "tok-A"})["token"] != shown["token"]


def test_headers_query_cookies_and_urls() -> None:
    redactor = Redactor(KEY)
    headers = redactor.headers([("Authorization", "Bearer tok-A"), ("Cookie", "sid=abc; x=y"),
                                ("X-Api-Key", "key1"), ("Accept", "application/json")])
    assert headers["Authorization"] == f"Bearer {redactor.fingerprint('tok-A')}"
    assert "abc" not in headers["Cookie"] and headers["Cookie"].startswith("sid=<redacted:")
    assert headers["X-Api-Key"].startswith("<redacted:") and headers["Accept"] == "application/json"
    assert redactor.value(headers) == headers  # redacting twice changes nothing
    query = redactor.path_qs("/p?token=tok-A&EIO=4")
    assert "tok-A" not in query and query.endswith("&EIO=4")
    assert redactor.url("http://u:pw@relay:8080/x?access_token=t") == \
        f"http://u:***@relay:8080/x?access_token={redactor.fingerprint('t')}"


def test_payload_modes() -> None:
    long = "x" * 250
    assert Shaper("full")({"t": long}) == {"t": long}
    assert Shaper("truncate", 200)({"t": long, "n": 3}) == {"t": "x" * 200 + "…(+50 chars)",
                                                            "n": 3}
    hashed = Shaper("hash")({"text": "hello", "id": "b" * 24, "n": 1, "ok": True,
                             "token": "<redacted:12345678>"})
    assert hashed["text"].startswith("sha256:") and len(hashed["text"]) == 7 + 16
    assert hashed["id"] == "b" * 24 and hashed["n"] == 1 and hashed["ok"] is True
    assert hashed["token"] == "<redacted:12345678>"


def test_journal_writes_nothing_secret() -> None:
    out = io.StringIO()
    journal = Journal(out, redactor=Redactor(KEY), shaper=Shaper("hash"))
    journal.record("ide1", "ide", "connect", "connect", auth={"type": "code", "token": "tok-Z"})
    journal.record("ide1", "ide", "sent", "x", {"password": "pw-Z", "text": "secret text"})
    text = out.getvalue()
    assert "tok-Z" not in text and "pw-Z" not in text and "secret text" not in text
    first = json.loads(text.splitlines()[0])
    assert first["meta"]["auth"]["type"] == "code"
