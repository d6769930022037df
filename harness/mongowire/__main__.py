"""``python -m harness.mongowire --port 0 --port-file PATH``."""

from __future__ import annotations

import sys

from harness.errors import HarnessError
from harness.mongowire.cli import mongowire_command

if __name__ == "__main__":
    try:
        mongowire_command.main(prog_name="python -m harness.mongowire")
    except HarnessError as exc:
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(2)
