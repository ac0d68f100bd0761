"""Backups of the project store and recovery from a damaged one.

Backups use SQLite's online backup (`sqlite3.Connection.backup`), never a file copy of a live WAL
database, into `.labeler/backups/backup-YYYYmmdd-HHMMSS.sqlite` (UTC). A backup is written to a
`.partial` file, must pass `PRAGMA integrity_check`, and only then gets its name; only after that
are older ones pruned (keep the newest KEEP_RECENT plus the newest of each day for KEEP_DAYS days).
A backup that fails is deleted and logged; the old ones stay, and the edit that triggered it is
never affected.

`check_store` runs `PRAGMA quick_check` when a project opens; a damaged store raises
DamagedStoreError, whose message names the newest good backup, how many edits after it are lost
and the command that restores it.

How many edits are lost is known from a ledger beside the backups (`backups/edits.json`): a running
count of edits (commits that changed boxes, classes or images), and the count each backup was made
at. Counting costs an integer increment on the editing thread; the ledger is written (atomically,
a few hundred bytes) on a thread of its own, at most every LEDGER_S while edits happen, after each
backup and when the project closes. So after a crash the count is short by at most LEDGER_S of
edits, and the message says up to when it counted; without a ledger entry it says it cannot count.
`restore` moves the damaged store (and its -wal/-shm files) aside to `project.sqlite.damaged-<time>`
and puts a good backup in its place.
"""

from __future__ import annotations

import calendar
import json
import logging
import os
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .files import atomic_write_text
from .records import StoreError
from .words import counted

log = logging.getLogger(__name__)

BACKUP_DIR = "backups"
KEEP_RECENT = 5
KEEP_DAYS = 7
INTERVAL_S = 300.0  # at most one backup per 5 minutes while edits happen
LEDGER_S = 10.0  # the count of edits since the backups is written at most this often while edits happen
LEDGER = "edits.json"
_NAME = re.compile(r"^backup-(\d{8}-\d{6})(?:-(\d+))?\.sqlite$")
_DAMAGE_WORDS = ("malformed", "not a database", "corrupt")


class DamagedStoreError(StoreError):
    """The project store failed its integrity check or cannot be read as a database."""

    def __init__(self, message: str, db_path: Path, backup: "BackupInfo | None", lost_edits: int | None = None):
        super().__init__(message)
        self.db_path = db_path
        self.backup = backup
        #: edits made after `backup` (as the ledger counted them), None when they cannot be counted
        self.lost_edits = lost_edits


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    created: float  # seconds since the epoch

    @property
    def name(self) -> str:
        return self.path.name

    def age_text(self, now: float | None = None) -> str:
        return age_text((time.time() if now is None else now) - self.created)


def age_text(seconds: float) -> str:
    """'just now', '4 minutes ago', '3 hours ago', '2 days ago'."""
    s = max(0.0, seconds)
    if s < 60:
        return "just now"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if s >= size:
            return f"{counted(int(s // size), unit)} ago"
    return "just now"


def is_damage(exc: BaseException) -> bool:
    """True when a sqlite3 error says the file is damaged (not merely busy or missing)."""
    return isinstance(exc, sqlite3.DatabaseError) and any(w in str(exc).lower() for w in _DAMAGE_WORDS)


def backup_dir(data_dir: Path) -> Path:
    return Path(data_dir) / BACKUP_DIR


def list_backups(data_dir: Path) -> list[BackupInfo]:
    """The finished backups, newest first (partial files and foreign names are not listed)."""
    found = []
    bdir = backup_dir(data_dir)
    if not bdir.is_dir():
        return []
    for p in bdir.iterdir():
        m = _NAME.match(p.name)
        if m:
            created = float(calendar.timegm(time.strptime(m.group(1), "%Y%m%d-%H%M%S")))
            found.append((created, int(m.group(2) or 0), BackupInfo(p, created)))
    found.sort(key=lambda t: (t[0], t[1]), reverse=True)
    return [b for _, _, b in found]


def integrity_problem(path: Path, quick: bool = False) -> str | None:
    """None when the database at `path` passes the integrity check; else what is wrong."""
    try:
        conn = sqlite3.connect(Path(path).as_uri() + "?mode=ro", uri=True)
        try:
            rows = conn.execute("PRAGMA quick_check" if quick else "PRAGMA integrity_check").fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return str(exc)
    msgs = [r[0] for r in rows]
    return None if msgs == ["ok"] else "; ".join(msgs[:3])


