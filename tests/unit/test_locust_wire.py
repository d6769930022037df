"""The JSON lines between a Locust process and its agent: a bad line or pair is one error
naming where it came from and the field, never a traceback."""

from __future__ import annotations

import pytest

from harness.errors import ConfigError
from harness.load.config import Pair
from harness.locust.wire import decode, encode, pair_from_dict, pair_to_dict

PAIR = Pair(3, "u" * 24, "c" * 24, "r" * 24, "user-token", "drone-token")


def test_a_message_round_trips_as_one_line() -> None:
    line = encode({"op": "start", "id": 1, "pair": pair_to_dict(PAIR)})
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert pair_from_dict(decode(line, "test")["pair"], "test") == PAIR


@pytest.mark.parametrize(("line", "message"), [
    (b"{not json\n", "agent: request: not a JSON line"),
    (b"[1, 2]\n", "agent: request: expected a JSON object, got"),
])
def test_a_bad_line_is_named(line: bytes, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        decode(line, "agent: request")


@pytest.mark.parametrize(("field", "value"), [
    ("index", "3"), ("index", True), ("user_token", None), ("registration_id", 7)])
def test_a_bad_pair_names_its_field(field: str, value: object) -> None:
    data = {**pair_to_dict(PAIR), field: value}
    with pytest.raises(ConfigError, match=rf"^start of user u1: pair\.{field}: expected "):
        pair_from_dict(data, "start of user u1")


def test_a_pair_that_is_not_an_object_is_named() -> None:
    with pytest.raises(ConfigError, match=r"^here: pair: expected an object$"):
        pair_from_dict([1], "here")
