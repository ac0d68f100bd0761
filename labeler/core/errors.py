"""The base of every labeler exception.

`LabelerError` means "a request labeler cannot satisfy, with a message meant for the user": the
window shows `str(exc)` in a dialog or status line, the command line prints it and exits non-zero,
without a traceback. Anything else that escapes is a bug and is reported with its traceback.
Each module keeps its own subclass (StoreError, ImageLoadError, TrainingError...), so callers can
still catch the narrow kind; built-in bases a caller relies on (FileNotFoundError) stay as mixins.
"""

from __future__ import annotations


class LabelerError(Exception):
    """A failure with a message for the user (no traceback needed)."""
