"""The reason code of a connect_error: the text around it is free (contract 11.9)."""

from __future__ import annotations

import pytest

from harness.sim import ConnectRefused
from harness.sim.errors import refusal_reason


@pytest.mark.parametrize(("message", "reason"), [
    ("auth-denied", "auth-denied"),
    ("connection refused (auth-denied): wrong token", "auth-denied"),
    ("auth-unknown: no such registration", "auth-unknown"),
    ("refused", "refused"),                                   # names no reason: kept whole
    ("auth-denied or auth-invalid?", "auth-denied or auth-invalid?"),   # ambiguous: whole
    ("not-auth-denied-x", "not-auth-denied-x"),               # only as a word
])
def test_the_reason_is_the_code_the_message_names(message: str, reason: str) -> None:
    assert refusal_reason(message) == reason


def test_the_error_keeps_the_code_and_the_whole_message() -> None:
    error = ConnectRefused("ide", "auth-denied", "connection refused (auth-denied): bad")
    assert error.reason == "auth-denied"
    assert error.message == "connection refused (auth-denied): bad"
    assert str(error) == ("ide: the relay refused the connection: auth-denied "
                          "('connection refused (auth-denied): bad')")
    assert str(ConnectRefused("ide", "auth-denied")) == \
        "ide: the relay refused the connection: auth-denied"
