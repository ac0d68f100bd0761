"""The store's bulk door for importers and exporters.

`import_records` takes what a format reader found (plain records, see core.formats.common), matches
its images to the project's (relative path, then stem for names without an extension, then a
unique base name), clips every box with `geometry.clip_box`, and writes classes, boxes and review
marks in ONE transaction of the Project: a failure leaves the project as it was.
`export_selection` reads what an export writes: usable images and their trusted boxes, in one query.
"""

from __future__ import annotations

import gc
import posixpath
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import history
from .geometry import clip_box
from .images import IMAGE_EXTENSIONS
from .records import ACCEPTED, HUMAN, MIN_BOX_SIZE, PREDICTED, SOURCE_HUMAN, SOURCE_MODEL, Category, ImageRecord

if TYPE_CHECKING:  # formats import bulk, never the other way at run time
    from .formats.common import ImportData, ImportReport
    from .store import Project


#: SQLite cache_size for a bulk insert (negative: KiB), 64 MB; the connection's own is restored after
BULK_CACHE_KIB = -65536


@contextmanager
def paused_cycle_collector():
    """Pause Python's cyclic garbage collector while a bulk import or export builds its hundreds of
    thousands of dicts, lists and tuples (none of them in a cycle, so reference counting frees them
    all): the collector would otherwise walk the growing heap again and again, which made building a
    100,000-box COCO file take 0.5 to 1.0 s instead of 0.4. Process-wide, so kept to the bulk step."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class ImageMatcher:
    """Finds the project image a file means: its relative path, then (for a name without an image
    extension) its path without extension, then a base name or stem that only one image has."""

    def __init__(self, records: list[ImageRecord]):
        self.by_path = {}
        self.by_stem_path: dict[str, list] = {}
        self.by_base: dict[str, list] = {}
        self.by_stem: dict[str, list] = {}
        for im in records:
            self.by_path[im.path] = im
            stem_path = posixpath.splitext(im.path)[0]
            self.by_stem_path.setdefault(stem_path, []).append(im)
            self.by_base.setdefault(im.file_name.lower(), []).append(im)
            self.by_stem.setdefault(posixpath.splitext(im.file_name)[0].lower(), []).append(im)

    def find(self, names) -> ImageRecord | None:
        for name in names:  # exact relative paths first, for every name given
            if not _is_stem(name) and name in self.by_path:
                return self.by_path[name]
            if _is_stem(name) and len(self.by_stem_path.get(name, ())) == 1:
                return self.by_stem_path[name][0]
        for name in names:
            base = posixpath.basename(name).lower()
            table = self.by_stem if _is_stem(name) else self.by_base
            found = table.get(base, ())
            if len(found) == 1:
                return found[0]
        return None


def _is_stem(name: str) -> bool:
    return posixpath.splitext(name)[1].lower() not in IMAGE_EXTENSIONS


@dataclass
class _Plan:
    target_ids: set = field(default_factory=set)
    rows: list = field(default_factory=list)


def import_records(project: "Project", data: "ImportData", *, as_predictions: bool = False,
                   merge: bool = False) -> "ImportReport":
    """Write a reader's records into the project in one transaction; returns the report.

    Boxes are human and their images reviewed (an image the file lists without boxes is a reviewed
    negative). With `as_predictions`, boxes that carry a score come in as unreviewed predictions and
    no image is marked reviewed. Without `merge`, the imported images' boxes of the same kind are
    replaced, so importing the same file twice gives the same result.
    """
    from .formats.common import ImportReport

    report = ImportReport(images_in_file=len(data.images), boxes_unknown_image=data.boxes_unknown_image,
                          skipped=list(data.skipped))
    matcher = ImageMatcher([im for im in project.images() if not im.missing])
    plan = _Plan()
    now = time.time()
    matched = []
    for item in data.images:
        rec = matcher.find(item.names)
        if rec is None or rec.error:
            report.images_missing.append(item.names[0] if item.names else item.source)
            report.boxes_on_missing_images += len(item.boxes)
            continue
        matched.append((item, rec))
        plan.target_ids.add(rec.id)
        if (item.width and item.height and not item.normalized
                and (round(item.width), round(item.height)) != (rec.width, rec.height)):
            report.images_size_differs.append(rec.path)
    report.images_matched = len(plan.target_ids)

    with project.batch() as c:
        existing = {cat.name: cat.id for cat in project.categories()}
        named = list(data.categories)
        listed = set(named)
        for item, _rec in matched:  # a reader that names a class it did not list
            named.extend(b[0] for b in item.boxes if b[0] not in listed)
        for name in dict.fromkeys(named):  # the file's order, so new classes keep it
            if name not in existing:
                existing[name] = project.add_category(name).id
                report.categories_created.append(name)
        clipped = degenerate = preds = 0
        MIN = MIN_BOX_SIZE  # noqa: N806 (the rule's constant, local for speed)
        append = plan.rows.append
        for item, rec in matched:
            W, H = float(rec.width), float(rec.height)
            sx, sy = (W, H) if item.normalized else (1.0, 1.0)
            rid = rec.id
            for category, x1, y1, x2, y2, score, flags in item.boxes:
                if item.normalized:
                    x1, y1, x2, y2 = x1 * sx, y1 * sy, x2 * sx, y2 * sy
                if not (0.0 <= x1 and x2 <= W and 0.0 <= y1 and y2 <= H and x2 - x1 >= MIN and y2 - y1 >= MIN):
                    # not already inside (what clip_box would return as it is): the rule decides
                    box = clip_box(x1, y1, x2, y2, W, H)
                    if box is None:
                        degenerate += 1
                        continue
                    if box != (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)):
                        clipped += 1  # (a box given corner-first is put in order, not clipped)
                    x1, y1, x2, y2 = box
                if as_predictions and score is not None:
                    append((rid, existing[category], x1, y1, x2, y2, SOURCE_MODEL, score, PREDICTED, now, now, flags))
                    preds += 1
                else:
                    append((rid, existing[category], x1, y1, x2, y2, SOURCE_HUMAN, score, HUMAN, now, now, flags))
        report.boxes_clipped, report.boxes_degenerate = clipped, degenerate
        report.predictions_added, report.boxes_added = preds, len(plan.rows) - preds
        if not merge and plan.target_ids:
            # Ground truth replaces the image's boxes (predictions too: the image is now reviewed);
            # a predictions import replaces only the unreviewed predictions.
            kinds = (PREDICTED,) if as_predictions else (PREDICTED, HUMAN, ACCEPTED)
            marks = ",".join("?" * len(kinds))
            holding = {r[0] for r in c.execute(f"SELECT DISTINCT image_id FROM boxes WHERE state IN ({marks})", kinds)}
            c.executemany(f"DELETE FROM boxes WHERE image_id=? AND state IN ({marks})",
                          [(i, *kinds) for i in plan.target_ids & holding])
        # SQLite's page cache (2 MB by default) holds the boxes table and its two indexes while 100,000
        # rows go in, so index pages are not evicted and re-read in between (a fifth of the insert)
        cache = c.execute("PRAGMA cache_size").fetchone()[0]
        if len(plan.rows) > 10_000:
            c.execute(f"PRAGMA cache_size = {BULK_CACHE_KIB}")
        try:
            c.executemany(
                "INSERT INTO boxes (image_id, category_id, x1, y1, x2, y2, source, score, state, created_at,"
                " updated_at, flags) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                plan.rows,
            )
        finally:
            c.execute(f"PRAGMA cache_size = {int(cache)}")
        if as_predictions:  # kept as proposed by the model "imported" (labeler.core.history)
            history.tag_predictions(c, sorted(plan.target_ids), None, history.IMPORTED_MODEL)
        reviewed = [] if as_predictions else sorted(plan.target_ids)
        c.executemany("UPDATE images SET reviewed=1, reviewed_at=? WHERE id=?", [(now, i) for i in reviewed])
        report.images_reviewed = len(reviewed)
        project.changed("boxes", plan.target_ids)
        project.changed("images", plan.target_ids)
    return report


@dataclass
class ExportSelection:
    """What an export writes: images (reviewed ones, or all usable ones), their trusted boxes
    (human and accepted; predictions are never ground truth) as (box id, category id, x1, y1, x2, y2)
    per image id, the classes in the project's order, what was left out, and the flags
    (records.CROWD, DIFFICULT, ...) of the boxes that have any, by box id."""

    images: list[ImageRecord]
    boxes: dict[int, list[tuple]]
    categories: list[Category]
    left_out_images: int = 0
    left_out_boxes: int = 0
    dropped: int = 0  # boxes under 1 px inside their image (clip_box refuses them)
    flags: dict[int, int] = field(default_factory=dict)
    #: (relative path, status, why) of the images no export can hold: unreadable or missing files
    unusable: list[tuple[str, str, str]] = field(default_factory=list)


def export_selection(project: "Project", all_images: bool = False) -> ExportSelection:
    """The project's ground truth (core.truth, the rule training uses too) as an export reads it."""
    from .truth import TRUTH_STATES, ground_truth

    truth = ground_truth(project, all_images)
    boxes = {im.id: bs for im, bs in truth.images}  # TruthBox tuples unpack as (id, category id, x1, y1, x2, y2)
    left_out_boxes = 0
    if truth.unreviewed:
        kept = {im.id for im, _b in truth.images}
        usable = {im.id for im in project.images() if im.usable}
        left_out_boxes = sum(n for iid, n in project.box_counts_by_image(TRUTH_STATES).items()
                             if iid in usable and iid not in kept)
    unusable = [(im.path, im.status, _why_unusable(im)) for im in project.images() if not im.usable]
    return ExportSelection([im for im, _b in truth.images], boxes, project.categories(), truth.unreviewed,
                           left_out_boxes, truth.dropped, project.box_flags(), unusable)


def _why_unusable(image: ImageRecord) -> str:
    if image.missing:
        return "the file is gone from the folder (its boxes are kept)"
    if image.error:
        return image.error
    return "its size is unknown (rescan the folder)"
