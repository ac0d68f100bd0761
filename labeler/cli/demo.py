"""`labeler demo DIR`: write the built-in demo project."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from labeler.core.demo import default_demo_dir, write_demo
from labeler.core.store import StoreError


def cmd_demo(args) -> int:
    from tqdm import tqdm

    folder = Path(args.folder) if args.folder else default_demo_dir()
    if folder.exists() and any(p for p in folder.iterdir() if p.name != ".labeler") and not args.force:
        if not (folder / "scenes").is_dir():
            print(f"labeler: error: {folder} is not empty; choose an empty or new folder (or --force)", file=sys.stderr)
            return 2
    with tqdm(total=args.images + 1, unit="img", desc="Writing demo", file=sys.stderr) as bar:
        def progress(done, total):
            bar.n = done
            bar.refresh()

        try:
            write_demo(folder, n_images=args.images, n_reviewed=args.reviewed, seed=args.seed, progress=progress)
        except (StoreError, OSError) as exc:
            print(f"labeler: error: {exc}", file=sys.stderr)
            return 2
    print(f"Demo project written to {folder}: {args.images} scenes, {args.reviewed} labeled and reviewed.")
    print(f"Next: labeler {folder}   (or: labeler train {folder} --from scratch)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="write the built-in demo project",
                       description="Write a demo project of generated scenes (five shape classes on varied "
                       "backgrounds): some labeled and reviewed, the rest unlabeled, to try the whole loop offline.")
    p.add_argument("folder", nargs="?", help=f"where to write it (default: {default_demo_dir()})")
    p.add_argument("--images", type=int, default=200, help="number of scenes (default 200)")
    p.add_argument("--reviewed", type=int, default=40, help="how many come labeled and reviewed (default 40)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--force", action="store_true", help="write into a folder that holds other files")
    p.set_defaults(func=cmd_demo)
