"""Content hashes that name images, and the inputs they cover."""

from __future__ import annotations

from pathlib import Path

from harness.images.base import BaseRecipe
from harness.images.hashing import (
    TAG_LENGTH,
    constraints_text,
    content_hash,
    pinned_dependencies,
    requirement_name,
    source_files,
)


def test_hash_is_short_stable_and_order_independent() -> None:
    first = content_hash({"a": b"1", "b": "2"})
    assert first == content_hash({"b": "2", "a": b"1"})
    assert len(first) == TAG_LENGTH and int(first, 16) >= 0


def test_hash_changes_with_content_and_with_names() -> None:
    base = content_hash({"a": b"1", "b": b"2"})
    assert content_hash({"a": b"1", "b": b"3"}) != base
    assert content_hash({"a": b"1", "c": b"2"}) != base
    # Length-prefixed: moving bytes between a name and its content changes the hash.
    assert content_hash({"ab": b"c"}) != content_hash({"a": b"bc"})


def test_source_files_skip_caches_and_compiled_files(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "__pycache__").mkdir(parents=True)
    (package / "mod.py").write_text("x = 1\n")
    (package / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"\0")
    (package / "data.json").write_text("{}")
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    files = source_files(tmp_path, ["pkg"], ["pyproject.toml", "missing.md"])
    assert sorted(files) == ["pkg/data.json", "pkg/mod.py", "pyproject.toml"]
    before = content_hash(files)
    (package / "mod.py").write_text("x = 2\n")
    assert content_hash(source_files(tmp_path, ["pkg"], ["pyproject.toml"])) != before


def test_requirement_names_are_normalized_and_extras_skipped() -> None:
    assert requirement_name("python-socketio[asyncio_client]>=5.11,<6") == "python-socketio"
    assert requirement_name("Typing_Extensions>=4; python_version<'3.13'") == (
        "typing-extensions")
    assert requirement_name("pytest>=8; extra == 'dev'") is None


def test_pins_follow_runtime_dependencies_not_extras() -> None:
    from importlib.metadata import version

    pins = pinned_dependencies("gadget-harness")
    assert pins["pymongo"] == version("pymongo")
    assert "dnspython" in pins  # a dependency of a dependency
    assert "pytest" not in pins and "gadget-harness" not in pins
    assert f"pymongo=={version('pymongo')}\n" in constraints_text(pins)


def test_base_tag_depends_on_packages_not_their_order() -> None:
    one = BaseRecipe(packages=("python3", "python3-venv"))
    assert one.tag == BaseRecipe(packages=("python3-venv", "python3")).tag
    assert one.tag != BaseRecipe(packages=("python3",)).tag
    assert one.tag != BaseRecipe(suite="trixie", packages=one.packages).tag
    assert one.tag.startswith("gadget-harness/base:bookworm-")