def newest_good_backup(data_dir: Path) -> BackupInfo | None:
    for b in list_backups(data_dir):
        if integrity_problem(b.path) is None:
            return b
    return None


def make_backup(conn: sqlite3.Connection, data_dir: Path, now: float | None = None) -> BackupInfo:
    """Back up the open store now; check it; then prune older backups. Raises StoreError on failure
    (the failed file is deleted, the older backups stay)."""
    now = time.time() if now is None else now
    bdir = backup_dir(data_dir)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    final = bdir / f"backup-{stamp}.sqlite"
    n = 1
    while final.exists():
        n += 1
        final = bdir / f"backup-{stamp}-{n}.sqlite"
    partial = final.with_name(final.name + ".partial")
    try:
        bdir.mkdir(exist_ok=True)
        dest = sqlite3.connect(partial)
        try:
            conn.backup(dest)
        finally:
            dest.close()
        problem = integrity_problem(partial)
        if problem:
            raise StoreError(f"the new backup failed its integrity check ({problem})")
        os.replace(partial, final)
        os.utime(final, (now, now))
    except (OSError, sqlite3.Error, StoreError) as exc:
        try:
            partial.unlink(missing_ok=True)
        except OSError:
            pass
        text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise StoreError(f"Could not back up the project store to {bdir}: {text}; the older backups are kept") from None
    info = BackupInfo(final, float(calendar.timegm(time.gmtime(now))))
    prune(data_dir, now)
    return info


def prune(data_dir: Path, now: float | None = None) -> list[BackupInfo]:
    """Delete backups beyond the newest KEEP_RECENT and the newest of each of the last KEEP_DAYS days
    (UTC). Returns what was deleted."""
    now = time.time() if now is None else now
    backups = list_backups(data_dir)
    keep = {b.path for b in backups[:KEEP_RECENT]}
    days_seen = set()
    for b in backups:
        day = time.strftime("%Y%m%d", time.gmtime(b.created))
        if now - b.created <= KEEP_DAYS * 86400 and day not in days_seen:
            days_seen.add(day)
            keep.add(b.path)
    deleted = []
    for b in backups:
        if b.path not in keep:
            try:
                b.path.unlink()
                deleted.append(b)
            except OSError as exc:
                log.warning("Could not delete old backup %s: %s", b.path, exc)
    return deleted


def read_ledger(data_dir: Path) -> dict:
    """The ledger: {'total': edits ever counted, 'at': when written, 'backups': {name: total at it}}."""
    try:
        data = json.loads((backup_dir(data_dir) / LEDGER).read_text(encoding="utf-8"))
        return {"total": int(data["total"]), "at": float(data["at"]),
                "backups": {str(k): int(v) for k, v in dict(data["backups"]).items()}}
    except (OSError, ValueError, KeyError, TypeError):  # none yet, or unreadable: nothing can be counted
        return {"total": 0, "at": 0.0, "backups": {}}


def lost_edits(data_dir: Path, backup: "BackupInfo") -> tuple[int, float] | None:
    """(edits made after `backup`, when they were last counted), or None when the ledger cannot tell."""
    ledger = read_ledger(data_dir)
    if backup.name not in ledger["backups"]:
        return None
    return max(0, ledger["total"] - ledger["backups"][backup.name]), ledger["at"]


