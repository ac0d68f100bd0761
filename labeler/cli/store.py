"""`labeler backup DIR` (back up the project store now) and `labeler restore DIR [--list | --from NAME]`
(put a good backup in place of a damaged store; the damaged file is kept aside)."""

from __future__ import annotations

import argparse

from labeler.cli.where import add_project_option, open_project, where
from labeler.core import backup, location
from labeler.core.store import DB_NAME, Project, StoreError
from labeler.core.words import counted


def _backup(args: argparse.Namespace) -> int:
    with open_project(args, create=False) as project:  # opening for writing makes a backup
        made = project.backups.last if project.backups else None
        problem = project.backups.problem if project.backups else "no backup was made"
        ddir = project.data_dir
    if made is None:
        raise StoreError(problem or "no backup was made")
    kept = backup.list_backups(ddir)
    print(f"Backed up to {made.path} ({counted(len(kept), 'backup')} kept)")
    return 0


def _restore(args: argparse.Namespace) -> int:
    loc = where(args)
    root, ddir = loc.images, loc.store
    if not (ddir / DB_NAME).exists() and not backup.list_backups(ddir):
        raise StoreError(f"{root} is not a labeler project (no store in {ddir})")
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
    if loc.apart:
        chosen, aside = location.restore_store(ddir, args.from_name)
    else:
        chosen, aside = backup.restore_project(root, args.from_name)
    print(f"Restored {chosen.name} (made {chosen.age_text()}) as {ddir / DB_NAME}; edits made after it are lost.")
    if aside is not None:
        print(f"The previous store is kept as {aside}")
    # proves the restored store opens and passes the check
    with Project.open(root, store=ddir if loc.apart else None, readonly=True):
        pass
    return 0


def register(sub) -> None:
    p = sub.add_parser("backup", help="back up a project's store now "
                       "(into DIR/.labeler/backups, or PATH/backups with --project)")
    p.add_argument("folder", metavar="DIR", help="the project's image folder")
    add_project_option(p)
    p.set_defaults(func=_backup)
    p = sub.add_parser("restore", help="replace a damaged store with a good backup (the damaged file is kept aside)")
    p.add_argument("folder", metavar="DIR", help="the project's image folder")
    add_project_option(p)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--list", action="store_true", help="list the backups, newest first, and whether each is good")
    g.add_argument("--from", dest="from_name", metavar="NAME", help="restore this backup (default: the newest good one)")
    p.set_defaults(func=_restore)
