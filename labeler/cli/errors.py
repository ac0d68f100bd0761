"""The command line's one error path: a user error prints `labeler: error: MESSAGE` and exits 2.

Subcommands raise their library's own errors (or call fail() for argument combinations argparse
cannot check); labeler.cli.main catches every error type listed by user_errors() in one place.
A bug (any other exception) still shows its traceback.
"""

from __future__ import annotations

import sys

EXIT_ERROR = 2


def fail(message: str) -> int:
    """Print the message as labeler's error and return the exit code for it."""
    print(f"labeler: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def user_errors() -> tuple[type[BaseException], ...]:
    """The errors whose message is meant for the user (imported here, so that every command shares them)."""
    from labeler.core.images import ImageLoadError
    from labeler.core.records import StoreError
    from labeler.jobs import JobError

    kinds: list[type[BaseException]] = [StoreError, ImageLoadError, JobError]
    try:  # the ml errors import no torch at module level, but keep the CLI usable without ml's deps
        from labeler.ml.checkpoint import CheckpointError
        from labeler.ml.dataset import DataError
        from labeler.ml.device import DeviceError
        from labeler.ml.models import ModelError
        from labeler.ml.train import TrainingError
        from labeler.ml.weights import WeightsError
    except ImportError:
        pass
    else:
        kinds += [CheckpointError, DataError, DeviceError, ModelError, TrainingError, WeightsError]
    return tuple(kinds)
