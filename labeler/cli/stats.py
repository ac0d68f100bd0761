"""`labeler stats` (what each round of pre-labeling cost and saved) and `labeler queue` (the next
images to review, most informative first)."""

from __future__ import annotations

import argparse
import json
import sys

from labeler.core.review import ORDERS, review_queue
from labeler.core.rounds import derive_rounds, threshold_advice
from labeler.core.store import SCHEMA_VERSION, Project, StoreError
from labeler.core.words import counted
from labeler.cli.where import add_project_option, open_project


def _fail(msg: str) -> int:
    print(f"labeler: error: {msg}", file=sys.stderr)
    return 2


def open_for_reading(args) -> Project:
    """Read-only, unless the store predates this release: then it is opened once for writing, which
    migrates it (in one transaction) before it is read."""
    project = open_project(args, readonly=True)
    if project._version() < SCHEMA_VERSION:
        project.close()
        project = open_project(args)
    return project


def _fmt(value, kind: str = "f") -> str:
    if value is None:
        return "-"
    if kind == "%":
        return f"{100 * value:.0f}%"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


COLUMNS = [("model", "model", "s"), ("images", "images_reviewed", "s"), ("preds", "predictions", "s"),
           ("accepted", "accepted_unchanged", "s"), ("corrected", "corrected", "s"), ("rejected", "rejected", "s"),
           ("not shown", "not_shown", "s"), ("drawn", "drawn", "s"), ("precision", "precision", "f"),
           ("recall", "recall", "f"), ("AP@0.5", "ap50", "f"), ("actions/img", "actions_per_image", "f"),
           ("s/img", "seconds_per_image", "f"), ("saved", "share_saved_actions", "%")]


def table(progress) -> str:
    rows = [[h for h, _, _ in COLUMNS]]
    for r in progress.to_json()["rounds"]:
        rows.append([_fmt(r[k], kind) for _, k, kind in COLUMNS])
    b = progress.baseline
    rows.append(["by hand", str(b.images_reviewed), "-", "-", "-", "-", "-", str(b.drawn), "-", "-", "-",
                 _fmt(b.actions_per_image), _fmt(b.seconds_per_image), "-"])
    widths = [max(len(row[k]) for row in rows) for k in range(len(COLUMNS))]
    lines = ["  ".join(c.ljust(w) if k == 0 else c.rjust(w) for k, (c, w) in enumerate(zip(row, widths)))
             for row in rows]
    apart = f" ({progress.work.apart()}, not counted)" if progress.work.apart() else ""
    lines.append(f"{counted(progress.images_reviewed, 'image')} of {progress.images_total} reviewed{apart}")
    lines += [f"Left out: {s}" for s in progress.skipped]
    lines += [line for r in progress.rounds if (line := threshold_advice(r))]
    return "\n".join(lines)


def cmd_stats(args) -> int:
    try:
        with open_for_reading(args) as project:
            progress = derive_rounds(project)
    except StoreError as exc:
        return _fail(str(exc))
    print(json.dumps(progress.to_json(), indent=2) if args.json else table(progress))
    return 0


def cmd_queue(args) -> int:
    if args.n is not None and args.n < 1:
        return _fail("-n must be at least 1")
    try:
        with open_for_reading(args) as project:
            images = review_queue(project, args.order)
    except StoreError as exc:
        return _fail(str(exc))
    for im in images[:args.n] if args.n else images:
        print(im.path)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stats", help="per round: the pre-labeler's accuracy on reviewed images, and the effort saved",
                       description="For each model that pre-labeled images people then reviewed: what became of "
                       "its predictions (accepted unchanged, corrected, rejected, not shown) and of its misses "
                       "(drawn), its precision and recall at the threshold reviewed with and AP@0.5, and edits "
                       "and seconds per image against images labeled by hand; then, per model, the review threshold at "
                       "which its boxes would have needed the fewest corrections on those images.")
    p.add_argument("folder", help="the image folder (project)")
    add_project_option(p)
    p.add_argument("--json", action="store_true", help="print one JSON object with a list 'rounds'")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("queue", help="print the next unreviewed images to review, one relative path a line",
                       description="The unreviewed, readable images in review order, one relative path a line: "
                       "by default the most informative first (those with the most model outputs scoring near the "
                       "review threshold, below it too; see docs/queue.md), so a script can hand them out.")
    p.add_argument("folder", help="the image folder (project)")
    add_project_option(p)
    p.add_argument("-n", type=int, default=None, help="print only the first N")
    p.add_argument("--order", choices=ORDERS, default="informative",
                   help="file, informative (default: most informative first) or random")
    p.set_defaults(func=cmd_queue)
