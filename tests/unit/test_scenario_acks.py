"""Ack headlines: the first line names what was expected and what arrived, whatever matcher
spelled the expectation."""

from __future__ import annotations

from typing import Any

import pytest

from harness.scenario.acks import ack_headline, expected_codes, expected_kind
from harness.scenario.matchers import match

WHO = "ide ide (user u)"
REFUSED = {"ok": False, "error": "drone-offline", "message": "no live connection"}


@pytest.mark.parametrize(("expected", "kind"), [
    ({"ok": True}, "ok"),
    ({"$exact": {"ok": True}}, "ok"),                       # was read as "a refusal"
    ({"$exact": {"ok": False, "error": "x", "message": {"$type": "string"}}}, "refused"),
    ({"error": "forbidden"}, "refused"),
    ({"$one_of": [{"ok": True}, {"ok": False, "error": "x"}]}, None),
    ({"$one_of": [{"ok": False, "error": "a"}, {"error": "b"}]}, "refused"),
    ({"$any": True}, None),
    ({"$subset": {"ok": True}, "$capture": "ack"}, "ok"),
    ({"workOrderId": {"$type": "objectid"}}, None),
])
def test_the_expected_kind_is_read_from_the_ok_field_not_the_spelling(
        expected: Any, kind: str | None) -> None:
    assert expected_kind(expected) == kind


def test_expected_codes_collect_plain_and_alternative_codes() -> None:
    assert expected_codes({"ok": False, "error": {"$one_of": ["invalid-payload",
                                                              "invalid-id"]}}) == \
        ["invalid-payload", "invalid-id"]
    assert expected_codes({"$one_of": [{"error": "forbidden"}, {"$exact": {"error": "x"}}]}) \
        == ["forbidden", "x"]


@pytest.mark.parametrize(("expected", "answer", "headline"), [
    ({"$exact": {"ok": True}}, REFUSED,
     f"the ack of submitPrompt from {WHO}: expected ok, got refused 'drone-offline' "
     "('no live connection')"),
    ({"ok": False, "error": "not-locked"}, {"ok": True, "workOrderId": "w"},
     f"the ack of submitPrompt from {WHO}: expected refused 'not-locked', got ok "
     '{"ok": true, "workOrderId": "w"}'),
    ({"ok": False, "error": {"$one_of": ["not-locked", "forbidden"]}}, REFUSED,
     f"the ack of submitPrompt from {WHO}: expected refused 'not-locked' or 'forbidden', got "
     "refused 'drone-offline' ('no live connection')"),
    ({"ok": True, "workOrderId": {"$type": "objectid"}}, {"ok": True},
     f"the ack of submitPrompt from {WHO} did not match: at workOrderId: expected "
     '{"$type": "objectid"}, got nothing (missing)'),
    ({"ok": True}, None,
     f"the ack of submitPrompt from {WHO}: expected ok, got no payload (not an ack object)"),
    ({"$exact": {"ok": True}}, {"ok": True, "extra": 1},
     f"the ack of submitPrompt from {WHO} did not match: at extra: expected no such key, "
     "got 1"),
])
def test_headlines_name_the_actual_mismatch(expected: Any, answer: Any,
                                           headline: str) -> None:
    result = match(expected, answer)
    assert not result.ok
    assert ack_headline("submitPrompt", WHO, expected, answer, result.mismatches) == headline
