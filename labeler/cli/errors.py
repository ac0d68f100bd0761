"""The command line's one error path: a user error prints `labeler: error: MESSAGE` and exits 2.

Subcommands raise labeler's own errors (every one derives from labeler.core.errors.LabelerError),
or call fail() for argument combinations argparse cannot check; labeler.cli.main catches
LabelerError in one place. A bug (any other exception) still shows its traceback.

Warnings labeler logs while a job runs (a backup that failed, a store on a network file system)
print as `labeler: warning: MESSAGE` on stderr (`show_warnings`, installed once by labeler.cli.main).
"""

from __future__ import annotations

import logging
import sys

EXIT_ERROR = 2


def fail(message: str) -> int:
    """Print the message as labeler's error and return the exit code for it."""
    print(f"labeler: error: {message}", file=sys.stderr)
    return EXIT_ERROR


class _WarningLine(logging.Handler):
    """Writes to the stderr of the moment (a test's captured one), not the one at install time."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print(f"labeler: warning: {record.getMessage()}", file=sys.stderr)
        except Exception:  # a closed stderr must not end the job
            self.handleError(record)


def show_warnings() -> None:
    """Print labeler's logged warnings on stderr, one line each; safe to call twice."""
    logger = logging.getLogger("labeler")
    if not any(isinstance(h, _WarningLine) for h in logger.handlers):
        handler = _WarningLine(logging.WARNING)
        logger.addHandler(handler)
