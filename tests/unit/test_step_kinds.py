"""The step registry: every kind defined once, the generated schema and docs current,
shorthands normalised by the loader into one canonical typed argument."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest

from harness.scenario.kinds import REGISTRY, build_schema
from harness.scenario.kinds.__main__ import DOCS, SCHEMA, docs_text, schema_text
from harness.scenario.loader import load_file

FILE = Path("x.scenario.yaml")


def test_the_published_schema_and_the_docs_table_are_generated_from_the_registry() -> None:
    assert SCHEMA.read_text("utf-8") == schema_text(), \
        "schema.json is stale: run python -m harness.scenario.kinds"
    assert DOCS.read_text("utf-8") == docs_text(DOCS.read_text("utf-8")), \
        "docs/scenarios.md's step table is stale: run python -m harness.scenario.kinds"
    for name in REGISTRY:
        assert f"| `{name}` |" in DOCS.read_text("utf-8")


@pytest.mark.parametrize("name", list(REGISTRY))
def test_each_kind_is_complete(name: str) -> None:
    kind = REGISTRY[name]
    assert (kind.handler is None) != (kind.group is None), "a handler or a group runner"
    assert kind.summary and kind.reference
    if kind.args is not None:
        assert dataclasses.is_dataclass(kind.args)
        assert kind.args.__dataclass_params__.frozen  # type: ignore[attr-defined]
    properties = build_schema()["$defs"]["step"]["properties"][name]
    fields = properties.get("properties", {})
    if "$ref" in properties:
        target = properties["$ref"].rsplit("/", 1)[-1]
        fields = build_schema()["$defs"][target]["properties"]
    for field in kind.actors:
        assert field in fields, f"{name}: actor field {field} is not in its schema"
    for path in kind.matchers:
        assert path[0] in fields, f"{name}: matcher field {path[0]} is not in its schema"


def _steps(steps: str) -> list:
    text = textwrap.dedent("""\
        name: s
        actors:
          ide: {ide: {user: 0}}
          d0: {drone: 0}
        steps:
        """) + textwrap.indent(textwrap.dedent(steps), "  ")
    return list(load_file(FILE, text)[0].steps)


def test_shorthands_and_canonical_forms_give_the_same_typed_argument() -> None:
    short = _steps("""\
        - connect: [d0, ide]
        - connect: ide
        - restart: d0
        - expect: {actor: ide, event: droneStatus, payload: {status: online}}
        - disconnect: d0
        - restart_relay:
        """)
    canonical = _steps("""\
        - connect: {actor: [d0, ide]}
        - connect: {actor: [ide]}
        - restart: {actor: d0}
        - expect: {actor: [ide], events: [{event: droneStatus, payload: {status: online}}]}
        - disconnect: {actor: [d0]}
        - restart_relay: {}
        """)
    assert [s.args for s in short] == [s.args for s in canonical]
    assert short[0].args.actor == ("d0", "ide")
    assert short[3].args.events[0].event == "droneStatus"


def test_an_error_in_a_shorthand_is_reported_where_it_was_written() -> None:
    from harness.errors import ScenarioError

    with pytest.raises(ScenarioError) as caught:
        _steps("""\
            - connect: [d0, nobody]
            - expect:
                actor: ide
                event: droneStatus
                payload: {status: {$regex: "("}}
            """)
    lines = str(caught.value).splitlines()
    assert lines[0].startswith("x.scenario.yaml:6: step 1 (connect): no actor named 'nobody'")
    assert lines[1].startswith("x.scenario.yaml:10: step 2 (expect), field payload.status")


PROBE = '''
"""A step kind written for the test: one module, nothing else touched."""
from dataclasses import dataclass

from harness.scenario.kinds.base import ACTOR_NAME, SOCKET, StepKind


@dataclass(frozen=True)
class ProbeArgs:
    actor: str
    times: int = 1


async def probe(run, step):
    run.templates.captures["probed"] = step.args.times


KINDS = (StepKind(name="probe", summary="Probe.", reference="`actor`, `times`",
                  schema={"type": "object", "required": ["actor"],
                          "additionalProperties": False,
                          "properties": {"actor": ACTOR_NAME, "times": {"type": "integer"}}},
                  args=ProbeArgs, handler=probe, actors={"actor": SOCKET}),)
'''

SCENARIO = '''
name: s
actors: {ide: {ide: {}}, d0: {drone: 0}}
steps:
  - probe: {actor: d0, times: 2}
  - probe: {actor: nobody}
'''


def test_a_new_step_kind_is_one_new_module(tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    shutil.copytree(root / "harness", tmp_path / "harness")
    shutil.copytree(root / "seed", tmp_path / "seed")
    (tmp_path / "harness" / "scenario" / "kinds" / "probe.py").write_text(PROBE, "utf-8")
    (tmp_path / "x.scenario.yaml").write_text(SCENARIO, "utf-8")
    check = (
        "from harness.scenario.schema import scenario_schema\n"
        "from harness.scenario.kinds import reference_table\n"
        "from harness.scenario.loader import load_file\n"
        "from pathlib import Path\n"
        "assert 'probe' in scenario_schema()['$defs']['step']['properties']\n"
        "assert '| `probe` | `actor`, `times` |' in reference_table()\n"
        "try:\n"
        "    load_file(Path('x.scenario.yaml'))\n"
        "except Exception as exc:\n"
        "    print(exc)\n")
    done = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, capture_output=True,
                          text=True, env={"PYTHONPATH": str(tmp_path)}, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ("x.scenario.yaml:6: step 2 (probe), field actor: no actor "
                                   "named 'nobody'; allowed: ide, d0")
