"""The command line's one error path: a user error prints `labeler: error: MESSAGE` and exits 2.

Subcommands raise labeler's own errors (every one derives from labeler.core.errors.LabelerError),
or call fail() for argument combinations argparse cannot check; labeler.cli.main catches
LabelerError in one place. A bug (any other exception) still shows its traceback.
"""

from __future__ import annotations

import sys

EXIT_ERROR = 2


def fail(message: str) -> int:
    """Print the message as labeler's error and return the exit code for it."""
    print(f"labeler: error: {message}", file=sys.stderr)
    return EXIT_ERROR
