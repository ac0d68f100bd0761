"""The project store: one SQLite file, inside the image folder or apart from it, written on every edit.

The folder is the project; `.labeler/project.sqlite` holds images, categories, boxes, settings and
training runs; each table's queries live in its own module under core/tables/, and Project keeps
one-line methods that delegate to them. Every public mutating method is one short transaction, so a killed process loses
nothing that was committed. Paths are stored relative to the folder (forward slashes), so a moved
folder still opens. The store may live apart from its images (`Project.open(folder, store=PATH)`,
labeler.core.location: read-only media, two tasks over one folder); it records its image folder.

One process writes a project at a time: `Project.open` takes an exclusive lock on
`.labeler/lock`; a second writer gets ProjectLockedError. `readonly=True` skips the lock (info,
export). A Project may be used from several threads (GUI, decode and model workers): each call
holds the project's lock for its short transaction.

Listeners (`add_listener`) hear about every change as (kind, ids) after it commits; the GUI turns
these into Qt signals.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from . import backup, history, netfs, schema
from .lock import lock_project

# The value types, states and errors live in records.py, the tables in schema.py, the folder walk in
# scan.py; callers import them from here as well, as they did before the split.
from .records import (  # noqa: F401
    ACCEPTED, BOX_STATES, HUMAN, IMAGE_STATUSES, MIN_BOX_SIZE, MISSING, NEEDS_REVIEW, PALETTE, PREDICTED,
    PRELABELED, IN_PROGRESS, REVIEWED, SOURCE_HUMAN, SOURCE_MODEL, UNLABELED, UNREADABLE, Box, Category, ImageRecord, ProjectLockedError,
    ScanResult, StoreError, StoreWriteError,
)
from .schema import MIGRATIONS, SCHEMA, SCHEMA_VERSION  # noqa: F401
from .tables.boxes import Boxes
from .tables.categories import Categories
from .tables.images import Images
from .tables.runs import Runs
from .tables.settings import Settings

log = logging.getLogger(__name__)

DATA_DIR = ".labeler"
#: change notices that mean a person's (or a job's) edit, counted for the backups' ledger
_EDIT_KINDS = ("boxes", "categories", "images")
DB_NAME = "project.sqlite"
LOCK_NAME = "lock"


def data_dir(folder: str | os.PathLike) -> Path:
    return Path(folder) / DATA_DIR


class Project:
    """An image folder and its annotation store."""

    def __init__(self, root: Path, conn: sqlite3.Connection, lock_handle, readonly: bool,
                 store_dir: Path | None = None):
        self.root = root
        #: the store folder: project.sqlite, its lock, backups/ and runs/ (checkpoints)
        self.store_dir = Path(store_dir) if store_dir is not None else root / DATA_DIR
        self._conn = conn
        self._lock_handle = lock_handle
        self.readonly = readonly
        self._mutex = threading.RLock()
        self._listeners: list[Callable[[str, tuple], None]] = []
        self._batch_depth = 0
        self._pending: list[tuple[str, tuple]] = []
        self.backups: backup.AutoBackup | None = None  # set by open() for a writable project
        #: the network file system the store is on ('nfs4', 'cifs', …), None when local (core.netfs)
        self.network_fs: str | None = None
        self._images = Images(self)
        self._categories = Categories(self)
        self._boxes = Boxes(self)
        self._settings = Settings(self)
        self._runs = Runs(self)

    # ------------------------------------------------------------------ open / close
    @classmethod
    def open(cls, folder: str | os.PathLike | None, *, readonly: bool = False, create: bool = True,
             store: str | os.PathLike | None = None, repoint: bool = False) -> "Project":
        """Open (or create) the project of the image folder `folder`.

        `store`: the store folder to use instead of `folder/.labeler` (labeler.core.location); with
        `folder` None the store's recorded image folder is used, and ImagesFolderMissingError says
        when it is gone. A store apart from its images opens only over the folder it records (a
        StoreError says how to re-point it) unless `repoint` (location.relink)."""
        from . import location

        ddir = location.store_folder(store) if store is not None else None
        if folder is None:
            if ddir is None:
                raise StoreError("No image folder and no project store given")
            root = location.recorded_folder(ddir / DB_NAME)
        else:
            root = Path(folder).expanduser().resolve()
        if not root.is_dir():
            raise StoreError(f"{root} is not a folder")
        if ddir is None:
            ddir = root / DATA_DIR
        db_path = ddir / DB_NAME
        if readonly and not db_path.exists():
            raise StoreError(f"{root} is not a labeler project yet (no {_shown(db_path, root)}); "
                             "open it once to create one")
        lock = None
        if not readonly:
            if not db_path.exists() and not create:
                raise StoreError(f"{root} is not a labeler project" + ("" if store is None else f" at {ddir}"))
            try:
                ddir.mkdir(exist_ok=True, parents=store is not None)
            except OSError as exc:
                raise StoreError(f"Cannot create {ddir}: {exc.strerror or exc}") from None
            try:
                lock = lock_project(ddir / LOCK_NAME, name=str(root if store is None else ddir))
            except OSError as exc:  # a store on read-only media: it can be read, not written
                raise StoreError(f"Cannot write the project store in {ddir}: {exc.strerror or exc}. "
                                 "It can still be read (labeler info, export).") from None
        conn = None
        try:
            uri = db_path.as_uri() + ("?mode=ro" if readonly else "")
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None, timeout=10)
            conn.execute("PRAGMA foreign_keys = ON")
            network = netfs.network_filesystem(ddir)
            if not readonly:
                # WAL's shared-memory index is unsafe on a network file system: there, the rollback
                # journal, which needs only file locks (and a full sync per commit)
                conn.execute(f"PRAGMA journal_mode = {'DELETE' if network else 'WAL'}")
                conn.execute(f"PRAGMA synchronous = {'FULL' if network else 'NORMAL'}")
            backup.check_store(conn, db_path)  # PRAGMA quick_check; raises DamagedStoreError
            project = cls(root, conn, lock, readonly, store_dir=ddir)
            project.network_fs = network
            if not readonly:
                project._migrate()
            else:
                project._check_version()
            project._check_images_folder(apart=store is not None, repoint=repoint)
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
        if network and not readonly:
            log.warning("%s", project.store_note())
        if not readonly:
            project.backups = backup.AutoBackup(conn, ddir, db_path=db_path)
            project.backups.now()  # logged, never raised, when it fails
        return project

    def _check_images_folder(self, *, apart: bool, repoint: bool) -> None:
        """Record the image folder in the store; refuse a store apart from its images opened over
        another folder than the one it records (its own `.labeler` simply follows the folder)."""
        from .location import IMAGES_FOLDER_SETTING

        has_settings = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='settings'").fetchone()
        recorded = self.get_setting(IMAGES_FOLDER_SETTING) if has_settings else None
        if apart and recorded and not repoint and Path(recorded) != self.root:
            gone = "" if Path(recorded).is_dir() else " (which is gone)"
            raise StoreError(
                f"The project {self.store_dir} belongs to the images in {recorded}{gone}, not {self.root}. "
                f"If the images moved there: labeler relink --project {self.store_dir} {self.root}")
        if not self.readonly and not repoint and recorded != str(self.root):
            self.set_setting(IMAGES_FOLDER_SETTING, str(self.root))

    @property
    def journal_mode(self) -> str:
        """SQLite's journal mode for the store: 'wal', or 'delete' on a network file system."""
        return str(self._query("PRAGMA journal_mode")[0][0]).lower()

    def store_note(self) -> str | None:
        """What the user should know about where the store lives (a network file system), or None."""
        if not self.network_fs:
            return None
        return (f"The project store {self.data_dir / DB_NAME} is on a network file system ({self.network_fs}): "
                f"SQLite's WAL mode is unsafe there, so it uses journal_mode=DELETE (edits are slower; "
                f"open the project from one computer at a time).")

    @property
    def is_open(self) -> bool:
        """False once `close` ran (a deferred GUI refresh checks this before it queries)."""
        return self._conn is not None

    def close(self) -> None:
        if self.backups is not None:
            self.backups.close()  # a backup in flight reads the file we are about to checkpoint
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
        """The store folder (`root/.labeler` unless the store lives apart from its images)."""
        return self.store_dir

    @property
    def apart(self) -> bool:
        """True when the store is not the image folder's own `.labeler`."""
        return self.store_dir != self.root / DATA_DIR

    def _version(self) -> int:
        return schema.stored_version(self._conn)

    def _check_version(self) -> None:
        schema.check_version(self._conn)

    def _migrate(self) -> None:
        schema.check_version(self._conn)
        with self._tx():
            schema.migrate(self._conn)

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
                try:
                    self.p._conn.execute("BEGIN IMMEDIATE")  # takes the write lock: fails on a disk gone read-only
                except sqlite3.OperationalError as err:
                    self.p._mutex.release()
                    raise _storage_error(err, self.p) from None
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
                            p._rollback()
                            raise _storage_error(err, p) from None
                        if p.backups is not None:  # counts an edit (for the ledger), backs up now and then
                            p.backups.after_commit(any(kind in _EDIT_KINDS for kind, _ids in p._pending))
                    else:
                        p._rollback()
            finally:
                pending = []
                if p._batch_depth == 0:
                    pending, p._pending = p._pending, []
                p._mutex.release()
            if exc_type is None and pending:
                p._emit(pending)
            if isinstance(exc, sqlite3.OperationalError):
                raise _storage_error(exc, p) from None
            return False

    def _rollback(self) -> None:
        """Undo the open transaction, if SQLite has not already (after SQLITE_FULL or an I/O error it
        may have rolled back on its own); the change notices of the failed edit are dropped."""
        self._pending.clear()
        if self._conn.in_transaction:
            try:
                self._conn.execute("ROLLBACK")
            except sqlite3.Error:  # the folder is gone: nothing was committed, nothing to undo
                pass

    def _tx(self) -> "Project._Tx":
        if self.readonly:
            raise StoreError("The project is open read-only")
        return Project._Tx(self)

    def batch(self) -> "Project._Tx":
        """Group several edits into one transaction (and one round of change events)."""
        return self._tx()

    def _changed(self, kind: str, ids: Iterable[int] = ()) -> None:
        self._pending.append((kind, tuple(ids)))

    def changed(self, kind: str, ids: Iterable[int] = ()) -> None:
        """Tell the listeners, once the open `batch()` commits, that `kind` changed for `ids`: for
        a bulk writer (core.bulk's importers) that wrote through the batch's connection itself."""
        if self._batch_depth == 0:
            raise StoreError("Project.changed is for a writer inside batch()")
        self._changed(kind, ids)

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

    # ------------------------------------------------------------------ tables
    # Each table lives in core/tables/; these thin methods keep Project's public face, so callers
    # did not change with the split. A new table gets its own module there, not methods here.

    # images (tables/images.py)
    def scan(self, progress: Callable[[int, int], None] | None = None) -> ScanResult:
        """Find images under the folder (recursively); record new ones, mark vanished ones."""
        return self._images.scan(progress)

    def add_image_records(self, records: Iterable[tuple[str, int, int]]) -> None:
        return self._images.add_records(records)

    def images(self, status: str | None = None) -> list[ImageRecord]:
        return self._images.all(status)

    def image(self, image_id: int) -> ImageRecord:
        return self._images.get(image_id)

    def images_by_ids(self, image_ids: Iterable[int]) -> list[ImageRecord]:
        return self._images.by_ids(image_ids)

    def image_by_path(self, rel: str) -> ImageRecord | None:
        return self._images.by_path(rel)

    def image_path(self, image: ImageRecord | int) -> Path:
        return self._images.path(image)

    def status_counts(self) -> dict[str, int]:
        return self._images.status_counts()

    def set_reviewed(self, image_ids: int | Iterable[int], reviewed: bool = True) -> None:
        return self._images.set_reviewed(image_ids, reviewed)

    def mark_unreadable(self, image_id: int, reason: str) -> None:
        return self._images.mark_unreadable(image_id, reason)

    # categories (tables/categories.py)
    def categories(self) -> list[Category]:
        return self._categories.all()

    def category(self, category_id: int) -> Category:
        return self._categories.get(category_id)

    def category_by_name(self, name: str) -> Category | None:
        return self._categories.by_name(name)

    def add_category(self, name: str, color: str | None = None, *, category_id: int | None = None,
                     position: int | None = None) -> Category:
        return self._categories.add(name, color, category_id=category_id, position=position)

    def rename_category(self, category_id: int, name: str) -> None:
        return self._categories.rename(category_id, name)

    def recolor_category(self, category_id: int, color: str) -> None:
        return self._categories.recolor(category_id, color)

    def reorder_categories(self, ordered_ids: Sequence[int]) -> None:
        return self._categories.reorder(ordered_ids)

    def delete_category(self, category_id: int) -> tuple[Category, list[Box]]:
        return self._categories.delete(category_id)

    def restore_category(self, category: Category, boxes: Sequence[Box] = ()) -> None:
        return self._categories.restore(category, boxes)

    def merge_categories(self, source_id: int, target_id: int) -> tuple[Category, list[int]]:
        return self._categories.merge(source_id, target_id)

    def box_counts_by_category(self) -> dict[int, dict[str, int]]:
        return self._categories.box_counts()

    # boxes (tables/boxes.py)
    def boxes(self, image_id: int) -> list[Box]:
        return self._boxes.of_image(image_id)

    def box(self, box_id: int) -> Box:
        return self._boxes.get(box_id)

    def boxes_by_ids(self, box_ids: Iterable[int]) -> list[Box]:
        return self._boxes.by_ids(box_ids)

    def all_boxes(self, states: Sequence[str] | None = None) -> Iterator[Box]:
        return self._boxes.all(states)

    def box_flags(self) -> dict[int, int]:
        """{box id: flags} of every box with a flag (records.CROWD, DIFFICULT, TRUNCATED, OCCLUDED)."""
        return self._boxes.flags_by_id()

    def box_rows_with_fit(self, states: Sequence[str]) -> list[tuple]:
        return self._boxes.rows_with_fit(states)

    def box_counts_by_image(self, states: Sequence[str]) -> dict[int, int]:
        return self._boxes.counts_by_image(states)

    def add_box(self, image_id: int, category_id: int, x1: float, y1: float, x2: float, y2: float, *,
                source: str = SOURCE_HUMAN, score: float | None = None, state: str = HUMAN) -> Box:
        """Add a box (clipped to the image). Raises StoreError if it is degenerate after clipping."""
        return self._boxes.add_many(image_id, [(category_id, x1, y1, x2, y2, score)], source=source, state=state)[0]

    def add_boxes(self, image_id: int, items: Iterable[tuple], *, source: str = SOURCE_HUMAN,
                  state: str = HUMAN, skip_degenerate: bool = False) -> list[Box]:
        return self._boxes.add_many(image_id, items, source=source, state=state, skip_degenerate=skip_degenerate)

    def restore_boxes(self, boxes: Iterable[Box]) -> None:
        return self._boxes.restore(boxes)

    def delete_boxes(self, box_ids: Iterable[int]) -> list[Box]:
        return self._boxes.delete(box_ids)

    def set_box_rect(self, box_id: int, x1: float, y1: float, x2: float, y2: float, *, as_human: bool = True) -> Box:
        return self._boxes.set_rect(box_id, x1, y1, x2, y2, as_human=as_human)

    def set_box_category(self, box_ids: Iterable[int], category_id: int) -> list[Box]:
        return self._boxes.set_category(box_ids, category_id)

    def set_box_state(self, box_ids: Iterable[int], state: str) -> list[Box]:
        return self._boxes.set_state(box_ids, state)

    def update_boxes(self, boxes: Iterable[Box]) -> None:
        return self._boxes.update(boxes)

    def replace_predictions(self, image_id: int, items: Iterable[tuple], *, skip_degenerate: bool = True,
                            model: str = history.UNKNOWN_MODEL, informativeness: float | None = None) -> list[Box]:
        """Swap the image's unreviewed predictions for new ones; accepted and human boxes stay.
        `model` (its key) is kept with each proposed box, and the image's `informativeness` (None:
        the default formula over the new boxes' scores) for the review queue (labeler.core.history)."""
        return self._boxes.replace_predictions(image_id, items, skip_degenerate=skip_degenerate, model=model,
                                               informativeness=informativeness)

    # settings (tables/settings.py)
    def get_setting(self, key: str, default=None):
        return self._settings.get(key, default)

    def set_setting(self, key: str, value) -> None:
        return self._settings.set(key, value)

    # training runs (tables/runs.py)
    def add_run(self, architecture: str, settings: dict, classes: Sequence[str]) -> int:
        return self._runs.add(architecture, settings, classes)

    def update_run(self, run_id: int, **fields) -> None:
        return self._runs.update(run_id, **fields)

    def runs(self) -> list[dict]:
        return self._runs.all()

    def run(self, run_id: int) -> dict:
        return self._runs.get(run_id)


