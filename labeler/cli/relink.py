"""`labeler relink --project PATH NEWFOLDER`: point a store kept apart from its images at the folder
the images moved to (it counts how many of the recorded images are there, and changes nothing when
none are)."""

from __future__ import annotations

from labeler.core import location
from labeler.core.words import counted


def _relink(args) -> int:
    found, total = location.relink(args.project, args.folder)
    print(f"The project {location.store_folder(args.project)} now uses the images in "
          f"{location.store_folder(args.folder)}: {found} of {counted(total, 'recorded image')} found there.")
    if found < total:
        print(f"Not there: {counted(total - found, 'image')}; they stay in the project, with their boxes, "
              "shown as missing.")
    return 0


def register(sub) -> None:
    p = sub.add_parser("relink", help="point a project store kept apart from its images at their new folder",
                       description="Point the store at PATH at the folder its images moved to. Checks first how "
                       "many of the images it records are there; refuses when none are.")
    p.add_argument("--project", metavar="PATH", required=True,
                   help="the project store (the folder holding project.sqlite)")
    p.add_argument("folder", metavar="NEWFOLDER", help="the image folder as it is now")
    p.set_defaults(func=_relink)
