"""``python -m harness.relay [options]``: the same as ``harness relay [options]``."""

import sys

from harness.cli import main

main(["relay", *sys.argv[1:]])
