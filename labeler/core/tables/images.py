"""The images table: one row per picture under the image folder (relative path, displayed size,
file fingerprint, unreadable reason, missing and reviewed flags)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Iterable

from ..records import IMAGE_STATUSES, ImageRecord, ScanResult, StoreError
from ..scan import KnownImage, plan_scan
from . import Table

_IMAGE_SELECT = (
    "SELECT i.id, i.path, i.width, i.height, i.error, i.missing, i.reviewed, "
    "COALESCE(b.n, 0), COALESCE(b.p, 0) FROM images i LEFT JOIN "
    "(SELECT image_id, COUNT(*) AS n, SUM(state='predicted') AS p FROM boxes GROUP BY image_id) b "
    "ON b.image_id = i.id"
)


def _row_to_image(r) -> ImageRecord:
    return ImageRecord(r[0], r[1], r[2], r[3], r[4], bool(r[5]), bool(r[6]), r[7], r[8])


class Images(Table):
    def scan(self, progress: Callable[[int, int], None] | None = None) -> ScanResult:
        """Find images under the folder (recursively); record new ones, mark vanished ones."""
        known = {row[0]: KnownImage(*row[1:]) for row in self.p._query(
            "SELECT path, id, file_size, mtime, missing, width, height, error FROM images")}
        plan = plan_scan(self.p.root, known, progress)
        with self.p._tx() as c:
            c.executemany(
                "INSERT INTO images (path, width, height, file_size, mtime, error, added_at) VALUES (?,?,?,?,?,?,?)",
                plan.inserts,
            )
            c.executemany(
                "UPDATE images SET width=?, height=?, file_size=?, mtime=?, error=?, missing=0 WHERE id=?", plan.updates
            )
            c.executemany("UPDATE images SET missing=1 WHERE id=?", [(i,) for i in plan.gone])
            c.executemany("UPDATE images SET missing=0 WHERE id=?", [(i,) for i in plan.back])
            if plan.inserts or plan.updates or plan.gone or plan.back:
                self.p._changed("images")
        return plan.result()

    def add_records(self, records: Iterable[tuple[str, int, int]]) -> None:
        """Record images by (relative path, width, height) without reading them (bulk tools, tests)."""
        now = time.time()
        with self.p._tx() as c:
            c.executemany(
                "INSERT OR IGNORE INTO images (path, width, height, added_at) VALUES (?,?,?,?)",
                [(p, w, h, now) for p, w, h in records],
            )
            self.p._changed("images")

    def all(self, status: str | None = None) -> list[ImageRecord]:
        """All images in path order (optionally only those with `status`)."""
        out = [_row_to_image(r) for r in self.p._query(_IMAGE_SELECT + " ORDER BY i.path")]
        if status is not None:
            out = [im for im in out if im.status == status]
        return out

    def get(self, image_id: int) -> ImageRecord:
        rows = self.p._query(_IMAGE_SELECT + " WHERE i.id=?", (image_id,))
        if not rows:
            raise StoreError(f"No image with id {image_id}")
        return _row_to_image(rows[0])

    def by_ids(self, image_ids: Iterable[int]) -> list[ImageRecord]:
        """The given images (unknown ids skipped), counting boxes per image through the index, so
        refreshing a few rows of a 100,000-image list does not aggregate the whole boxes table."""
        ids = list(image_ids)
        out = []
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            out += [_row_to_image(r) for r in self.p._query(
                "SELECT i.id, i.path, i.width, i.height, i.error, i.missing, i.reviewed, "
                "(SELECT COUNT(*) FROM boxes WHERE image_id = i.id), "
                "(SELECT COUNT(*) FROM boxes WHERE image_id = i.id AND state = 'predicted') "
                f"FROM images i WHERE i.id IN ({','.join('?' * len(chunk))})", chunk)]
        return out

    def by_path(self, rel: str) -> ImageRecord | None:
        rows = self.p._query(_IMAGE_SELECT + " WHERE i.path=?", (rel,))
        return _row_to_image(rows[0]) if rows else None

    def path(self, image: ImageRecord | int) -> Path:
        if isinstance(image, int):
            image = self.get(image)
        return self.p.root / image.path

    def status_counts(self) -> dict[str, int]:
        counts = {s: 0 for s in IMAGE_STATUSES}
        for im in self.all():
            counts[im.status] += 1
        return counts

    def set_reviewed(self, image_ids: int | Iterable[int], reviewed: bool = True) -> None:
        ids = [image_ids] if isinstance(image_ids, int) else list(image_ids)
        with self.p._tx() as c:
            c.executemany(
                "UPDATE images SET reviewed=?, reviewed_at=? WHERE id=?",
                [(int(reviewed), time.time() if reviewed else None, i) for i in ids],
            )
            self.p._changed("images", ids)

    def mark_unreadable(self, image_id: int, reason: str) -> None:
        """Record that decoding failed (a scan only reads headers); the next rescan re-checks it
        if the file changes."""
        with self.p._tx() as c:
            c.execute("UPDATE images SET error=? WHERE id=?", (reason, image_id))
            self.p._changed("images", [image_id])
