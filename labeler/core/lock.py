"""One writer per project: an exclusive lock on `.labeler/lock` that the OS drops when the process dies."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .records import ProjectLockedError


def lock_project(path: Path, name: str | None = None):
    """Take an exclusive, non-blocking lock; the OS drops it when the process dies. `name`: the project
    as the message names it (default: the folder above the store folder)."""
    fh = open(path, "a+")
    try:
        if sys.platform == "win32":
            import msvcrt

            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.seek(0)
        holder = fh.read().strip()
        fh.close()
        raise ProjectLockedError(
            f"The project {name or path.parent.parent} is open in another labeler process"
            + (f" ({holder})" if holder else "")
            + ". Close it there first, or open this one read-only."
        ) from None
    fh.seek(0)
    fh.truncate()
    fh.write(f"pid {os.getpid()} on {os.uname().nodename if hasattr(os, 'uname') else ''}".strip())
    fh.flush()
    return fh
