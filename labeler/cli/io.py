"""`labeler import`, `labeler export` and `labeler info`."""

from __future__ import annotations

import argparse
import sys

from labeler.core.formats import EXPORT_FORMATS, IMPORT_FORMATS, export_project, import_path
from labeler.core.formats.coco import export_predictions
from labeler.core.formats.common import FormatError
from labeler.core.runs import load as load_runs
from labeler.core.records import WorkCounts
from labeler.core.store import BOX_STATES, IMAGE_STATUSES, NEEDS_REVIEW, REVIEWED, Project, StoreError
from labeler.core.words import counted
from labeler.cli.where import add_project_option, open_project, where


def _fail(msg: str) -> int:
    print(f"labeler: error: {msg}", file=sys.stderr)
    return 2


def _scan_with_progress(project: Project) -> None:
    from tqdm import tqdm

    bar = None

    def progress(done, total):
        nonlocal bar
        if bar is None and total > 500:
            bar = tqdm(total=total, unit="img", desc="Scanning", file=sys.stderr)
        if bar is not None:
            bar.n = done
            bar.refresh()

    result = project.scan(progress)
    if bar is not None:
        bar.close()
    if result.added or result.missing or result.reappeared:
        print(f"Scanned {project.root}: {result.added} new, {result.missing} gone, "
              f"{result.reappeared} back, {len(result.unreadable)} unreadable", file=sys.stderr)


def _open_and_scan(args) -> Project:
    project = open_project(args)
    _scan_with_progress(project)
    return project


def cmd_import(args) -> int:
    try:
        with _open_and_scan(args) as project:
            report = import_path(project, args.file, args.format, as_predictions=args.as_predictions,
                                 merge=args.merge, shapes=args.shapes)
    except (StoreError, FormatError) as exc:
        return _fail(str(exc))
    print(report.summary())
    return 0


def cmd_export(args) -> int:
    try:
        if args.rescan:
            project = _open_and_scan(args)
        else:
            project = open_project(args, readonly=True)
        with project:
            if args.predictions:
                n = export_predictions(project, args.predictions)
                print(f"Wrote {counted(n, 'prediction')} to {args.predictions}")
            if args.output:
                report = export_project(project, args.format, args.output, all_images=args.all_images,
                                        copy_images=args.copy_images, split=args.split)
                print(report.summary())
    except (StoreError, FormatError) as exc:
        return _fail(str(exc))
    return 0


