"""Where a project's store lives: inside its image folder, at a place the user names, or in the user
data folder when the image folder cannot be written.

A store is a folder holding `project.sqlite` with its `lock`, `backups/` and the training runs'
checkpoints (`runs/<id>/`). By default it is `IMAGES/.labeler/`; `--project PATH` (or File > New
project for a folder…) puts it at PATH, a folder, while image paths inside stay relative to the image
folder. Every store records its image folder (the settings row `IMAGES_FOLDER_SETTING`, an absolute
path), so a store opened on its own finds its images, says so when they are gone, and can be re-pointed
with `relink` (which first counts how many of the recorded images are in the new folder).

An image folder the user cannot write (read-only media, another user's dataset) gets its store in the
user data folder, `user_store_dir(folder)`: `<user data>/labeler/projects/<hash>-<name>`, the hash of
the folder's resolved path so two folders of one name never share a store, the name so a person can
tell them apart. `locate` finds it again the next time the same folder is opened. Pure Python: the
CLI and the app both decide through here.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .records import StoreError

#: the settings row that records the store's image folder (absolute path); no schema change needed
IMAGES_FOLDER_SETTING = "store.images_folder"
#: folders (os.pathsep-separated) that `folder_writable` treats as unwritable whatever the file
#: system says: how a test run as root, whom chmod does not stop, checks the read-only path
READONLY_ENV = "LABELER_READONLY_FOLDERS"

#: `StoreLocation.kind`: the store inside the image folder, at a path the user gave, in the user data folder
IN_FOLDER, GIVEN, USER_DATA = "in-folder", "given", "user-data"


class ImagesFolderMissingError(StoreError):
    """The store's recorded image folder is gone (moved, renamed, a drive not mounted)."""

    def __init__(self, store: Path, folder: Path):
        self.store = Path(store)
        self.folder = Path(folder)
        super().__init__(
            f"The image folder of the project {self.store} is gone: {self.folder} does not exist. If the images "
            f"moved, point the project at their new folder: labeler relink --project {self.store} NEWFOLDER"
        )


def read_setting(db_path: str | os.PathLike, key: str):
    """One settings value of a store file (or a backup of one), read without opening it as a project:
    read-only, no lock, no migration. None when the row is absent; sqlite3.DatabaseError for a file
    SQLite cannot read, ValueError for a value that is not JSON."""
    conn = sqlite3.connect(Path(db_path).as_uri() + "?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT value FROM settings WHERE key=?", (key,)).fetchone()
    finally:
        conn.close()
    return json.loads(row[0]) if row else None


def recorded_folder(db_path: str | os.PathLike) -> Path:
    """The image folder a store kept apart from its images records; ImagesFolderMissingError when it
    is gone, DamagedStoreError or StoreError when the store cannot be read or records none."""
    from . import backup

    db_path = Path(db_path)
    ddir = db_path.parent
    if not db_path.is_file():
        raise StoreError(f"{ddir} is not a labeler project store (no {db_path.name} in it)")
    try:
        value = read_setting(db_path, IMAGES_FOLDER_SETTING)
    except sqlite3.DatabaseError as exc:
        if backup.is_damage(exc):
            raise backup.damaged_error(db_path, str(exc)) from None
        raise StoreError(f"{db_path} is not a readable labeler store: {exc}") from None
    except ValueError as exc:
        raise StoreError(f"{db_path} records its image folder in a form this labeler cannot read: {exc}") from None
    if not isinstance(value, str):
        raise StoreError(f"The project {ddir} does not record its image folder; open it with its images: "
                         f"labeler --project {ddir} IMAGES")
    folder = Path(value)
    if not folder.is_dir():
        raise ImagesFolderMissingError(ddir, folder)
    return folder


@dataclass(frozen=True)
class StoreLocation:
    """Where `locate` put a folder's store. `exists`: a project.sqlite is already there."""

    images: Path
    store: Path
    kind: str
    exists: bool

    @property
    def apart(self) -> bool:
        """True when the store is not the image folder's own `.labeler` (pass it as Project.open's `store`)."""
        return self.kind != IN_FOLDER


