"""Payload matchers: each operator matching and mismatching, with the reported paths."""

from __future__ import annotations

from typing import Any

import pytest

from harness.scenario.matchers import check, match

OID = "0123456789abcdef01234567"


@pytest.mark.parametrize(("expected", "actual"), [
    ({"ok": True}, {"ok": True, "extra": 1}),                       # mappings are subsets
    ([1, {"a": 1}], [1, {"a": 1, "b": 2}]),                         # lists element-wise
    ({"$exact": {"ok": True, "n": {"$type": "integer"}}}, {"ok": True, "n": 3}),
    ({"$subset": [{"a": 1}]}, [{"b": 2}, {"a": 1, "c": 3}]),         # any item, any order
    ({"$regex": "^wo=[0-9a-f]+"}, "wo=abc seq=1"),
    ({"$type": "objectid"}, OID),
    ({"$type": ["string", "null"]}, None),
    ({"$type": "number"}, 1.5),
    ({"$any": True}, {"whatever": [1]}),
    ({"$len": 3}, [1, 2, 3]),
    ({"$len": {"min": 1, "max": 2}}, "ab"),
    ({"gone": {"$absent": True}}, {"other": 1}),
    (1, 1.0),
    ({"$one_of": [{"ok": True}, {"error": "forbidden"}]}, {"ok": False, "error": "forbidden"}),
    ({"$one_of": ["invalid-payload", "invalid-id"]}, "invalid-id"),
    ({"$rfc3339": True}, "2025-01-01T10:00:00Z"),
    ({"$rfc3339": True}, "2025-01-01T10:00:00.123456+00:00"),
    ({"$rfc3339": True}, "2024-02-29t23:59:60.5-07:30"),               # leap day, leap second
    ({"$with_id": OID}, {"id": OID, "prompt": "x"}),
    ({"wo": {"$one_of": [None, {"$absent": True}]}}, {"ok": True}),
    ({"wo": {"$one_of": [None, {"$absent": True}]}}, {"wo": None}),
    ({"$with_id": OID}, {"_id": OID}),
    ({"$with_id": {"$type": "objectid"}, "$subset": {"status": "running"}},
     {"_id": OID, "status": "running", "extra": 1}),
])
def test_matches(expected: Any, actual: Any) -> None:
    assert match(expected, actual).ok


@pytest.mark.parametrize(("expected", "actual", "problem"), [
    ({"ok": True}, {"ok": False}, "at ok: expected true, got false"),
    ({"ok": True}, {}, "at ok: expected true, got nothing (missing)"),
    ({"a": {"b": [1, 2]}}, {"a": {"b": [1, 3]}}, "at a.b[1]: expected 2, got 3"),
    ([1, 2], [1], "at value: expected a list of 2 items (got 1), got [1]"),
    ({"$exact": {"ok": True}}, {"ok": True, "x": 1}, "at x: expected no such key, got 1"),
    ({"$regex": "^a"}, "ba", 'at value: expected a string matching /^a/, got "ba"'),
    ({"$regex": "a"}, 5, "at value: expected a string matching /a/, got 5"),
    ({"$type": "integer"}, True, "at value: expected integer, got true"),
    ({"$type": "objectid"}, "xyz", 'at value: expected objectid, got "xyz"'),
    ({"$len": 2}, [1], "at value: expected length 2 (got 1), got [1]"),
    ({"k": {"$absent": True}}, {"k": 0}, "at k: expected no such key, got 0"),
    ({"$subset": [{"a": 2}]}, [{"a": 1}], 'at value: expected an item matching {"a": 2}, '
                                          'got [{"a": 1}]'),
    (True, 1, "at value: expected true, got 1"),
    ({"seq": 0}, "text", 'at value: expected a mapping, got "text"'),
    ({"$one_of": ["a", {"$type": "integer"}]}, "b",
     'at value: expected one of "a" | {"$type": "integer"}, got "b"'),
    ({"$rfc3339": True}, "2025-01-01 10:00:00",                       # no offset
     'at value: expected an RFC 3339 date-time (e.g. 2025-01-01T10:00:00Z), '
     'got "2025-01-01 10:00:00"'),
    ({"$rfc3339": True}, "2025-02-30T10:00:00Z",
     'at value: expected an RFC 3339 date-time (e.g. 2025-01-01T10:00:00Z), '
     'got "2025-02-30T10:00:00Z"'),
    ({"$rfc3339": True}, 20250101,
     "at value: expected an RFC 3339 date-time (e.g. 2025-01-01T10:00:00Z), got 20250101"),
    ({"wo": {"$one_of": [None, {"$absent": True}]}}, {"wo": {"id": 1}},
     'at wo: expected one of null | {"$absent": true}, got {"id": 1}'),
    ({"$with_id": OID}, {"prompt": "x"},
     f'at id: expected an id under id or _id: "{OID}", got nothing (missing)'),
    ({"$with_id": OID}, {"id": "ffffffffffffffffffffffff"},
     f'at id: expected "{OID}", got "ffffffffffffffffffffffff"'),
])
def test_mismatches_name_the_path_expected_and_actual(expected: Any, actual: Any,
                                                      problem: str) -> None:
    result = match(expected, actual)
    assert not result.ok
    assert [str(m) for m in result.mismatches] == [problem]


def test_every_mismatch_is_reported() -> None:
    result = match({"a": 1, "b": {"$type": "string"}}, {"a": 2, "b": 3})
    assert [m.path for m in result.mismatches] == ["a", "b"]


def test_captures_only_when_the_whole_match_succeeds() -> None:
    good = match({"ok": True, "id": {"$type": "objectid", "$capture": "wo"}},
                 {"ok": True, "id": OID})
    assert good.captures == {"wo": OID}
    bad = match({"ok": True, "id": {"$capture": "wo"}}, {"ok": False, "id": OID})
    assert not bad.ok
    assert bad.captures == {}


def test_one_of_captures_from_the_alternative_that_matched() -> None:
    result = match({"$one_of": [{"id": {"$capture": "a"}, "x": 1},
                                {"_id": {"$capture": "b"}}]}, {"_id": OID})
    assert result.captures == {"b": OID}


def test_check_reports_malformed_matchers_with_their_path() -> None:
    assert check({"a": [{"$regex": "("}], "b": {"$capture": "1x"}, "c": {"$any": False}}) == [
        ("a[0]", "$regex: invalid regular expression: missing ), unterminated subpattern "
                 "at position 0"),
        ("b", "$capture: needs a name (letters, digits, _)"),
        ("c", "$any: write true"),
    ]
    assert check({"$subset": {"x": {"$nope": 1}}}) == [
        ("x", "unknown matcher '$nope'; allowed: $exact, $subset, $regex, $type, $any, $len, "
              "$absent, $capture, $one_of, $rfc3339, $with_id")]
    assert check({"a": {"$one_of": ["only"]}, "b": {"$rfc3339": "yes"},
                  "c": {"$one_of": [1, {"$nope": 2}]}}) == [
        ("a", "$one_of: needs a list of at least two alternatives"),
        ("b", "$rfc3339: write true"),
        ("c", "unknown matcher '$nope'; allowed: $exact, $subset, $regex, $type, $any, $len, "
              "$absent, $capture, $one_of, $rfc3339, $with_id")]
    assert check({"plain": {"nested": [1, "two"]}}) == []
