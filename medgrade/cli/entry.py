"""The ``medgrade`` console script: starts the command, and says so in one line if it cannot.

An installation missing a library (torch, nbgrader) fails while the commands are imported,
before the command line's own error handling exists; that failure is one line and a log too.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    try:
        from medgrade.cli.main import main as run
    except Exception as e:  # an installation problem, reported as every unexpected error is
        from medgrade.logs import unexpected_error

        print(unexpected_error("could not start (its installation is incomplete; `pip check` says more)", e),
              file=sys.stderr)
        sys.exit(3)
    run()


if __name__ == "__main__":
    main()
