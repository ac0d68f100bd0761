"""labelme JSON import: one file per image (labelme's `_label_file.py` layout: `shapes` with
`label`, `points` and `shape_type`, and `imagePath`, `imageWidth`, `imageHeight`).

Rectangles are boxes. With shapes="all", polygons, circles (centre and a point on the rim), lines,
line strips and points become their bounding boxes (a point's is under 1 pixel, so it is counted as
degenerate); with shapes="boxes" (the default) the report says how many other shapes it left out.
"""

from __future__ import annotations

import json
import math
import os
import posixpath
from pathlib import Path

from .common import FormatError, ImportData, ImportedBox, ImportedImage, relative_to

SHAPES = ("boxes", "all")


def is_labelme(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(65536)
    except OSError:
        return False
    return b'"shapes"' in head and b'"imagePath"' in head


def read_labelme(path: str | os.PathLike, project_root: Path | None = None, shapes: str = "boxes") -> ImportData:
    if shapes not in SHAPES:
        raise ValueError(f"shapes must be one of {SHAPES}")
    path = Path(path)
    if not path.exists():
        raise FormatError(path, "no such file or folder")
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*.json") if is_labelme(p))
    if not files:
        raise FormatError(path, "holds no labelme .json files")
    data = ImportData()
    classes: dict[str, None] = {}
    left_out: dict[str, int] = {}
    for f in files:
        item = _read_file(f, project_root, shapes, left_out)
        for b in item.boxes:
            classes.setdefault(b.category)
        data.images.append(item)
    data.categories = list(classes)
    if left_out:
        what = ", ".join(f"{n:,} {kind}" for kind, n in sorted(left_out.items()))
        data.skipped.append(f"Shapes other than rectangles left out ({what}); import them as their "
                            "bounding boxes with --shapes all")
    return data


def _read_file(f: Path, project_root: Path | None, shapes: str, left_out: dict) -> ImportedImage:
    try:
        doc = json.loads(f.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f, f"not valid JSON ({getattr(exc, 'msg', exc)})", getattr(exc, "lineno", None)) from None
    except OSError as exc:
        raise FormatError(f, f"cannot read ({exc.strerror or exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("shapes"), list):
        raise FormatError(f, "not a labelme file: needs a 'shapes' list")
    image_path = str(doc.get("imagePath") or "").replace("\\", "/")
    names = []
    rel_json = relative_to(f, project_root) if project_root else None
    if image_path:
        if rel_json is not None:  # imagePath is relative to the JSON file
            joined = posixpath.normpath(posixpath.join(posixpath.dirname(rel_json), image_path))
            if not joined.startswith(".."):
                names.append(joined)
        names.append(posixpath.basename(image_path))
    if rel_json is not None:
        names.append(posixpath.splitext(rel_json)[0])
    names.append(f.stem)
    item = ImportedImage(tuple(dict.fromkeys(names)), source=str(f))
    if isinstance(doc.get("imageWidth"), (int, float)) and isinstance(doc.get("imageHeight"), (int, float)):
        item.width, item.height = doc["imageWidth"], doc["imageHeight"]
    for i, s in enumerate(doc["shapes"]):
        where = f"shapes[{i}]"
        if not isinstance(s, dict) or not isinstance(s.get("label"), str) or not s["label"].strip():
            raise FormatError(f, f"{where} lacks a 'label'")
        kind = s.get("shape_type") or "polygon"
        pts = s.get("points")
        if (not isinstance(pts, list) or not pts
                or not all(isinstance(p, list) and len(p) == 2 and all(isinstance(v, (int, float))
                                                                      and not isinstance(v, bool)
                                                                      and math.isfinite(v) for v in p)
                           for p in pts)):
            raise FormatError(f, f"{where}.points must be a list of [x, y] numbers")
        if kind != "rectangle" and shapes == "boxes":
            left_out[kind] = left_out.get(kind, 0) + 1
            continue
        if kind == "circle":
            if len(pts) != 2:
                raise FormatError(f, f"{where}: a circle needs its centre and one point on its rim")
            (cx, cy), (px, py) = pts
            r = math.hypot(px - cx, py - cy)
            box = (cx - r, cy - r, cx + r, cy + r)
        else:
            if kind == "rectangle" and len(pts) not in (2, 4):
                raise FormatError(f, f"{where}: a rectangle needs 2 (or 4) points, not {len(pts)}")
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            box = (min(xs), min(ys), max(xs), max(ys))
        item.boxes.append(ImportedBox(s["label"].strip(), *box))
    return item
