"""The user's error: a problem the user can fix, reported as one line on stderr, never a traceback."""

import signal
import sys
from collections.abc import Callable


class UserError(Exception):
    """A problem the user can fix (a bad file, missing data): its message is the whole report."""


def run_script(name: str, main: Callable[[], int | None], interrupted: str) -> None:
    """Run a script's `main` and exit with its status; a UserError or Ctrl-C (or `docker stop`'s
    SIGTERM, handled like it) ends in one line, `name: error: ...` or `name: <interrupted>`."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        sys.exit(main())
    except UserError as e:
        sys.exit(f"{name}: error: {e}")
    except KeyboardInterrupt:
        sys.exit(f"{name}: {interrupted}")
