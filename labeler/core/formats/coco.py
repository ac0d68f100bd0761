"""COCO import and export.

Export writes atomically (temp file in the same folder, then os.replace). Image and category ids
are the store's own row ids, which SQLite never reuses (AUTOINCREMENT): an image or class keeps its
id in every export of the project, and the predictions file agrees with the ground-truth file.

Import reads files written by CVAT, Label Studio, Roboflow, other converters and labeler itself.
The whole file is validated and matched before anything is written; then everything is written in
one transaction, so a malformed file leaves the project exactly as it was.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import posixpath
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Callable

from ..errors import LabelerError
from ... import __version__
from ..geometry import clip_box
from ..store import ACCEPTED, HUMAN, PREDICTED, SOURCE_HUMAN, SOURCE_MODEL, Project, StoreError
from ..truth import ground_truth
from ..words import counted

Progress = Callable[[int, int], None]


class CocoFormatError(LabelerError):
    """The file is not usable COCO; the message says what is wrong and where."""


# ---------------------------------------------------------------------- export
def _atomic_write_json(path: Path, obj) -> None:
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            # dumps (the C encoder, one pass) is 3-4x faster than dump's chunked Python iterencode
            fh.write(json.dumps(obj, separators=(",", ":"), ensure_ascii=False))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise StoreError(f"Could not write {path}: {exc.strerror or exc}") from None
        raise


def _r(v: float) -> float:
    return round(v, 3)


def build_coco(project: Project, all_images: bool = False) -> dict:
    """The project as a COCO dict: reviewed images (all images with `all_images`) and their trusted
    boxes (human and accepted; predictions never count as ground truth)."""
    truth = ground_truth(project, all_images)
    images = [im for im, _b in truth.images]
    cats = project.categories()
    annotations = [
        {"id": b.id, "image_id": im.id, "category_id": b.category_id,
         "bbox": [_r(b.x1), _r(b.y1), _r(b.x2 - b.x1), _r(b.y2 - b.y1)],
         "area": _r((b.x2 - b.x1) * (b.y2 - b.y1)), "iscrowd": 0}
        for im, boxes in truth.images for b in boxes
    ]
    now = _dt.datetime.now(_dt.timezone.utc)
    return {
        "info": {
            "description": f"Exported by labeler {__version__} from {project.root.name}",
            "version": "1.0",
            "year": now.year,
            "contributor": "labeler",
            "date_created": now.isoformat(timespec="seconds"),
        },
        "licenses": [{"id": 1, "name": "Unknown", "url": ""}],
        "images": [
            {"id": im.id, "file_name": im.path, "width": im.width, "height": im.height, "license": 1}
            for im in images
        ],
        "annotations": annotations,
        "categories": [{"id": c.id, "name": c.name, "supercategory": "object"} for c in cats],
    }


def export_coco(project: Project, path: str | os.PathLike, all_images: bool = False) -> dict:
    """Write the COCO file atomically; returns counts {'images', 'annotations', 'categories'}."""
    data = build_coco(project, all_images)
    _atomic_write_json(Path(path), data)
    return {k: len(data[k]) for k in ("images", "annotations", "categories")}


def export_predictions(project: Project, path: str | os.PathLike) -> int:
    """Write the model's unreviewed predictions as a COCO results list (for COCOeval's loadRes)."""
    usable = {im.id for im in project.images() if not im.error and not im.missing}
    results = []
    for b in project.all_boxes(states=(PREDICTED,)):
        if b.image_id not in usable:
            continue
        results.append({
            "image_id": b.image_id,
            "category_id": b.category_id,
            "bbox": [_r(b.x1), _r(b.y1), _r(b.x2 - b.x1), _r(b.y2 - b.y1)],
            "score": round(float(b.score if b.score is not None else 1.0), 5),
        })
    _atomic_write_json(Path(path), results)
    return len(results)


# ---------------------------------------------------------------------- import
@dataclass
class ImportReport:
    images_in_file: int = 0
    images_matched: int = 0
    images_missing: list[str] = field(default_factory=list)  # file names with no image in the project
    boxes_added: int = 0
    predictions_added: int = 0
    boxes_clipped: int = 0
    boxes_degenerate: int = 0  # skipped: zero or negative size after clipping
    boxes_unknown_image: int = 0  # skipped: image_id not in the file's images
    boxes_on_missing_images: int = 0
    categories_created: list[str] = field(default_factory=list)
    images_reviewed: int = 0

    def summary(self) -> str:
        lines = [
            f"{self.images_matched} of {counted(self.images_in_file, 'image')} matched; "
            f"{counted(self.boxes_added, 'box')}"
            + (f" and {counted(self.predictions_added, 'prediction')}" if self.predictions_added else "")
            + " imported"
        ]
        if self.categories_created:
            lines.append(f"classes created: {', '.join(self.categories_created)}")
        if self.boxes_clipped:
            lines.append(f"{counted(self.boxes_clipped, 'box', 'boxes')} clipped to their image")
        if self.boxes_degenerate:
            lines.append(f"{counted(self.boxes_degenerate, 'degenerate box')} skipped (no area inside the image)")
        if self.boxes_unknown_image:
            lines.append(f"{counted(self.boxes_unknown_image, 'annotation')} skipped: their image_id is not in the file")
        if self.images_missing:
            shown = ", ".join(self.images_missing[:5]) + (" …" if len(self.images_missing) > 5 else "")
            lines.append(
                f"{counted(len(self.images_missing), 'image')} not found in the project folder ({shown}); "
                f"their {counted(self.boxes_on_missing_images, 'box')} "
                f"{'was' if self.boxes_on_missing_images == 1 else 'were'} skipped"
            )
        return "\n".join(lines)


def _fail(path, msg) -> CocoFormatError:
    return CocoFormatError(f"{path}: {msg}")


_NUMBER_TYPES = (int, float)
_ID_TYPES = (int, str)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_id(v) -> bool:
    return (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, str) and v != "")


def _normalise_file_name(raw: str, path) -> str:
    """A relative POSIX path; refuses names that point outside the project folder."""
    name = raw.replace("\\", "/")
    if name.startswith("/") or PureWindowsPath(raw).drive or name.startswith("~"):
        raise _fail(path, f"image file_name {raw!r} is an absolute path; COCO file names must be relative to the image folder")
    norm = posixpath.normpath(name)
    if norm == ".." or norm.startswith("../"):
        raise _fail(path, f"image file_name {raw!r} points outside the project folder")
    return norm


def read_coco(path: str | os.PathLike) -> dict:
    """Load and validate a COCO file's structure; raises CocoFormatError with the first problem."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise CocoFormatError(f"{path}: no such file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _fail(path, f"not valid JSON ({exc})") from None
    except OSError as exc:
        raise _fail(path, f"cannot read ({exc.strerror or exc})") from None
    if not isinstance(data, dict):
        raise _fail(path, "the top level must be a JSON object with 'images', 'annotations' and 'categories'"
                    + (" (this looks like a COCO results list; use --as-predictions with a full COCO file)"
                       if isinstance(data, list) else ""))
    for key in ("images", "annotations", "categories"):
        if key not in data:
            raise _fail(path, f"missing the key {key!r}")
        if not isinstance(data[key], list):
            raise _fail(path, f"{key!r} must be a list, not {type(data[key]).__name__}")
    for i, im in enumerate(data["images"]):
        where = f"images[{i}]"
        if not isinstance(im, dict):
            raise _fail(path, f"{where} must be an object")
        if "id" not in im or not _is_id(im["id"]):
            raise _fail(path, f"{where} lacks an integer 'id'")
        if not isinstance(im.get("file_name"), str) or not im["file_name"].strip():
            raise _fail(path, f"{where} lacks a 'file_name' string")
        for k in ("width", "height"):
            if k in im and im[k] is not None and not _is_number(im[k]):
                raise _fail(path, f"{where}.{k} must be a number")
    for i, c in enumerate(data["categories"]):
        where = f"categories[{i}]"
        if not isinstance(c, dict):
            raise _fail(path, f"{where} must be an object")
        if "id" not in c or not _is_id(c["id"]):
            raise _fail(path, f"{where} lacks an integer 'id'")
        if not isinstance(c.get("name"), str) or not c["name"].strip():
            raise _fail(path, f"{where} lacks a 'name' string")
    cat_ids = {c["id"] for c in data["categories"]}
    num = _NUMBER_TYPES
    isfinite = math.isfinite
    for i, a in enumerate(data["annotations"]):
        # The hot loop of a 100,000-box import: type() checks instead of isinstance chains.
        if type(a) is not dict:
            raise _fail(path, f"annotations[{i}] must be an object")
        iid = a.get("image_id")
        if type(iid) not in _ID_TYPES or iid == "":
            raise _fail(path, f"annotations[{i}] lacks an integer 'image_id'")
        cid = a.get("category_id")
        if type(cid) not in _ID_TYPES or cid == "":
            raise _fail(path, f"annotations[{i}] lacks an integer 'category_id'")
        if cid not in cat_ids:
            raise _fail(path, f"annotations[{i}].category_id {cid!r} is not among the categories")
        bbox = a.get("bbox")
        if (type(bbox) is not list or len(bbox) != 4 or type(bbox[0]) not in num or type(bbox[1]) not in num
                or type(bbox[2]) not in num or type(bbox[3]) not in num or not isfinite(sum(bbox))):
            raise _fail(path, f"annotations[{i}].bbox must be a list of four finite numbers [x, y, width, height]")
        score = a.get("score")
        if score is not None and (type(score) not in num or not isfinite(score)):
            raise _fail(path, f"annotations[{i}].score must be a number")
    return data


