"""``python -m harness.mongowire --port 0 --port-file PATH``."""

from __future__ import annotations

import sys

from harness.commands.mongowire import mongowire_command
from harness.errors import HarnessError

if __name__ == "__main__":
    try:
        mongowire_command.main(prog_name="python -m harness.mongowire")
    except HarnessError as exc:
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(2)
