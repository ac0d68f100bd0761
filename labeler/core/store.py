"""The project store: one SQLite file inside the image folder, written on every edit.

The folder is the project; `.labeler/project.sqlite` holds images, categories, boxes, settings and
training runs. Every public mutating method is one short transaction, so a killed process loses
nothing that was committed. Paths are stored relative to the folder (forward slashes), so a moved
folder still opens.

One process writes a project at a time: `Project.open` takes an exclusive lock on
`.labeler/lock`; a second writer gets ProjectLockedError. `readonly=True` skips the lock (info,
export). A Project may be used from several threads (GUI, decode and model workers): each call
holds the project's lock for its short transaction.

Listeners (`add_listener`) hear about every change as (kind, ids) after it commits; the GUI turns
these into Qt signals.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from . import backup, history
from .geometry import clip_box
from .lock import lock_project

# The value types, states and errors live in records.py, the tables in schema.py, the folder walk in
# scan.py; callers import them from here as well, as they did before the split.
from .records import (  # noqa: F401
    ACCEPTED, BOX_STATES, HUMAN, IMAGE_STATUSES, MIN_BOX_SIZE, MISSING, NEEDS_REVIEW, PALETTE, PREDICTED,
    PRELABELED, IN_PROGRESS, REVIEWED, SOURCE_HUMAN, SOURCE_MODEL, UNLABELED, UNREADABLE, Box, Category, ImageRecord, ProjectLockedError,
    ScanResult, StoreError,
)
from .scan import KnownImage, plan_scan
from .schema import MIGRATIONS, SCHEMA, SCHEMA_VERSION  # noqa: F401

DATA_DIR = ".labeler"
DB_NAME = "project.sqlite"
LOCK_NAME = "lock"


_BOX_COLUMNS = "id, image_id, category_id, x1, y1, x2, y2, source, score, state, created_at, updated_at"


def _row_to_box(row) -> Box:
    return Box(*row)


def data_dir(folder: str | os.PathLike) -> Path:
    return Path(folder) / DATA_DIR


class Project:
    """An image folder and its annotation store."""

    def __init__(self, root: Path, conn: sqlite3.Connection, lock_handle, readonly: bool):
        self.root = root
        self._conn = conn
        self._lock_handle = lock_handle
        self.readonly = readonly
        self._mutex = threading.RLock()
        self._listeners: list[Callable[[str, tuple], None]] = []
        self._batch_depth = 0
        self._pending: list[tuple[str, tuple]] = []
        self.backups: backup.AutoBackup | None = None  # set by open() for a writable project

    # ------------------------------------------------------------------ open / close
    @classmethod
    def open(cls, folder: str | os.PathLike, *, readonly: bool = False, create: bool = True) -> "Project":
        root = Path(folder).expanduser().resolve()
        if not root.is_dir():
            raise StoreError(f"{root} is not a folder")
        ddir = root / DATA_DIR
        db_path = ddir / DB_NAME
        if readonly and not db_path.exists():
            raise StoreError(f"{root} is not a labeler project yet (no {DATA_DIR}/{DB_NAME}); open it once to create one")
        lock = None
        if not readonly:
            if not db_path.exists() and not create:
                raise StoreError(f"{root} is not a labeler project")
            try:
                ddir.mkdir(exist_ok=True)
            except OSError as exc:
                raise StoreError(f"Cannot create {ddir}: {exc.strerror or exc}") from None
            lock = lock_project(ddir / LOCK_NAME)
        conn = None
        try:
            uri = db_path.as_uri() + ("?mode=ro" if readonly else "")
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None, timeout=10)
            conn.execute("PRAGMA foreign_keys = ON")
            if not readonly:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
            backup.check_store(conn, db_path)  # PRAGMA quick_check; raises DamagedStoreError
            project = cls(root, conn, lock, readonly)
            if not readonly:
                project._migrate()
            else:
                project._check_version()
        except (sqlite3.DatabaseError, StoreError) as exc:
            if conn is not None:
                conn.close()
            if lock:
                lock.close()
            if isinstance(exc, StoreError):
                raise
            if backup.is_damage(exc):
                raise backup.damaged_error(db_path, str(exc)) from None
            raise StoreError(f"{db_path} is not a readable labeler store: {exc}") from None
        if not readonly:
            project.backups = backup.AutoBackup(conn, ddir)
            project.backups.now()  # logged, never raised, when it fails
        return project

    @property
    def is_open(self) -> bool:
        """False once `close` ran (a deferred GUI refresh checks this before it queries)."""
        return self._conn is not None

    def close(self) -> None:
        with self._mutex:
            if self._conn is not None:
                try:
                    if not self.readonly:
                        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                except sqlite3.Error:
                    pass
                self._conn.close()
                self._conn = None
            if self._lock_handle is not None:
                self._lock_handle.close()
                self._lock_handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def data_dir(self) -> Path:
        return self.root / DATA_DIR

    def _version(self) -> int:
        has_meta = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'"
        ).fetchone()
        if not has_meta:
            return 0
        row = self._conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return int(row[0]) if row else 0

    def _check_version(self) -> None:
        v = self._version()
        if v > SCHEMA_VERSION:
            raise StoreError(
                f"This project was written by a newer labeler (store version {v}, this one reads up to "
                f"{SCHEMA_VERSION}); update labeler to open it."
            )

    def _migrate(self) -> None:
        self._check_version()
        with self._tx():
            v = self._version()
            if v == 0:
                for stmt in SCHEMA:
                    self._conn.execute(stmt)
                self._conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
                self._conn.execute("INSERT INTO meta VALUES ('created_at', ?)", (str(time.time()),))
                return
            while v < SCHEMA_VERSION:
                for stmt in MIGRATIONS[v]:
                    self._conn.execute(stmt)
                v += 1
                self._conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(v),))

    # ------------------------------------------------------------------ transactions, events
    class _Tx:
        def __init__(self, project: "Project"):
            self.p = project

        def __enter__(self):
            self.p._mutex.acquire()
            if self.p._conn is None:
                self.p._mutex.release()
                raise StoreError("The project is closed")
            if self.p._batch_depth == 0:
                self.p._conn.execute("BEGIN IMMEDIATE")
            self.p._batch_depth += 1
            return self.p._conn

        def __exit__(self, exc_type, exc, tb):
            p = self.p
            p._batch_depth -= 1
            try:
                if p._batch_depth == 0:
                    if exc_type is None:
                        try:
                            p._conn.execute("COMMIT")
                        except sqlite3.OperationalError as err:
                            p._conn.execute("ROLLBACK")
                            p._pending.clear()
                            raise _storage_error(err) from None
                        if p.backups is not None:
                            p.backups.after_commit()
                    else:
                        p._conn.execute("ROLLBACK")
                        p._pending.clear()
            finally:
                pending = []
                if p._batch_depth == 0:
                    pending, p._pending = p._pending, []
                p._mutex.release()
            if exc_type is None and pending:
                p._emit(pending)
            if isinstance(exc, sqlite3.OperationalError):
                raise _storage_error(exc) from None
            return False

    def _tx(self) -> "Project._Tx":
        if self.readonly:
            raise StoreError("The project is open read-only")
        return Project._Tx(self)

    def batch(self) -> "Project._Tx":
        """Group several edits into one transaction (and one round of change events)."""
        return self._tx()

    def _changed(self, kind: str, ids: Iterable[int] = ()) -> None:
        self._pending.append((kind, tuple(ids)))

    def add_listener(self, fn: Callable[[str, tuple], None]) -> None:
        """fn(kind, ids) after each committed change. kind: 'images', 'boxes' (image ids),
        'categories', 'settings', 'runs'. Called on the thread that made the change."""
        self._listeners.append(fn)

    def remove_listener(self, fn) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    def _emit(self, pending: list[tuple[str, tuple]]) -> None:
        merged: dict[str, set] = {}
        for kind, ids in pending:
            merged.setdefault(kind, set()).update(ids)
        for kind, ids in merged.items():
            for fn in list(self._listeners):
                fn(kind, tuple(sorted(ids)))

    def _query(self, sql: str, params: Sequence = ()) -> list:
        with self._mutex:
            if self._conn is None:
                raise StoreError("The project is closed")
            return self._conn.execute(sql, params).fetchall()

    # ------------------------------------------------------------------ images
    def scan(self, progress: Callable[[int, int], None] | None = None) -> ScanResult:
        """Find images under the folder (recursively); record new ones, mark vanished ones."""
        known = {row[0]: KnownImage(*row[1:]) for row in self._query(
            "SELECT path, id, file_size, mtime, missing, width, height, error FROM images")}
        plan = plan_scan(self.root, known, progress)
        with self._tx() as c:
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
                self._changed("images")
        return plan.result()

    def add_image_records(self, records: Iterable[tuple[str, int, int]]) -> None:
        """Record images by (relative path, width, height) without reading them (bulk tools, tests)."""
        now = time.time()
        with self._tx() as c:
            c.executemany(
                "INSERT OR IGNORE INTO images (path, width, height, added_at) VALUES (?,?,?,?)",
                [(p, w, h, now) for p, w, h in records],
            )
            self._changed("images")

    _IMAGE_SELECT = (
        "SELECT i.id, i.path, i.width, i.height, i.error, i.missing, i.reviewed, "
        "COALESCE(b.n, 0), COALESCE(b.p, 0) FROM images i LEFT JOIN "
        "(SELECT image_id, COUNT(*) AS n, SUM(state='predicted') AS p FROM boxes GROUP BY image_id) b "
        "ON b.image_id = i.id"
    )

    @staticmethod
    def _row_to_image(r) -> ImageRecord:
        return ImageRecord(r[0], r[1], r[2], r[3], r[4], bool(r[5]), bool(r[6]), r[7], r[8])

    def images(self, status: str | None = None) -> list[ImageRecord]:
        """All images in path order (optionally only those with `status`)."""
        rows = self._query(self._IMAGE_SELECT + " ORDER BY i.path")
        out = [self._row_to_image(r) for r in rows]
        if status is not None:
            out = [im for im in out if im.status == status]
        return out

    def image(self, image_id: int) -> ImageRecord:
        rows = self._query(self._IMAGE_SELECT + " WHERE i.id=?", (image_id,))
        if not rows:
            raise StoreError(f"No image with id {image_id}")
        return self._row_to_image(rows[0])

    def images_by_ids(self, image_ids: Iterable[int]) -> list[ImageRecord]:
        """The given images (unknown ids skipped), counting boxes per image through the index, so
        refreshing a few rows of a 100,000-image list does not aggregate the whole boxes table."""
        ids = list(image_ids)
        out = []
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            out += [self._row_to_image(r) for r in self._query(
                "SELECT i.id, i.path, i.width, i.height, i.error, i.missing, i.reviewed, "
                "(SELECT COUNT(*) FROM boxes WHERE image_id = i.id), "
                "(SELECT COUNT(*) FROM boxes WHERE image_id = i.id AND state = 'predicted') "
                f"FROM images i WHERE i.id IN ({','.join('?' * len(chunk))})", chunk)]
        return out

    def image_by_path(self, rel: str) -> ImageRecord | None:
        rows = self._query(self._IMAGE_SELECT + " WHERE i.path=?", (rel,))
        return self._row_to_image(rows[0]) if rows else None

    def image_path(self, image: ImageRecord | int) -> Path:
        if isinstance(image, int):
            image = self.image(image)
        return self.root / image.path

    def status_counts(self) -> dict[str, int]:
        counts = {s: 0 for s in IMAGE_STATUSES}
        for im in self.images():
            counts[im.status] += 1
        return counts

    def set_reviewed(self, image_ids: int | Iterable[int], reviewed: bool = True) -> None:
        ids = [image_ids] if isinstance(image_ids, int) else list(image_ids)
        with self._tx() as c:
            c.executemany(
                "UPDATE images SET reviewed=?, reviewed_at=? WHERE id=?",
                [(int(reviewed), time.time() if reviewed else None, i) for i in ids],
            )
            self._changed("images", ids)

    def mark_unreadable(self, image_id: int, reason: str) -> None:
        """Record that decoding failed (a scan only reads headers); the next rescan re-checks it
        if the file changes."""
        with self._tx() as c:
            c.execute("UPDATE images SET error=? WHERE id=?", (reason, image_id))
            self._changed("images", [image_id])

    # ------------------------------------------------------------------ categories
    def categories(self) -> list[Category]:
        return [Category(*r) for r in self._query("SELECT id, name, color, position FROM categories ORDER BY position, id")]

    def category(self, category_id: int) -> Category:
        rows = self._query("SELECT id, name, color, position FROM categories WHERE id=?", (category_id,))
        if not rows:
            raise StoreError(f"No class with id {category_id}")
        return Category(*rows[0])

    def category_by_name(self, name: str) -> Category | None:
        rows = self._query("SELECT id, name, color, position FROM categories WHERE name=?", (name,))
        return Category(*rows[0]) if rows else None

    def add_category(self, name: str, color: str | None = None, *, category_id: int | None = None,
                     position: int | None = None) -> Category:
        name = (name or "").strip()
        if not name:
            raise StoreError("A class needs a name")
        with self._tx() as c:
            if c.execute("SELECT 1 FROM categories WHERE name=?", (name,)).fetchone():
                raise StoreError(f"A class named {name!r} already exists")
            n = c.execute("SELECT COUNT(*), COALESCE(MAX(position), -1) FROM categories").fetchone()
            if color is None:
                color = PALETTE[n[0] % len(PALETTE)]
            if position is None:
                position = n[1] + 1
            elif c.execute("SELECT 1 FROM categories WHERE position=?", (position,)).fetchone():
                c.execute("UPDATE categories SET position = position + 1 WHERE position >= ?", (position,))
            cur = c.execute(
                "INSERT INTO categories (id, name, color, position) VALUES (?,?,?,?)",
                (category_id, name, color, position),
            )
            self._changed("categories")
            return Category(cur.lastrowid, name, color, position)

    def rename_category(self, category_id: int, name: str) -> None:
        name = (name or "").strip()
        if not name:
            raise StoreError("A class needs a name")
        with self._tx() as c:
            row = c.execute("SELECT id FROM categories WHERE name=?", (name,)).fetchone()
            if row and row[0] != category_id:
                raise StoreError(f"A class named {name!r} already exists; merge the two instead")
            c.execute("UPDATE categories SET name=? WHERE id=?", (name, category_id))
            self._changed("categories", [category_id])

    def recolor_category(self, category_id: int, color: str) -> None:
        with self._tx() as c:
            c.execute("UPDATE categories SET color=? WHERE id=?", (color, category_id))
            self._changed("categories", [category_id])

    def reorder_categories(self, ordered_ids: Sequence[int]) -> None:
        with self._tx() as c:
            c.executemany("UPDATE categories SET position=? WHERE id=?", [(i, cid) for i, cid in enumerate(ordered_ids)])
            self._changed("categories")

    def delete_category(self, category_id: int) -> tuple[Category, list[Box]]:
        """Delete a class and its boxes; returns both so the caller can restore them."""
        with self._tx() as c:
            cat = self.category(category_id)
            boxes = [_row_to_box(r) for r in c.execute(f"SELECT {_BOX_COLUMNS} FROM boxes WHERE category_id=?", (category_id,))]
            c.execute("DELETE FROM boxes WHERE category_id=?", (category_id,))
            c.execute("DELETE FROM categories WHERE id=?", (category_id,))
            self._changed("categories", [category_id])
            self._changed("boxes", {b.image_id for b in boxes})
            return cat, boxes

    def restore_category(self, category: Category, boxes: Sequence[Box] = ()) -> None:
        with self._tx():
            self.add_category(category.name, category.color, category_id=category.id, position=category.position)
            self.restore_boxes(boxes)

    def merge_categories(self, source_id: int, target_id: int) -> tuple[Category, list[int]]:
        """Move every box of `source_id` to `target_id` and delete the source class."""
        if source_id == target_id:
            raise StoreError("Cannot merge a class into itself")
        with self._tx() as c:
            cat = self.category(source_id)
            self.category(target_id)
            moved = [r[0] for r in c.execute("SELECT id FROM boxes WHERE category_id=?", (source_id,))]
            images = {r[0] for r in c.execute("SELECT DISTINCT image_id FROM boxes WHERE category_id=?", (source_id,))}
            c.execute("UPDATE boxes SET category_id=?, updated_at=? WHERE category_id=?", (target_id, time.time(), source_id))
            c.execute("DELETE FROM categories WHERE id=?", (source_id,))
            self._changed("categories", [source_id, target_id])
            self._changed("boxes", images)
            return cat, moved

    def box_counts_by_category(self) -> dict[int, dict[str, int]]:
        out: dict[int, dict[str, int]] = {}
        for cid, state, n in self._query("SELECT category_id, state, COUNT(*) FROM boxes GROUP BY category_id, state"):
            out.setdefault(cid, {})[state] = n
        return out

    # ------------------------------------------------------------------ boxes
    def boxes(self, image_id: int) -> list[Box]:
        return [_row_to_box(r) for r in self._query(f"SELECT {_BOX_COLUMNS} FROM boxes WHERE image_id=? ORDER BY id", (image_id,))]

    def box(self, box_id: int) -> Box:
        rows = self._query(f"SELECT {_BOX_COLUMNS} FROM boxes WHERE id=?", (box_id,))
        if not rows:
            raise StoreError(f"No box with id {box_id}")
        return _row_to_box(rows[0])

    def boxes_by_ids(self, box_ids: Iterable[int]) -> list[Box]:
        ids = list(box_ids)
        out = []
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            out += [_row_to_box(r) for r in self._query(
                f"SELECT {_BOX_COLUMNS} FROM boxes WHERE id IN ({','.join('?' * len(chunk))})", chunk)]
        return out

    def all_boxes(self, states: Sequence[str] | None = None) -> Iterator[Box]:
        sql = f"SELECT {_BOX_COLUMNS} FROM boxes"
        params: tuple = ()
        if states:
            sql += f" WHERE state IN ({','.join('?' * len(states))})"
            params = tuple(states)
        for r in self._query(sql + " ORDER BY image_id, id", params):
            yield _row_to_box(r)

    def _clip(self, image_id: int, x1, y1, x2, y2):
        row = self._conn.execute("SELECT width, height FROM images WHERE id=?", (image_id,)).fetchone()
        if row is None:
            raise StoreError(f"No image with id {image_id}")
        return clip_box(float(x1), float(y1), float(x2), float(y2), row[0] or 0, row[1] or 0)  # None: too small

    def add_box(self, image_id: int, category_id: int, x1: float, y1: float, x2: float, y2: float, *,
                source: str = SOURCE_HUMAN, score: float | None = None, state: str = HUMAN) -> Box:
        """Add a box (clipped to the image). Raises StoreError if it is degenerate after clipping."""
        return self.add_boxes(image_id, [(category_id, x1, y1, x2, y2, score)], source=source, state=state)[0]

    def add_boxes(self, image_id: int, items: Iterable[tuple], *, source: str = SOURCE_HUMAN,
                  state: str = HUMAN, skip_degenerate: bool = False) -> list[Box]:
        """Add boxes to one image: items are (category_id, x1, y1, x2, y2[, score])."""
        if state not in BOX_STATES:
            raise StoreError(f"Unknown box state {state!r}")
        now = time.time()
        out = []
        with self._tx() as c:
            for item in items:
                cid, x1, y1, x2, y2 = item[:5]
                score = item[5] if len(item) > 5 else None
                rect = self._clip(image_id, x1, y1, x2, y2)
                if rect is None:
                    if skip_degenerate:
                        continue
                    raise StoreError(f"A box must be at least {MIN_BOX_SIZE:g} px wide and high inside the image")
                x1, y1, x2, y2 = rect
                cur = c.execute(
                    "INSERT INTO boxes (image_id, category_id, x1, y1, x2, y2, source, score, state, created_at, updated_at)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (image_id, cid, x1, y1, x2, y2, source, score, state, now, now),
                )
                out.append(Box(cur.lastrowid, image_id, cid, x1, y1, x2, y2, source, score, state, now, now))
            self._changed("boxes", [image_id])
        return out

    def restore_boxes(self, boxes: Iterable[Box]) -> None:
        """Re-insert boxes exactly as they were (same ids): the inverse of delete_boxes."""
        boxes = list(boxes)
        with self._tx() as c:
            c.executemany(
                f"INSERT OR REPLACE INTO boxes ({_BOX_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                [(b.id, b.image_id, b.category_id, b.x1, b.y1, b.x2, b.y2, b.source, b.score, b.state,
                  b.created_at, b.updated_at) for b in boxes],
            )
            self._changed("boxes", {b.image_id for b in boxes})

    def delete_boxes(self, box_ids: Iterable[int]) -> list[Box]:
        """Delete boxes; returns them as they were, for undo."""
        ids = list(box_ids)
        with self._tx() as c:
            old = self.boxes_by_ids(ids)
            c.executemany("DELETE FROM boxes WHERE id=?", [(i,) for i in ids])
            self._changed("boxes", {b.image_id for b in old})
        return old

    def set_box_rect(self, box_id: int, x1: float, y1: float, x2: float, y2: float, *, as_human: bool = True) -> Box:
        """Move or resize a box (clipped to its image). Editing a prediction makes it a person's box."""
        with self._tx() as c:
            old = self.box(box_id)
            rect = self._clip(old.image_id, x1, y1, x2, y2)
            if rect is None:
                raise StoreError(f"A box must be at least {MIN_BOX_SIZE:g} px wide and high inside the image")
            x1, y1, x2, y2 = rect
            state = HUMAN if (as_human and old.state == PREDICTED) else old.state
            new = replace(old, x1=x1, y1=y1, x2=x2, y2=y2, state=state, updated_at=time.time())
            self._write_box(c, new)
            return new

    def set_box_category(self, box_ids: Iterable[int], category_id: int) -> list[Box]:
        """Re-class boxes; returns the boxes as they were."""
        ids = list(box_ids)
        with self._tx() as c:
            old = self.boxes_by_ids(ids)
            now = time.time()
            for b in old:
                state = HUMAN if b.state == PREDICTED else b.state
                self._write_box(c, replace(b, category_id=category_id, state=state, updated_at=now))
        return old

    def set_box_state(self, box_ids: Iterable[int], state: str) -> list[Box]:
        """Change review state (e.g. accept predictions); returns the boxes as they were."""
        if state not in BOX_STATES:
            raise StoreError(f"Unknown box state {state!r}")
        ids = list(box_ids)
        with self._tx() as c:
            old = self.boxes_by_ids(ids)
            now = time.time()
            for b in old:
                self._write_box(c, replace(b, state=state, updated_at=now))
        return old

    def update_boxes(self, boxes: Iterable[Box]) -> None:
        """Write boxes back exactly as given (used by undo)."""
        with self._tx() as c:
            for b in boxes:
                self._write_box(c, b)

    def _write_box(self, c, b: Box) -> None:
        c.execute(
            "UPDATE boxes SET image_id=?, category_id=?, x1=?, y1=?, x2=?, y2=?, source=?, score=?, state=?, "
            "updated_at=? WHERE id=?",
            (b.image_id, b.category_id, b.x1, b.y1, b.x2, b.y2, b.source, b.score, b.state, b.updated_at, b.id),
        )
        self._changed("boxes", [b.image_id])

    def replace_predictions(self, image_id: int, items: Iterable[tuple], *, skip_degenerate: bool = True,
                            model: str = history.UNKNOWN_MODEL) -> list[Box]:
        """Swap the image's unreviewed predictions for new ones; accepted and human boxes stay.
        `model` (its key) is kept with each proposed box (labeler.core.history)."""
        with self._tx() as c:
            c.execute("DELETE FROM boxes WHERE image_id=? AND state=?", (image_id, PREDICTED))
            boxes = self.add_boxes(image_id, items, source=SOURCE_MODEL, state=PREDICTED, skip_degenerate=skip_degenerate)
            history.tag_predictions(c, [image_id], [b.id for b in boxes], model)
            return boxes

    # ------------------------------------------------------------------ settings
    def get_setting(self, key: str, default=None):
        rows = self._query("SELECT value FROM settings WHERE key=?", (key,))
        return json.loads(rows[0][0]) if rows else default

    def set_setting(self, key: str, value) -> None:
        with self._tx() as c:
            c.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, json.dumps(value)))
            self._changed("settings")

    # ------------------------------------------------------------------ training runs
    def add_run(self, architecture: str, settings: dict, classes: Sequence[str]) -> int:
        with self._tx() as c:
            cur = c.execute(
                "INSERT INTO runs (created_at, architecture, status, settings, classes) VALUES (?,?,?,?,?)",
                (time.time(), architecture, "running", json.dumps(settings), json.dumps(list(classes))),
            )
            self._changed("runs", [cur.lastrowid])
            return cur.lastrowid

    def update_run(self, run_id: int, **fields) -> None:
        allowed = {"status", "epochs", "checkpoint", "best_map", "message", "finished_at", "settings"}
        if not set(fields) <= allowed:
            raise StoreError(f"Unknown run fields: {set(fields) - allowed}")
        sets, params = [], []
        for k, v in fields.items():
            sets.append(f"{k}=?")
            params.append(json.dumps(v) if k in ("epochs", "settings") else v)
        with self._tx() as c:
            c.execute(f"UPDATE runs SET {', '.join(sets)} WHERE id=?", (*params, run_id))
            self._changed("runs", [run_id])

    def runs(self) -> list[dict]:
        cols = ["id", "created_at", "finished_at", "architecture", "status", "settings", "classes", "epochs",
                "checkpoint", "best_map", "message"]
        out = []
        for r in self._query(f"SELECT {', '.join(cols)} FROM runs ORDER BY id"):
            d = dict(zip(cols, r))
            for k in ("settings", "classes", "epochs"):
                d[k] = json.loads(d[k])
            out.append(d)
        return out

    def run(self, run_id: int) -> dict:
        for r in self.runs():
            if r["id"] == run_id:
                return r
        raise StoreError(f"No training run {run_id}")


def _storage_error(err: sqlite3.OperationalError) -> StoreError:
    msg = str(err)
    if "full" in msg.lower():
        return StoreError(f"The disk is full: the last edit was not saved ({msg}). Free some space and try again.")
    if "locked" in msg.lower() or "busy" in msg.lower():
        return StoreError(f"The project store is busy in another process ({msg})")
    return StoreError(f"Could not write the project store: {msg}")
