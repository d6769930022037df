"""The relay's JSON codec answers exactly as the standard library's ``json`` does."""

from __future__ import annotations

import dataclasses
import datetime
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.relay import jsoncodec

COMPACT = {"separators": (",", ":")}

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-2**80, 2**80),
                    st.floats(), st.text(st.characters(exclude_categories=[]), max_size=20))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.text(st.characters(exclude_categories=[]), max_size=8), inner,
                        max_size=5)),
    max_leaves=20)


def _same(got: str, expected: str) -> None:
    # Equal values (NaN included) print equal in json's own words.
    assert json.dumps(json.loads(got)) == json.dumps(json.loads(expected))


@given(values)
def test_dumps_writes_the_value_json_writes(value: Any) -> None:
    _same(jsoncodec.dumps(value, **COMPACT), json.dumps(value, **COMPACT))


@given(values, st.booleans())
def test_loads_reads_the_value_json_reads(value: Any, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert json.dumps(jsoncodec.loads(text)) == json.dumps(json.loads(text))


@given(st.text(max_size=40))
def test_loads_refuses_what_json_refuses(text: str) -> None:
    try:
        expected = json.dumps(json.loads(text))
    except ValueError:
        with pytest.raises(ValueError):
            jsoncodec.loads(text)
    else:
        assert json.dumps(jsoncodec.loads(text)) == expected


@pytest.mark.parametrize("text", ['"\\ud800"', "NaN", "[-Infinity]", "1e400",
                                  str(2**70), str(-2**63 - 1), "[" * 600 + "]" * 600])
def test_loads_gives_json_values_where_orjson_differs(text: str) -> None:
    assert repr(jsoncodec.loads(text)) == repr(json.loads(text))


@pytest.mark.parametrize("value", [float("nan"), [1, {"a": float("-inf")}], 2**64, "\udc80",
                                   {1: "a"}, [[[[[[]]]]]] * 3])
def test_dumps_gives_json_text_where_orjson_differs(value: Any) -> None:
    assert jsoncodec.dumps(value, **COMPACT) == json.dumps(value, **COMPACT)


@dataclasses.dataclass
class _Point:
    x: int


@pytest.mark.parametrize("value", [datetime.datetime.now(datetime.UTC), _Point(1), {1, 2}])
def test_dumps_refuses_what_json_refuses(value: Any) -> None:
    with pytest.raises(TypeError):
        jsoncodec.dumps({"value": value}, **COMPACT)


def test_other_dumps_calls_are_json_calls() -> None:
    value = {"message": "é", "n": [1, 2]}
    assert jsoncodec.dumps(value) == json.dumps(value)
    assert jsoncodec.dumps(value, indent=2) == json.dumps(value, indent=2)
    assert jsoncodec.dumps(value, **COMPACT) == '{"message":"é","n":[1,2]}'
