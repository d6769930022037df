"""``python -m seed``: the same command as ``harness seed``."""

from harness.commands.seed import main

if __name__ == "__main__":
    main()