def _shown(db_path: Path, root: Path) -> str:
    try:
        return db_path.relative_to(root).as_posix()
    except ValueError:
        return str(db_path)


def _storage_error(err: sqlite3.OperationalError, project: "Project") -> StoreError:
    """The user's message for a write that failed: what happened, that the edit was not saved (the
    transaction was rolled back) and what to do about it."""
    msg = str(err)
    low = msg.lower()
    root, store = project.root, project.store_dir / DB_NAME
    if "locked" in low or "busy" in low:
        return StoreWriteError(f"The project store is busy in another process ({msg}); the edit was not saved", "busy")
    if not root.is_dir() or not store.parent.is_dir():
        return StoreWriteError(
            f"The project folder {root} is gone (a drive unplugged or a network share lost?): the last edit was not"
            f" saved ({msg}). Everything saved before it is in {store}; reconnect the folder and reopen the project.",
            "gone")
    if "full" in low:
        return StoreWriteError(f"The disk is full: the last edit was not saved ({msg}). Everything saved before it "
                               f"is kept; free some space on the disk that holds {store.parent} and edit again.", "full")
    if "readonly" in low or "read-only" in low:
        return StoreWriteError(f"The project store {store} cannot be written any more ({msg}): the last edit was not"
                               f" saved. Check the disk's permissions or whether it was remounted read-only.", "readonly")
    if "i/o" in low or "disk" in low:
        return StoreWriteError(f"The disk that holds {store} reported an I/O error: the last edit was not saved "
                               f"({msg}). Everything saved before it is kept; check the disk and edit again.", "io")
    return StoreWriteError(f"Could not write the project store {store}: {msg}; the last edit was not saved", "io")
