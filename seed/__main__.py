"""``python -m seed``: the same command as ``harness seed``."""

from seed.cli import main

if __name__ == "__main__":
    main()