class AutoBackup:
    """Backs up the store when the project opens and at most every INTERVAL_S after commits.
    A failure is logged (a warning the first time, until a backup works again) and kept in
    `problem`; it never raises into the edit that triggered it.

    With `db_path`, the backups that follow commits run on a thread of their own over a connection of
    their own (WAL lets it read while the app writes), so an edit on the GUI thread never waits for a
    copy of the whole store; one runs at a time, and `wait()` (called by Project.close) lets it finish."""

    def __init__(self, conn: sqlite3.Connection, data_dir: Path, clock=time.time, db_path: Path | None = None):
        self._conn = conn
        self._data_dir = Path(data_dir)
        self._clock = clock
        self._db_path = db_path
        self._last = float("-inf")
        self._thread: threading.Thread | None = None
        self.problem: str | None = None
        self.last: BackupInfo | None = None
        #: called (no arguments, on the thread that made it) after each backup made or failed
        self.on_change = None
        ledger = read_ledger(self._data_dir)
        self.edits = ledger["total"]  # edits counted, ever: the ledger's running total
        self._at_backup = ledger["backups"]
        self._ledger_written = self.edits
        self._ledger_time = float("-inf")

    def now(self, conn: sqlite3.Connection | None = None) -> BackupInfo | None:
        self._last = self._clock()
        edits = self.edits  # the backup holds at least these (a commit during the copy may be in it too)
        try:
            made = make_backup(conn or self._conn, self._data_dir, self._last)
        except StoreError as exc:
            if self.problem is None:
                log.warning("%s", exc)
            else:
                log.debug("%s", exc)
            self.problem = str(exc)
            self._changed()
            return None
        if self.problem is not None:
            log.info("Backups work again: %s", made.name)
        self.last, self.problem = made, None
        self._at_backup[made.name] = edits
        self.write_ledger()
        self._changed()
        return made

    def _changed(self) -> None:
        if self.on_change is not None:
            try:
                self.on_change()
            except Exception:  # a listener's bug must not stop the backups
                log.exception("A backup listener failed")

    def write_ledger(self) -> None:
        """Write the count of edits and the count each kept backup was made at (failures are logged)."""
        kept = {b.name for b in list_backups(self._data_dir)}
        self._at_backup = {k: v for k, v in self._at_backup.items() if k in kept}
        edits, now = self.edits, self._clock()
        data = {"total": edits, "at": now, "backups": dict(self._at_backup)}
        try:
            backup_dir(self._data_dir).mkdir(exist_ok=True)
            atomic_write_text(backup_dir(self._data_dir) / LEDGER, json.dumps(data))
        except OSError as exc:
            log.debug("Could not write the edit ledger: %s", exc)
            return
        self._ledger_written, self._ledger_time = edits, now

    def after_commit(self, edited: bool = True) -> None:
        """Cheap: an increment and a time comparison; a backup only when INTERVAL_S has passed, the
        ledger only when LEDGER_S has (both on a thread of their own when there is a db_path)."""
        if edited:
            self.edits += 1
        now = self._clock()
        backup_due = now - self._last >= INTERVAL_S
        ledger_due = self.edits != self._ledger_written and now - self._ledger_time >= LEDGER_S
        if not (backup_due or ledger_due):
            return
        if self._db_path is None:
            self.now() if backup_due else self.write_ledger()
            return
        if self._thread is not None and self._thread.is_alive():
            return
        if backup_due:
            self._last = now  # no second thread for the commits that follow at once
        else:
            self._ledger_time = now
        target = self._in_background if backup_due else self.write_ledger
        self._thread = threading.Thread(target=target, name="labeler-backup", daemon=True)
        self._thread.start()

    def _in_background(self) -> None:
        try:
            src = sqlite3.connect(self._db_path, timeout=30)
        except sqlite3.Error as exc:
            self.problem = f"Could not back up the project store: {exc}"
            log.warning("%s", self.problem)
            self._changed()
            return
        try:
            self.now(src)
        finally:
            src.close()

    def close(self) -> None:
        """Let a backup in flight finish and write the ledger if edits came since (Project.close)."""
        self.wait()
        if self.edits != self._ledger_written:
            self.write_ledger()

    def wait(self, timeout: float | None = None) -> None:
        """Let a backup in flight finish (the project is closing, or a test wants its result)."""
        if self._thread is not None:
            self._thread.join(timeout)


def check_store(conn: sqlite3.Connection, db_path: Path) -> None:
    """Raise DamagedStoreError unless the open store passes PRAGMA quick_check."""
    try:
        rows = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()]
    except sqlite3.DatabaseError as exc:
        raise damaged_error(db_path, str(exc)) from None
    if rows != ["ok"]:
        raise damaged_error(db_path, "; ".join(rows[:3]))


