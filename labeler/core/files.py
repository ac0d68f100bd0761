"""The one way labeler writes a file: through a temporary file in the same folder, flushed to disk,
then `os.replace`d over the old one, so a full disk or a kill leaves the previous file intact and no
partial one. The new file gets the permissions a plain `open()` would give it (0666 less the umask),
not mkstemp's owner-only 0600, so other users and tools can read an export as before.

Every file labeler writes goes through here: exports and their index files, checkpoints and their
metadata, imported weights, the demo's pictures. (The store is SQLite's, its backups SQLite's online
backup renamed into place; a weights download streams into a `.partial` file renamed when whole; Qt
writes its own settings file the same way.) `durable=False` skips the fsync, for the thousands of
small files of a folder export, where a crash may lose the new file but a full disk still leaves
the old one whole. `atomic_write_all` writes files that belong together (weights and their
metadata): each to its temporary file first, and only when all are written, renamed into place.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable, Iterable

_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once at import: os.umask can only be read by setting it

Writer = Callable[[BinaryIO], None]


def _write_temporary(path: Path, write: Writer, durable: bool) -> str:
    directory = path.parent if str(path.parent) else Path(".")
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
    except BaseException:
        _unlink(tmp)
        raise
    return tmp


def _unlink(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass


def atomic_write(path: str | os.PathLike, write: Writer, *, durable: bool = True) -> None:
    """Write `path` with `write(fh)` (a binary file object). Raises OSError; nothing is left behind."""
    atomic_write_all([(path, write)], durable=durable)


def atomic_write_all(files: Iterable[tuple[str | os.PathLike, Writer]], *, durable: bool = True) -> None:
    """Write several files so that a failure while writing any of them changes none: all go to
    temporary files first, then each is renamed into place. Raises OSError; nothing is left behind."""
    done: list[tuple[str, Path]] = []
    try:
        for path, write in files:
            path = Path(path)
            done.append((_write_temporary(path, write, durable), path))
        for tmp, path in done:
            os.replace(tmp, path)
    except BaseException:
        for tmp, _path in done:
            _unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str, *, durable: bool = True) -> None:
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")), durable=durable)


def atomic_write_small(path: str, data: bytes) -> None:
    """`atomic_write` for the thousands of small files of a folder export, at close to the cost of a
    plain write: no fsync, no Python file object, a temporary name from the process id instead of
    mkstemp's random one (opened with O_EXCL; a stale one left by a killed export is replaced), the
    permissions from os.open's 0666 and the umask. A full disk still leaves the old file whole."""
    tmp = f"{path}.{os.getpid()}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(tmp, flags, 0o666)
    except FileExistsError:
        _unlink(tmp)
        fd = os.open(tmp, flags, 0o666)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        _unlink(tmp)
        raise


def atomic_copy(source: str | os.PathLike, target: str | os.PathLike, *, durable: bool = True) -> None:
    """Copy a file's bytes (and its times and mode, as shutil.copy2 does) atomically."""
    import shutil

    with open(source, "rb") as src:
        atomic_write(target, lambda fh: shutil.copyfileobj(src, fh, 1 << 20), durable=durable)
    try:
        shutil.copystat(source, target)
    except OSError:  # a file system that keeps no times or modes: the bytes are what matter
        pass
