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
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from .images import ImageLoadError, is_image_file, read_size

DATA_DIR = ".labeler"
DB_NAME = "project.sqlite"
LOCK_NAME = "lock"
SCHEMA_VERSION = 1

# Box states and sources
PREDICTED = "predicted"  # proposed by a model, not yet reviewed
ACCEPTED = "accepted"  # a model's box a person accepted
HUMAN = "human"  # drawn or edited by a person (or imported as ground truth)
BOX_STATES = (PREDICTED, ACCEPTED, HUMAN)
SOURCE_HUMAN = "human"
SOURCE_MODEL = "model"

# Image statuses (derived)
UNLABELED = "unlabeled"
PREDICTED_STATUS = "predicted"
REVIEWED = "reviewed"
UNREADABLE = "unreadable"
MISSING = "missing"
IMAGE_STATUSES = (UNLABELED, PREDICTED_STATUS, REVIEWED, UNREADABLE, MISSING)

#: Default colours for new categories, distinct on light and dark images.
PALETTE = (
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45",
    "#fabed4", "#469990", "#dcbeff", "#9a6324", "#fffac8", "#800000", "#aaffc3", "#808000",
)

MIN_BOX_SIZE = 1.0  # pixels; boxes smaller than this in either side are degenerate


class StoreError(Exception):
    """A request the store cannot satisfy; the message is meant for the user."""


class ProjectLockedError(StoreError):
    """Another process has the project open for writing."""


@dataclass(frozen=True)
class ImageRecord:
    id: int
    path: str  # relative, forward slashes
    width: int  # displayed (EXIF orientation applied); 0 when unreadable
    height: int
    error: str | None  # why the file cannot be read, or None
    missing: bool  # the file vanished from disk since the last scan
    reviewed: bool
    box_count: int = 0
    predicted_count: int = 0

    @property
    def status(self) -> str:
        if self.missing:
            return MISSING
        if self.error:
            return UNREADABLE
        if self.reviewed:
            return REVIEWED
        if self.box_count:
            return PREDICTED_STATUS
        return UNLABELED

    @property
    def file_name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Category:
    id: int
    name: str
    color: str
    position: int


@dataclass(frozen=True)
class Box:
    id: int
    image_id: int
    category_id: int
    x1: float
    y1: float
    x2: float
    y2: float
    source: str = SOURCE_HUMAN
    score: float | None = None
    state: str = HUMAN
    created_at: float = 0.0
    updated_at: float = 0.0

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def rect(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)


@dataclass
class ScanResult:
    added: int = 0
    updated: int = 0  # images whose file size, pixel size or readability changed (not touched or copied ones)
    missing: int = 0
    reappeared: int = 0
    unreadable: list[tuple[str, str]] = None  # (relative path, reason)

    def __post_init__(self):
        if self.unreadable is None:
            self.unreadable = []


_SCHEMA = [
    """CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    """CREATE TABLE images (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        path TEXT NOT NULL UNIQUE,
        width INTEGER NOT NULL DEFAULT 0,
        height INTEGER NOT NULL DEFAULT 0,
        file_size INTEGER NOT NULL DEFAULT 0,
        mtime REAL NOT NULL DEFAULT 0,
        error TEXT,
        missing INTEGER NOT NULL DEFAULT 0,
        reviewed INTEGER NOT NULL DEFAULT 0,
        reviewed_at REAL,
        added_at REAL NOT NULL
    )""",
    """CREATE TABLE categories (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        color TEXT NOT NULL,
        position INTEGER NOT NULL
    )""",
    """CREATE TABLE boxes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        category_id INTEGER NOT NULL REFERENCES categories(id) ON DELETE CASCADE,
        x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL,
        source TEXT NOT NULL,
        score REAL,
        state TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    )""",
    "CREATE INDEX boxes_image ON boxes(image_id)",
    "CREATE INDEX boxes_category ON boxes(category_id)",
    """CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    """CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at REAL NOT NULL,
        finished_at REAL,
        architecture TEXT NOT NULL,
        status TEXT NOT NULL,
        settings TEXT NOT NULL DEFAULT '{}',
        classes TEXT NOT NULL DEFAULT '[]',
        epochs TEXT NOT NULL DEFAULT '[]',
        checkpoint TEXT,
        best_map REAL,
        message TEXT
    )""",
]

# Migrations: MIGRATIONS[v] upgrades a store at version v to v + 1.
MIGRATIONS: dict[int, list[str]] = {}

_BOX_COLUMNS = "id, image_id, category_id, x1, y1, x2, y2, source, score, state, created_at, updated_at"


def _row_to_box(row) -> Box:
    return Box(*row)


def data_dir(folder: str | os.PathLike) -> Path:
    return Path(folder) / DATA_DIR


