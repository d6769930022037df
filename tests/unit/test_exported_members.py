"""Every package names its public API in ``__all__``, and exports nothing else by accident."""

from __future__ import annotations
import __future__

import importlib
import types

import pytest

PACKAGES = [
    "harness",
    "harness.bench",
    "harness.commands",
    "harness.env",
    "harness.faults",
    "harness.images",
    "harness.load",
    "harness.mongowire",
    "harness.outcome",
    "harness.record",
    "harness.relay",
    "harness.report",
    "harness.scenario",
    "harness.selftest",
    "harness.sim",
    "seed",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_matches_public_names(name: str) -> None:
    module = importlib.import_module(name)
    exported = {n for n in getattr(module, "__all__", ()) if not n.startswith("_")}
    assert exported, f"{name} has no __all__"
    public = {
        attr for attr, value in vars(module).items()
        if not attr.startswith("_")
        and not isinstance(value, types.ModuleType | __future__._Feature)
    }
    assert public == exported, (
        f"{name}: public but not in __all__: {sorted(public - exported)}; "
        f"in __all__ but missing: {sorted(exported - public)}"
    )