def cmd_info(args) -> int:
    try:
        fresh = not where(args).exists
        project = _open_and_scan(args) if (args.rescan or fresh) else open_project(args, readonly=True)
    except StoreError as exc:
        return _fail(str(exc))
    with project:
        images = project.images()
        counts = {s: 0 for s in IMAGE_STATUSES}
        for im in images:
            counts[im.status] += 1
        print(f"Project {project.root}")
        if project.apart:
            print(f"Store {project.data_dir}")
        on_network = f", on a network file system ({project.network_fs}): WAL is unsafe there" if project.network_fs else ""
        print(f"Journal mode: {project.journal_mode}{on_network}")
        print(f"Images: {len(images)} ({WorkCounts.of_images(images).text().replace('  ·  ', '; ')})")
        for s in IMAGE_STATUSES:
            if counts[s] or s in NEEDS_REVIEW or s == REVIEWED:
                print(f"  {s:<11} {counts[s]:>8}")
        by_cat = project.box_counts_by_category()
        cats = project.categories()
        print(f"Classes: {len(cats)}")
        if cats:
            width = max(len(c.name) for c in cats)
            print(f"  {'class':<{width}}  " + "  ".join(f"{s:>9}" for s in BOX_STATES) + f"  {'total':>7}")
            for c in cats:
                row = by_cat.get(c.id, {})
                print(f"  {c.name:<{width}}  " + "  ".join(f"{row.get(s, 0):>9}" for s in BOX_STATES)
                      + f"  {sum(row.values()):>7}")
        unreadable = [im for im in images if im.error]
        if unreadable:
            print(f"Unreadable files: {len(unreadable)}")
            for im in unreadable:
                print(f"  {im.path}: {im.error}")
        missing = [im for im in images if im.missing]
        if missing:
            print(f"Missing files (boxes kept): {len(missing)}")
            for im in missing[:20]:
                print(f"  {im.path}")
        runs = load_runs(project)
        if runs:
            print(f"Training runs: {len(runs)}")
            for r in runs[-5:]:
                best = f"best mAP@0.5 {r.best_map50:.3f}" if r.best_map50 is not None else "no mAP yet"
                pre = ", pre-labels" if r.prelabels else ""
                print(f"  #{r.id} {r.architecture} {r.status}, {counted(len(r.epochs), 'epoch')}, {best}{pre}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="import COCO, YOLO, Pascal VOC or labelme annotations into a project",
                       description="Import boxes from a COCO file, a YOLO dataset (data.yaml, obj.data or "
                       "classes.txt), Pascal VOC XML files or labelme JSON files. Images are matched by relative "
                       "path, then base name; missing classes are created. Imported boxes are human and their "
                       "images reviewed. A malformed file changes nothing and the message names its file and line.")
    p.add_argument("folder", help="the image folder (project)")
    add_project_option(p)
    p.add_argument("file", metavar="PATH", help="a file, or a folder holding the annotations")
    p.add_argument("--format", choices=IMPORT_FORMATS, default="auto",
                   help="the annotations' format (default: recognised from what PATH holds)")
    p.add_argument("--shapes", choices=("boxes", "all"), default="boxes",
                   help="labelme: rectangles only (default), or polygons, circles and points as their bounding boxes")
    p.add_argument("--as-predictions", action="store_true",
                   help="annotations with a score come in as unreviewed predictions")
    p.add_argument("--merge", action="store_true",
                   help="keep the images' existing boxes (default: the file replaces them)")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", help="export the project as COCO JSON, a YOLO dataset or Pascal VOC",
                       description="Write the reviewed images and their human and accepted boxes as COCO JSON "
                       "(atomically; ids stable across exports), a YOLO dataset ready for "
                       "`yolo detect train data=OUT/data.yaml`, or Pascal VOC folders; YOLO and VOC (and COCO "
                       "with --split) use the train/val split fine-tuning uses.")
    p.add_argument("folder", help="the image folder (project)")
    add_project_option(p)
    p.add_argument("-o", "--output", metavar="OUT",
                   help="COCO: the .json file (a folder with --split); YOLO and VOC: the folder to write")
    p.add_argument("--format", choices=EXPORT_FORMATS, default="coco", help="default: coco")
    p.add_argument("--copy-images", action="store_true",
                   help="YOLO and VOC: copy the images (default: symbolic links to them)")
    p.add_argument("--split", action="store_true", help="COCO: write OUT/train.json and OUT/val.json")
    p.add_argument("--all-images", action="store_true",
                   help="include images not yet reviewed (with their human and accepted boxes)")
    p.add_argument("--predictions", metavar="FILE",
                   help="also write the model's predictions as a COCO results list (for COCOeval)")
    p.add_argument("--rescan", action="store_true", help="scan the folder for new or vanished images first")
    p.set_defaults(func=lambda a: cmd_export(a) if (a.output or a.predictions) else
                   _fail("nothing to write: give -o FILE.json and/or --predictions FILE.json"))

    p = sub.add_parser("info", help="show a project's images, classes, boxes and unreadable files",
                       description="Counts of images by status, boxes by class and state, unreadable files "
                       "with reasons, and training runs.")
    p.add_argument("folder", help="the image folder (project)")
    add_project_option(p)
    p.add_argument("--rescan", action="store_true", help="scan the folder first (opens the project for writing)")
    p.set_defaults(func=cmd_info)