def user_data_root() -> Path:
    """The user's data folder for labeler (platformdirs: $XDG_DATA_HOME/labeler on Linux)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("labeler", appauthor=False))


def user_store_dir(folder: str | os.PathLike) -> Path:
    """The store kept in the user data folder for an image folder that cannot hold its own."""
    root = Path(folder).expanduser().resolve()
    digest = hashlib.sha256(str(root).encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return user_data_root() / "projects" / f"{digest}-{root.name or 'root'}"


def folder_writable(folder: str | os.PathLike) -> bool:
    """Whether a store can be created in `folder`: a real write (a temporary file made and removed),
    since os.access does not see read-only mounts everywhere; `READONLY_ENV` overrides it."""
    root = Path(folder).expanduser().resolve()
    for entry in filter(None, os.environ.get(READONLY_ENV, "").split(os.pathsep)):
        if Path(entry).expanduser().resolve() == root:
            return False
    try:
        with tempfile.TemporaryFile(dir=root, prefix=".labeler-write-check-"):
            return True
    except OSError:
        return False


def locate(folder: str | os.PathLike, project: str | os.PathLike | None = None) -> StoreLocation:
    """Decide where the store of the image folder `folder` is, or will be.

    `project` given: there. Otherwise the folder's own `.labeler` when it holds a store, then a store
    kept for it in the user data folder, then `.labeler` again if the folder can be written, and the
    user data folder when it cannot. Creates nothing."""
    from .store import DATA_DIR, DB_NAME

    images = Path(folder).expanduser().resolve()
    if project is not None:
        store = store_folder(project)
        return StoreLocation(images, store, GIVEN, (store / DB_NAME).is_file())
    own = images / DATA_DIR
    if (own / DB_NAME).is_file():
        return StoreLocation(images, own, IN_FOLDER, True)
    kept = user_store_dir(images)
    if (kept / DB_NAME).is_file():
        return StoreLocation(images, kept, USER_DATA, True)
    if not images.is_dir() or folder_writable(images):
        return StoreLocation(images, own, IN_FOLDER, False)
    return StoreLocation(images, kept, USER_DATA, False)


def store_folder(path: str | os.PathLike) -> Path:
    """`--project PATH` as a store folder: PATH is the folder that holds (or will hold) project.sqlite."""
    from .store import DB_NAME

    p = Path(path).expanduser().resolve()
    if p.is_file():
        hint = f" (give its folder, {p.parent})" if p.name == DB_NAME else ""
        raise StoreError(f"--project names a folder that holds {DB_NAME}, and {p} is a file{hint}")
    return p


def is_store_folder(path: str | os.PathLike) -> bool:
    """True when `path` is a store folder itself (holds project.sqlite), not an image folder."""
    from .store import DB_NAME

    return (Path(path).expanduser() / DB_NAME).is_file()


def relink(store: str | os.PathLike, new_folder: str | os.PathLike) -> tuple[int, int]:
    """Point the store at its images' new folder. Counts how many of the recorded images are there and
    refuses (changing nothing) when none of them are; returns (found, recorded)."""
    from .store import DB_NAME, Project

    store = store_folder(store)
    if not (store / DB_NAME).is_file():
        raise StoreError(f"{store} is not a labeler project store (no {DB_NAME} in it)")
    new = Path(new_folder).expanduser().resolve()
    if not new.is_dir():
        raise StoreError(f"{new} is not a folder")
    with Project.open(new, store=store, create=False, repoint=True) as project:
        paths = [im.path for im in project.images()]
        found = sum(1 for rel in paths if (new / rel).is_file())
        if paths and not found:
            old = project.get_setting(IMAGES_FOLDER_SETTING)
            raise StoreError(f"None of the project's {len(paths)} images are in {new}; it still points at {old}")
        project.set_setting(IMAGES_FOLDER_SETTING, str(new))
    return found, len(paths)


def restore_store(store: str | os.PathLike, name: str | None = None):
    """labeler.core.backup.restore for a store folder anywhere, holding its lock (ProjectLockedError
    when it is open): the newest good backup (or `name`) replaces the store, the old file kept aside."""
    from . import backup
    from .lock import lock_project
    from .store import LOCK_NAME

    store = store_folder(store)
    with lock_project(store / LOCK_NAME, name=str(store)):
        return backup.restore(store, name)
