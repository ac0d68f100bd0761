"""What a rescan of the image folder finds: new files, changed ones, vanished ones, returned ones.

Pure file-system work (a walk, stat calls, image headers); labeler.core.store writes the outcome in
one transaction.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, NamedTuple

from .images import ImageLoadError, is_image_file, read_size
from .records import ScanResult


class KnownImage(NamedTuple):
    """An image as the store has it."""
    id: int
    file_size: int
    mtime: float
    missing: bool
    width: int
    height: int
    error: str | None


@dataclass
class ScanPlan:
    inserts: list[tuple] = field(default_factory=list)  # (path, width, height, size, mtime, error, added_at)
    updates: list[tuple] = field(default_factory=list)  # (width, height, size, mtime, error, id)
    gone: list[int] = field(default_factory=list)  # ids whose file vanished
    back: list[int] = field(default_factory=list)  # ids whose file is there again
    changed: int = 0  # updates whose file size, pixel size or readability changed
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    def result(self) -> ScanResult:
        return ScanResult(added=len(self.inserts), updated=self.changed, missing=len(self.gone),
                          reappeared=len(self.back), unreadable=self.unreadable)


def find_images(root: Path) -> dict[str, Path]:
    """Image files under `root` by relative path (forward slashes); hidden files and folders skipped."""
    found: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if is_image_file(name) and not name.startswith("."):
                full = Path(dirpath) / name
                found[full.relative_to(root).as_posix()] = full
    return found


def plan_scan(root: Path, known: dict[str, KnownImage],
              progress: Callable[[int, int], None] | None = None) -> ScanPlan:
    """Compare the folder with `known` (by relative path); headers are read only for new files and
    files whose size or modification time differ."""
    found = find_images(root)
    plan = ScanPlan()
    now = time.time()
    total = len(found)
    for i, (rel, full) in enumerate(sorted(found.items())):
        if progress and i % 200 == 0:
            progress(i, total)
        try:
            st = full.stat()
        except OSError:
            continue
        k = known.get(rel)
        if k is not None:
            if k.missing:
                plan.back.append(k.id)
            if k.file_size == st.st_size and k.mtime == st.st_mtime:
                continue
        try:
            w, h = read_size(full)
            err = None
        except ImageLoadError as exc:
            w = h = 0
            err = exc.cause
            plan.unreadable.append((rel, exc.cause))
        if k is None:
            plan.inserts.append((rel, w, h, st.st_size, st.st_mtime, err, now))
        else:
            plan.updates.append((w, h, st.st_size, st.st_mtime, err, k.id))
            # a copied folder or a touched file has new times, the same bytes: not news for the user
            plan.changed += k.file_size != st.st_size or (w, h, err) != (k.width, k.height, k.error)
    plan.gone = [k.id for rel, k in known.items() if rel not in found and not k.missing]
    if progress:
        progress(total, total)
    return plan