def import_coco(project: Project, path: str | os.PathLike, as_predictions: bool = False,
                merge: bool = False) -> ImportReport:
    """Import a COCO file into the project.

    Boxes are human and their images are marked reviewed (the file is trusted ground truth;
    images listed without annotations become reviewed negatives). With `as_predictions`,
    annotations that carry a "score" come in as unreviewed model predictions instead.
    By default the imported images' existing boxes of the same kind are replaced (importing the same
    file twice gives the same result); with `merge` they are kept.
    """
    data = read_coco(path)
    report = ImportReport(images_in_file=len(data["images"]))

    # Match images: relative path first, then a unique base name.
    records = [im for im in project.images() if not im.missing]
    by_path = {im.path: im for im in records}
    by_base: dict[str, list] = {}
    for im in records:
        by_base.setdefault(im.file_name.lower(), []).append(im)
    file_to_record: dict = {}
    for im in data["images"]:
        name = _normalise_file_name(im["file_name"], path)
        rec = by_path.get(name)
        if rec is None:
            # CVAT/Label Studio often prefix a folder ("images/", "upload/1/") the project lacks.
            candidates = by_base.get(PurePosixPath(name).name.lower(), [])
            rec = candidates[0] if len(candidates) == 1 else None
        if rec is None or rec.error:
            report.images_missing.append(im["file_name"])
            file_to_record[im["id"]] = None
        else:
            file_to_record[im["id"]] = rec

    matched = {k: v for k, v in file_to_record.items() if v is not None}
    report.images_matched = len({r.id for r in matched.values()})

    # Write everything in one transaction; nothing above wrote anything.
    cat_names = {c["id"]: c["name"].strip() for c in data["categories"]}
    with project.batch() as c:
        existing = {cat.name: cat.id for cat in project.categories()}
        for name in cat_names.values():  # file order, so new classes keep the file's order
            if name not in existing:
                existing[name] = project.add_category(name).id
                report.categories_created.append(name)
        cat_map = {cid: existing[name] for cid, name in cat_names.items()}
        now = time.time()
        target_ids = {r.id for r in matched.values()}
        if not merge and target_ids:
            # Ground truth replaces the image's boxes (predictions included: the image is now reviewed);
            # a predictions import replaces only the unreviewed predictions.
            kinds = (PREDICTED,) if as_predictions else (PREDICTED, HUMAN, ACCEPTED)
            marks = ",".join("?" * len(kinds))
            c.executemany(
                f"DELETE FROM boxes WHERE image_id=? AND state IN ({marks})",
                [(i, *kinds) for i in target_ids],
            )
        # Boxes, clipped to each image's displayed size. The hot loop of a big import: plain
        # comparisons rather than min/max calls.
        sizes = {k: (r.id, float(r.width), float(r.height)) for k, r in matched.items()}
        rows = []
        append = rows.append
        clipped = degenerate = unknown = on_missing = preds = 0
        for a in data["annotations"]:
            rec = sizes.get(a["image_id"])
            if rec is None:
                if a["image_id"] in file_to_record:
                    on_missing += 1
                else:
                    unknown += 1
                continue
            image_id, W, H = rec
            x1, y1, w, h = a["bbox"]
            x2, y2 = x1 + w, y1 + h
            rect = clip_box(x1, y1, x2, y2, W, H) if w > 0 and h > 0 else None
            if rect is None:  # negative size, or under 1 px inside the image
                degenerate += 1
                continue
            cx1, cy1, cx2, cy2 = rect
            if cx1 != x1 or cy1 != y1 or cx2 != x2 or cy2 != y2:
                clipped += 1
            score = a.get("score")
            if as_predictions and score is not None:
                append((image_id, cat_map[a["category_id"]], cx1, cy1, cx2, cy2, SOURCE_MODEL, score, PREDICTED, now, now))
                preds += 1
            else:
                append((image_id, cat_map[a["category_id"]], cx1, cy1, cx2, cy2, SOURCE_HUMAN, score, HUMAN, now, now))
        report.boxes_clipped, report.boxes_degenerate = clipped, degenerate
        report.boxes_unknown_image, report.boxes_on_missing_images = unknown, on_missing
        report.predictions_added, report.boxes_added = preds, len(rows) - preds
        c.executemany(
            "INSERT INTO boxes (image_id, category_id, x1, y1, x2, y2, source, score, state, created_at, updated_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        # Ground truth marks its images reviewed (listed images without boxes are negatives);
        # a predictions import leaves review to the person.
        reviewed = [] if as_predictions else sorted(target_ids)
        c.executemany("UPDATE images SET reviewed=1, reviewed_at=? WHERE id=?", [(now, i) for i in reviewed])
        report.images_reviewed = len(reviewed)
        project._changed("boxes", target_ids)
        project._changed("images", target_ids)
    return report
