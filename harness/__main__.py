"""``python -m harness``: the ``harness`` command (what a Locust master runs to seed and
clean up, with the interpreter it runs on)."""

from harness.cli import main

if __name__ == "__main__":
    main()