def _lock_file(path: Path):
    """Take an exclusive, non-blocking lock; the OS drops it when the process dies."""
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
            f"The project {path.parent.parent} is open in another labeler process"
            + (f" ({holder})" if holder else "")
            + ". Close it there first, or open this one read-only."
        ) from None
    fh.seek(0)
    fh.truncate()
    fh.write(f"pid {os.getpid()} on {os.uname().nodename if hasattr(os, 'uname') else ''}".strip())
    fh.flush()
    return fh


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
            lock = _lock_file(ddir / LOCK_NAME)
        try:
            uri = db_path.as_uri() + ("?mode=ro" if readonly else "")
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None, timeout=10)
            conn.execute("PRAGMA foreign_keys = ON")
            if not readonly:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
            project = cls(root, conn, lock, readonly)
            if not readonly:
                project._migrate()
            else:
                project._check_version()
        except sqlite3.DatabaseError as exc:
            if lock:
                lock.close()
            raise StoreError(f"{db_path} is not a readable labeler store: {exc}") from None
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
                for stmt in _SCHEMA:
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
        result = ScanResult()
        found: dict[str, Path] = {}
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in filenames:
                if is_image_file(name) and not name.startswith("."):
                    full = Path(dirpath) / name
                    found[full.relative_to(self.root).as_posix()] = full
        known = {
            row[0]: row[1:]
            for row in self._query("SELECT path, id, file_size, mtime, missing, width, height, error FROM images")
        }
        now = time.time()
        inserts, updates, gone, back = [], [], [], []
        changed = 0
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
                _id, size, mtime, missing = k[:4]
                if missing:
                    back.append(_id)
                if size == st.st_size and mtime == st.st_mtime:
                    continue
            try:
                w, h = read_size(full)
                err = None
            except ImageLoadError as exc:
                w = h = 0
                err = exc.cause
                result.unreadable.append((rel, exc.cause))
            if k is None:
                inserts.append((rel, w, h, st.st_size, st.st_mtime, err, now))
            else:
                updates.append((w, h, st.st_size, st.st_mtime, err, k[0]))
                # a copied folder or a touched file has new times, the same bytes: not news for the user
                changed += k[1] != st.st_size or (w, h, err) != tuple(k[4:])
        for rel, (_id, _s, _m, missing, *_rest) in known.items():
            if rel not in found and not missing:
                gone.append(_id)
        with self._tx() as c:
            c.executemany(
                "INSERT INTO images (path, width, height, file_size, mtime, error, added_at) VALUES (?,?,?,?,?,?,?)",
                inserts,
            )
            c.executemany(
                "UPDATE images SET width=?, height=?, file_size=?, mtime=?, error=?, missing=0 WHERE id=?", updates
            )
            c.executemany("UPDATE images SET missing=1 WHERE id=?", [(i,) for i in gone])
            c.executemany("UPDATE images SET missing=0 WHERE id=?", [(i,) for i in back])
            if inserts or updates or gone or back:
                self._changed("images")
        if progress:
            progress(total, total)
        result.added, result.updated, result.missing, result.reappeared = len(inserts), changed, len(gone), len(back)
        return result

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
        w, h = row
        x1, x2 = sorted((float(x1), float(x2)))
        y1, y2 = sorted((float(y1), float(y2)))
        if w and h:
            x1, x2 = min(max(x1, 0.0), w), min(max(x2, 0.0), w)
            y1, y2 = min(max(y1, 0.0), h), min(max(y2, 0.0), h)
        return x1, y1, x2, y2

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
                x1, y1, x2, y2 = self._clip(image_id, x1, y1, x2, y2)
                if x2 - x1 < MIN_BOX_SIZE or y2 - y1 < MIN_BOX_SIZE:
                    if skip_degenerate:
                        continue
                    raise StoreError(f"A box must be at least {MIN_BOX_SIZE:g} px wide and high inside the image")
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
            x1, y1, x2, y2 = self._clip(old.image_id, x1, y1, x2, y2)
            if x2 - x1 < MIN_BOX_SIZE or y2 - y1 < MIN_BOX_SIZE:
                raise StoreError(f"A box must be at least {MIN_BOX_SIZE:g} px wide and high inside the image")
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

    def replace_predictions(self, image_id: int, items: Iterable[tuple], *, skip_degenerate: bool = True) -> list[Box]:
        """Swap the image's unreviewed predictions for new ones; accepted and human boxes stay."""
        with self._tx() as c:
            c.execute("DELETE FROM boxes WHERE image_id=? AND state=?", (image_id, PREDICTED))
            return self.add_boxes(image_id, items, source=SOURCE_MODEL, state=PREDICTED, skip_degenerate=skip_degenerate)

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
