"""`--project PATH` on every subcommand, and the one way a subcommand opens its project.

`open_project(args)` asks labeler.core.location where the store of `args.folder` is: PATH when
`--project` names one (a folder holding project.sqlite, created on first use), else the image
folder's own `.labeler`, else (the folder cannot be written) a store in the user data folder, which
is said once, when it is made, and found again silently after that.
"""

from __future__ import annotations

import argparse
import sys

from labeler.core import location
from labeler.core.store import Project

PROJECT_HELP = ("the project store: a folder that holds (or will hold) project.sqlite, its lock, backups and "
                "checkpoints, kept apart from the images (default: IMAGES/.labeler, or the user data folder "
                "when IMAGES cannot be written)")


def add_project_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", metavar="PATH", default=None, help=PROJECT_HELP)


def where(args) -> location.StoreLocation:
    return location.locate(args.folder, getattr(args, "project", None))


def open_project(args, *, readonly: bool = False, create: bool = True) -> Project:
    """Open `args.folder`'s project where `where(args)` puts it."""
    loc = where(args)
    if loc.kind == location.USER_DATA and not loc.exists and not readonly and create:
        print(f"{loc.images} cannot be written, so its project is kept in {loc.store} "
              "(labeler finds it there again whenever this folder is opened)", file=sys.stderr)
    return Project.open(loc.images, store=loc.store if loc.apart else None, readonly=readonly, create=create)
