"""`labeler backup DIR` (back up the project store now) and `labeler restore DIR [--list | --from NAME]`
(put a good backup in place of a damaged store; the damaged file is kept aside)."""

from __future__ import annotations

import argparse
from pathlib import Path

from labeler.core import backup
from labeler.core.store import DATA_DIR, DB_NAME, Project, StoreError
from labeler.core.words import counted


def _backup(args: argparse.Namespace) -> int:
    with Project.open(args.folder, create=False) as project:  # opening for writing makes a backup
        made = project.backups.last if project.backups else None
        problem = project.backups.problem if project.backups else "no backup was made"
    if made is None:
        raise StoreError(problem or "no backup was made")
    kept = backup.list_backups(Path(args.folder).expanduser().resolve() / DATA_DIR)
    print(f"Backed up to {made.path} ({counted(len(kept), 'backup')} kept)")
    return 0


def _restore(args: argparse.Namespace) -> int:
    root = Path(args.folder).expanduser().resolve()
    ddir = root / DATA_DIR
    if not ddir.is_dir():
        raise StoreError(f"{root} is not a labeler project (no {DATA_DIR} folder)")
    if args.list:
        backups = backup.list_backups(ddir)
        if not backups:
            print(f"No backups in {backup.backup_dir(ddir)}")
            return 0
        for b in backups:
            problem = backup.integrity_problem(b.path)
            state = "ok" if problem is None else f"DAMAGED ({problem})"
            print(f"{b.name}  {b.age_text():>16}  {b.path.stat().st_size:>10} bytes  {state}")
        return 0
    chosen, aside = backup.restore_project(root, args.from_name)
    print(f"Restored {chosen.name} (made {chosen.age_text()}) as {ddir / DB_NAME}; edits made after it are lost.")
    if aside is not None:
        print(f"The previous store is kept as {aside}")
    with Project.open(root, readonly=True):  # proves the restored store opens and passes the check
        pass
    return 0


def register(sub) -> None:
    p = sub.add_parser("backup", help="back up a project's store now (into DIR/.labeler/backups)")
    p.add_argument("folder", metavar="DIR", help="the project's image folder")
    p.set_defaults(func=_backup)
    p = sub.add_parser("restore", help="replace a damaged store with a good backup (the damaged file is kept aside)")
    p.add_argument("folder", metavar="DIR", help="the project's image folder")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--list", action="store_true", help="list the backups, newest first, and whether each is good")
    g.add_argument("--from", dest="from_name", metavar="NAME", help="restore this backup (default: the newest good one)")
    p.set_defaults(func=_restore)
