"""Imports run downward and never in a circle: ``lint-imports`` over the tree, with the
contracts of ``[tool.importlinter]`` in ``pyproject.toml`` (function-level and
TYPE_CHECKING imports count). A broken contract fails with import-linter's report."""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import harness

REPO = Path(__file__).resolve().parents[2]
_LINT = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def _contracts() -> list[dict[str, object]]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    contracts: list[dict[str, object]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def test_imports_keep_the_layers_and_make_no_cycles() -> None:
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    done = subprocess.run([sys.executable, "-c", _LINT, "--no-cache"], cwd=REPO,
                          env={**os.environ, "PYTHONPATH": path}, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout, done.stdout


def test_every_top_level_module_of_harness_has_a_layer() -> None:
    (layers,) = [c["layers"] for c in _contracts() if c.get("type") == "layers"]
    assert isinstance(layers, list)
    placed = {name.strip() for layer in layers for name in str(layer).split("|")}
    ours = {f"harness.{m.name}" for m in pkgutil.iter_modules(harness.__path__)}
    assert ours - placed == set(), "give these a layer in pyproject.toml [tool.importlinter]"
