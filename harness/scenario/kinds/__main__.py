"""``python -m harness.scenario.kinds``: write ``schema.json`` and the step table of
``docs/scenarios.md`` from the registry (``--check``: exit 1 when either is stale)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from harness.scenario.kinds import build_schema, reference_table

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = ROOT / "harness" / "scenario" / "schema.json"
DOCS = ROOT / "docs" / "scenarios.md"
BEGIN, END = "<!-- step kinds: begin (generated) -->\n", "<!-- step kinds: end -->\n"


def schema_text() -> str:
    """``schema.json`` as it should be."""
    return json.dumps(build_schema(), indent=2) + "\n"


def docs_text(current: str) -> str:
    """``docs/scenarios.md`` with its step table as it should be."""
    head, _, rest = current.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}{reference_table()}{END}{tail}"


def main(argv: list[str]) -> int:
    """Write (or ``--check``) the generated files; the exit status."""
    stale = []
    for path, wanted in ((SCHEMA, schema_text()), (DOCS, docs_text(DOCS.read_text("utf-8")))):
        if path.read_text("utf-8") == wanted:
            continue
        stale.append(path)
        if "--check" not in argv:
            path.write_text(wanted, "utf-8")
    if "--check" in argv and stale:
        print(f"stale, run python -m harness.scenario.kinds: {', '.join(map(str, stale))}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
