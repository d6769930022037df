"""Commands: the ``harness`` subcommands, the top layer. Each module imports the engines it
drives; nothing below imports a command. ``harness.cli`` loads them lazily from ``COMMANDS``.

    options.py    click options shared by every command (``GADGET_*`` defaults)
    relay.py      ``harness relay``              mongowire.py  ``harness mongo-standin``
    env.py        ``harness up`` / ``down``      seed.py       ``harness seed ...``
    scenario.py   ``harness run`` / ``validate`` report.py     ``harness show``
    selftest.py   ``harness selftest``           load.py       ``harness load``
    bench.py      ``harness bench``              images.py     ``harness images ...``
    explore.py    ``harness explore``            record.py     ``harness record``
    replay.py     ``harness scenario from-trace``
    compare.py    ``harness compare``

The layers, top to bottom, are stated in ``pyproject.toml`` (``[tool.importlinter]``),
drawn in ``README.md`` (Layout) and held by ``tests/unit/test_import_layers.py``.
"""

from __future__ import annotations

__all__ = ["COMMANDS"]

COMMANDS: dict[str, str] = {
    "relay": "harness.commands.relay:relay_command",
    "up": "harness.commands.env:up_command",
    "down": "harness.commands.env:down_command",
    "seed": "harness.commands.seed:seed_group",
    "run": "harness.commands.scenario:run_command",
    "explore": "harness.commands.explore:explore_command",
    "validate": "harness.commands.scenario:validate_command",
    "mongo-standin": "harness.commands.mongowire:mongowire_command",
    "images": "harness.commands.images:images_group",
    "show": "harness.commands.report:show_command",
    "selftest": "harness.commands.selftest:selftest_command",
    "load": "harness.commands.load:load_command",
    "locust": "harness.commands.locust:locust_command",
    "bench": "harness.commands.bench:bench_command",
    "scenario": "harness.commands.replay:scenario_group",
    "record": "harness.commands.record:record_command",
    "compare": "harness.commands.compare:compare_command",
}
"""Subcommand name -> ``module:attribute`` of its click command, imported only when used."""
