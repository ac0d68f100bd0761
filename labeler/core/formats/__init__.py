"""The formats labeler reads and writes, by name: each module reads into plain records
(common.ImportData) that core.bulk imports in one transaction, and writes from the store.

`import_path` and `export_project` are what the command line and the window call.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..bulk import import_records, paused_cycle_collector
from .common import ExportReport, FormatError, ImportReport, ValSplit

IMPORT_FORMATS = ("auto", "coco", "yolo", "voc", "labelme")
EXPORT_FORMATS = ("coco", "yolo", "voc")


def detect(path: str | os.PathLike) -> str:
    """The format of a file or folder, from what it holds; FormatError when none fits."""
    from .labelme import is_labelme
    from .voc import is_voc
    from .yolo import find_config

    path = Path(path)
    if not path.exists():
        raise FormatError(path, "no such file or folder")
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix in (".yaml", ".yml", ".data", ".names") or path.name.lower() == "classes.txt":
            return "yolo"
        if suffix == ".xml":
            return "voc"
        if suffix == ".json":
            return "labelme" if is_labelme(path) else "coco"
        raise FormatError(path, "not a format labeler knows (COCO .json, YOLO data.yaml/obj.data/classes.txt, "
                          "VOC .xml, labelme .json)")
    if find_config(path) is not None:
        return "yolo"
    jsons = sorted(path.glob("*.json"))
    if any(is_labelme(p) for p in path.rglob("*.json")):
        return "labelme"
    if any(is_voc(p) for p in path.rglob("*.xml")):
        return "voc"
    if len(jsons) == 1:
        try:
            doc = json.loads(jsons[0].read_bytes())
        except (ValueError, OSError):
            doc = None
        if isinstance(doc, dict) and "annotations" in doc:
            raise FormatError(path, f"holds one COCO file; import {jsons[0]} itself")
    raise FormatError(path, "found no data.yaml, obj.data, classes.txt, VOC .xml or labelme .json here; "
                      "give --format or the file itself")


def import_path(project, path: str | os.PathLike, fmt: str = "auto", *, as_predictions: bool = False,
                merge: bool = False, shapes: str = "boxes") -> ImportReport:
    """Import a file or folder in any known format; nothing changes when it fails."""
    with paused_cycle_collector():
        return _import_path(project, path, fmt, as_predictions=as_predictions, merge=merge, shapes=shapes)


def _import_path(project, path, fmt, *, as_predictions, merge, shapes) -> ImportReport:
    if fmt not in IMPORT_FORMATS:
        raise FormatError(path, f"unknown format {fmt!r}; one of {', '.join(IMPORT_FORMATS)}")
    if fmt == "auto":
        fmt = detect(path)
    if fmt == "coco":
        from .coco import import_coco

        return import_coco(project, path, as_predictions=as_predictions, merge=merge)
    if fmt == "yolo":
        from .yolo import read_yolo

        data = read_yolo(path, project.root, as_predictions=as_predictions)
    elif fmt == "voc":
        from .voc import read_voc

        data = read_voc(path, project.root)
    else:
        from .labelme import read_labelme

        data = read_labelme(path, project.root, shapes=shapes)
    return import_records(project, data, as_predictions=as_predictions, merge=merge)


def export_project(project, fmt: str, out: str | os.PathLike, *, all_images: bool = False,
                   copy_images: bool = False, split: bool = False, val_split: ValSplit | None = None) -> ExportReport:
    """Export as COCO (one file, or train.json and val.json with `split`), YOLO or VOC (folders,
    always split): the split is fine-tuning's (core.split.validation_paths) unless `val_split` is given."""
    with paused_cycle_collector():
        return _export_project(project, fmt, out, all_images=all_images, copy_images=copy_images, split=split,
                               val_split=val_split)


def _export_project(project, fmt, out, *, all_images, copy_images, split, val_split) -> ExportReport:
    if fmt == "coco":
        from .coco import export_coco

        return export_coco(project, out, all_images=all_images, split=split, val_split=val_split)
    if fmt == "yolo":
        from .yolo import export_yolo

        return export_yolo(project, out, all_images=all_images, copy_images=copy_images, val_split=val_split)
    if fmt == "voc":
        from .voc import export_voc

        return export_voc(project, out, all_images=all_images, copy_images=copy_images, val_split=val_split)
    raise FormatError(out, f"unknown export format {fmt!r}; one of {', '.join(EXPORT_FORMATS)}")
