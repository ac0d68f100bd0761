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
from pathlib import Path

from ... import __version__
from ..files import atomic_write_text
from ..bulk import export_selection, import_records
from ..records import CROWD
from ..store import PREDICTED, Project, StoreError
from .common import (ExportReport, FormatError, ImportData, ImportedImage, ImportReport, ValSplit,
                     normalise_name, split_names)

__all__ = ["CocoFormatError", "ImportReport", "build_coco", "export_coco", "export_predictions", "read_coco",
           "import_coco"]


class CocoFormatError(FormatError):
    """The file is not usable COCO; the message says what is wrong and where."""


# ---------------------------------------------------------------------- export
def _atomic_write_json(path: Path, obj) -> None:
    # dumps (the C encoder, one pass) is 3-4x faster than dump's chunked Python iterencode
    try:
        atomic_write_text(path, json.dumps(obj, separators=(",", ":"), ensure_ascii=False))
    except OSError as exc:
        raise StoreError(f"Could not write {path}: {exc.strerror or exc}") from None


def _r(v: float) -> float:
    return round(v, 3)


def build_coco(project: Project, all_images: bool = False, selection=None) -> dict:
    """The project as a COCO dict: reviewed images (all images with `all_images`) and their trusted
    boxes (human and accepted; predictions never count as ground truth)."""
    sel = selection or export_selection(project, all_images)
    annotations = []
    append = annotations.append
    flags = sel.flags
    for im in sel.images:
        for bid, cid, x1, y1, x2, y2 in sel.boxes.get(im.id, ()):
            w, h = x2 - x1, y2 - y1
            append({"id": bid, "image_id": im.id, "category_id": cid,
                    "bbox": [round(x1, 3), round(y1, 3), round(w, 3), round(h, 3)],
                    "area": round(w * h, 3), "segmentation": [], "iscrowd": 1 if flags.get(bid, 0) & CROWD else 0})
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
            for im in sel.images
        ],
        "annotations": annotations,
        "categories": [{"id": c.id, "name": c.name, "supercategory": "object"} for c in sel.categories],
    }


def export_coco(project: Project, path: str | os.PathLike, all_images: bool = False,
                split: bool = False, val_split: ValSplit | None = None) -> ExportReport:
    """Write the COCO file atomically. With `split`, `path` is a folder that gets train.json and
    val.json from the fine-tuning split (or `val_split`). The report counts what was written and what was left out."""
    sel = export_selection(project, all_images)
    report = ExportReport(images=len(sel.images), classes=len(sel.categories),
                          boxes=sum(len(sel.boxes.get(im.id, ())) for im in sel.images),
                          left_out_images=sel.left_out_images, left_out_boxes=sel.left_out_boxes, dropped=sel.dropped,
                          unusable=sel.unusable)
    if not split:
        _atomic_write_json(Path(path), build_coco(project, selection=sel))
        report.written.append(str(path))
        return report
    sides = split_names((im.path for im in sel.images), val_split)
    for side in ("train", "val"):
        part = [im for im in sel.images if sides[im.path] == side]
        sub = type(sel)(part, sel.boxes, sel.categories, flags=sel.flags)
        _atomic_write_json(Path(path) / f"{side}.json", build_coco(project, selection=sub))
        report.written.append(str(Path(path) / f"{side}.json"))
        setattr(report, side, len(part))
    return report


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
            "score": round(float(b.shown_score), 5),
        })
    _atomic_write_json(Path(path), results)
    return len(results)


# ---------------------------------------------------------------------- import
def _fail(path, msg) -> CocoFormatError:
    return CocoFormatError(path, msg)


_NUMBER_TYPES = (int, float)
_ID_TYPES = (int, str)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_id(v) -> bool:
    return (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, str) and v != "")


def read_coco(path: str | os.PathLike) -> dict:
    """Load and validate a COCO file's structure; raises CocoFormatError with the first problem."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise CocoFormatError(path, "no such file") from None
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
        crowd = a.get("iscrowd")
        if crowd is not None and crowd not in (0, 1):
            raise _fail(path, f"annotations[{i}].iscrowd must be 0 or 1, found {crowd!r}")
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
    return import_records(project, coco_records(read_coco(path), path), as_predictions=as_predictions, merge=merge)


def coco_records(data: dict, path) -> ImportData:
    """A validated COCO dict as plain records (annotations grouped under their images)."""
    names = {c["id"]: c["name"].strip() for c in data["categories"]}
    out = ImportData(categories=list(dict.fromkeys(names.values())))
    by_id: dict = {}
    for im in data["images"]:
        item = ImportedImage((normalise_name(im["file_name"], path, error=CocoFormatError),), width=im.get("width"),
                             height=im.get("height"), source=str(path))
        if im["id"] in by_id:
            raise _fail(path, f"image id {im['id']!r} appears twice")
        by_id[im["id"]] = item
        out.images.append(item)
    unknown = 0
    for a in data["annotations"]:
        item = by_id.get(a["image_id"])
        if item is None:
            unknown += 1
            continue
        x, y, w, h = a["bbox"]
        if w <= 0 or h <= 0:  # COCO's width and height are sizes: a negative one is no box at all
            w = h = 0.0
        # a plain tuple in ImportedBox's field order: 100,000 of them, so no constructor call each
        item.boxes.append((names[a["category_id"]], x, y, x + w, y + h, a.get("score"), CROWD if a.get("iscrowd") else 0))
    out.boxes_unknown_image = unknown
    return out
