"""Password masking in MongoDB URIs."""

from __future__ import annotations

import pytest

from harness.uri import mask_uri


@pytest.mark.parametrize(("uri", "masked"), [
    ("mongodb://u:secret@h:27017/db", "mongodb://u:***@h:27017/db"),
    ("mongodb+srv://u:p%40ss@cluster.example/db", "mongodb+srv://u:***@cluster.example/db"),
    ("mongodb://h:27017", "mongodb://h:27017"),
    ("mongodb://onlyuser@h", "mongodb://onlyuser:***@h"),
])
def test_mask_uri(uri: str, masked: str) -> None:
    assert mask_uri(uri) == masked
    assert "secret" not in mask_uri(uri)