def _restore_command(data_dir: Path, folder: Path, good_backup: Path) -> str:
    """The command that restores this store: a store kept apart from its images (--project) names its
    image folder as the (whole) backup records it."""
    from .location import IMAGES_FOLDER_SETTING, read_setting
    from .store import DATA_DIR

    if data_dir.name == DATA_DIR:
        return f"labeler restore {folder}"
    try:
        images = read_setting(good_backup, IMAGES_FOLDER_SETTING)
    except (sqlite3.DatabaseError, ValueError):
        images = None
    return f"labeler restore --project {data_dir} {images if isinstance(images, str) else 'IMAGE_FOLDER'}"


def damaged_error(db_path: Path, reason: str) -> DamagedStoreError:
    db_path = Path(db_path)
    data_dir = db_path.parent
    folder = data_dir.parent
    good = newest_good_backup(data_dir)
    text = f"The project store {db_path} is damaged ({reason}). It was not opened."
    lost = None
    if good is None:
        text += " There is no good backup of it to restore."
    else:
        counted_lost = lost_edits(data_dir, good)
        if counted_lost is None:
            after = "edits made after it (they cannot be counted) are lost if you restore it"
        else:
            lost, at = counted_lost
            after = (f"{counted(lost, 'edit')} made after it (as counted {age_text(time.time() - at)}) "
                     f"{'is' if lost == 1 else 'are'} lost if you restore it")
        text += (f" The newest good backup is {good.name}, made {good.age_text()}; {after}."
                 f" To restore it (the damaged file is kept aside): {_restore_command(data_dir, folder, good.path)}")
    return DamagedStoreError(text, db_path, good, lost)


def restore(data_dir: Path, name: str | None = None, now: float | None = None) -> tuple[BackupInfo, Path | None]:
    """Put a good backup in place of the store (newest good one, or the one called `name`). The current
    store and its -wal/-shm files are first moved aside to `<store>.damaged-<time>`; returns the backup
    used and where the old store went (None if there was none). The caller holds the project lock."""
    from .store import DB_NAME  # the store imports this module

    data_dir = Path(data_dir)
    backups = list_backups(data_dir)
    if name is not None:
        chosen = next((b for b in backups if b.name == name), None)
        if chosen is None:
            known = ", ".join(b.name for b in backups) or "none"
            raise StoreError(f"No backup called {name!r} in {backup_dir(data_dir)} (there are: {known})")
        problem = integrity_problem(chosen.path)
        if problem:
            raise StoreError(f"The backup {name} is damaged too ({problem}); nothing was changed")
    else:
        chosen = newest_good_backup(data_dir)
        if chosen is None:
            raise StoreError(f"There is no good backup in {backup_dir(data_dir)}; nothing was changed")
    db = data_dir / DB_NAME
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(time.time() if now is None else now))
    aside = db.with_name(f"{DB_NAME}.damaged-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = db.with_name(f"{DB_NAME}.damaged-{stamp}-{n}")
    tmp = db.with_name(DB_NAME + ".restoring")
    try:
        src = sqlite3.connect(chosen.path.as_uri() + "?mode=ro", uri=True)
        dest = sqlite3.connect(tmp)
        try:
            src.backup(dest)
        finally:
            dest.close()
            src.close()
        moved = None
        if db.exists():
            os.replace(db, aside)
            moved = aside
        for suffix in ("-wal", "-shm"):
            side = db.with_name(DB_NAME + suffix)
            if side.exists():
                os.replace(side, aside.with_name(aside.name + suffix))
        os.replace(tmp, db)
    except (OSError, sqlite3.Error) as exc:
        tmp.unlink(missing_ok=True)
        text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise StoreError(f"Could not restore {chosen.name}: {text}") from None
    log.info("Restored %s; the previous store is kept as %s", chosen.name, moved)
    return chosen, moved


def restore_project(folder: str | os.PathLike, name: str | None = None) -> tuple[BackupInfo, Path | None]:
    """`restore` for a project folder, holding its write lock (ProjectLockedError if it is open)."""
    from .lock import lock_project
    from .store import DATA_DIR, LOCK_NAME

    ddir = Path(folder).expanduser().resolve() / DATA_DIR
    if not ddir.is_dir():
        raise StoreError(f"{ddir.parent} is not a labeler project (no {DATA_DIR} folder)")
    with lock_project(ddir / LOCK_NAME):
        return restore(ddir, name)
