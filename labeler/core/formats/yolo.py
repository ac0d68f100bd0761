"""YOLO import and export.

Read: the Ultralytics layout (data.yaml with `path`; `train`/`val`/`test` as folders, list files or
lists of them; `names` as a list or a {id: name} dict; labels/ mirroring images/), the Darknet
layout (obj.data naming obj.names and train.txt/valid.txt; a .txt beside each image), and a bare
classes.txt with label files (labelImg). Lines may end in CRLF or not at all, have blank lines,
extra spaces or scientific notation; `class cx cy w h` is a box, `class x1 y1 x2 y2 ...` (a
segment) becomes its bounding box, a sixth number on a box line is a score.

Coordinates are fractions of the image *as displayed* (EXIF orientation applied), which is what
Ultralytics does: its loader (`exif_size`, `verify_image_label`) takes the size after the EXIF
transpose and normalises labels against it. So a box at the same pixels in labeler and in
Ultralytics has the same numbers in the file. An empty label file makes its image a reviewed
negative; an image without a label file is left as it was.

Write: OUT/data.yaml (`path`, `train`, `val`, `names` in the project's class order, so ids stay
stable while the classes do not change), images/{train,val} as links (or copies) and
labels/{train,val} with six decimals, split as fine-tuning splits. COCO crowd regions
(records.CROWD) are left out and counted, as Ultralytics' own COCO converter leaves them out: YOLO
has no mark for them, and a box around a crowd would train as one object.
"""

from __future__ import annotations

import math
import os
import posixpath
from pathlib import Path

from ..bulk import export_selection
from ..images import IMAGE_EXTENSIONS
from ..records import CROWD
from ..store import Project
from ..words import counted
from .common import (ExportReport, FolderWriter, FormatError, ImportData, ImportedBox, ImportedImage, ValSplit,
                     atomic_write, relative_to, split_names)

#: How far outside 0..1 a coordinate may stray before it is an error rather than rounding.
TOLERANCE = 1e-3
SPLIT_KEYS = ("train", "val", "test")


def _yaml():
    try:
        import yaml
    except ImportError:  # pragma: no cover - PyYAML is a dependency
        raise FormatError("data.yaml", "reading data.yaml needs PyYAML (pip install pyyaml)") from None
    return yaml


# ---------------------------------------------------------------------- finding the dataset
def find_config(path: Path) -> Path | None:
    """The data.yaml, obj.data, obj.names or classes.txt that describes a YOLO folder, if any."""
    if path.is_file():
        return path
    for name in ("data.yaml", "data.yml", "dataset.yaml", "obj.data", "obj.names", "classes.txt"):
        if (path / name).is_file():
            return path / name
    yamls = sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml"))
    return yamls[0] if len(yamls) == 1 else None


def read_yolo(path: str | os.PathLike, project_root: Path | None = None,
              as_predictions: bool = False) -> ImportData:
    """Read a YOLO dataset (a config file or the folder holding one) into plain records."""
    path = Path(path)
    if not path.exists():
        raise FormatError(path, "no such file or folder")
    config = find_config(path)
    if config is None:
        raise FormatError(path, "no data.yaml, obj.data, obj.names or classes.txt here: not a YOLO dataset")
    suffix = config.suffix.lower()
    if suffix in (".yaml", ".yml"):
        names, images = _ultralytics(config)
    elif suffix == ".data":
        names, images = _darknet(config)
    else:  # obj.names or classes.txt: label files beside it or beside the images
        names = _names_file(config)
        images = None
    data = ImportData(categories=list(names.values()))
    root = project_root or config.parent
    without_labels = 0
    if images is None:
        labels = sorted(p for p in config.parent.rglob("*.txt") if p.name.lower() not in
                        ("classes.txt", "obj.names", "train.txt", "valid.txt", "val.txt", "test.txt"))
        pairs = [(None, lab) for lab in labels]
    else:
        pairs = []
        files = _FileSet()  # one listing per label folder instead of a stat per image
        for img in images:
            lab = _label_file(str(img))
            if lab in files:
                pairs.append((img, Path(lab)))
            elif img.with_suffix(".txt").is_file():  # Darknet keeps labels beside images
                pairs.append((img, img.with_suffix(".txt")))
            else:
                without_labels += 1
    bases = (os.path.abspath(root), os.path.abspath(config.parent))
    for img, lab in pairs:
        item = _read_label_file(lab, names, as_predictions)
        item.names = _candidates(img, lab, bases)
        data.images.append(item)
    if without_labels:
        data.skipped.append(f"{without_labels} listed images have no label file; they were left as they were")
    return data


def label_path(image: Path) -> Path:
    """Ultralytics' rule: the last /images/ in the path becomes /labels/, the extension .txt."""
    return Path(_label_file(str(image)))


_IMAGES, _LABELS = f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"


def _label_file(image: str) -> str:
    """label_path on strings (Ultralytics' img2label_paths, in its very words)."""
    return _LABELS.join(image.rsplit(_IMAGES, 1)).rsplit(".", 1)[0] + ".txt"


class _FileSet:
    """`path in files`: is it a file? Each folder is listed once (10,000 label files in a few
    folders: a few listings instead of 10,000 stat calls); only names not listed are looked up."""

    def __init__(self):
        self._folders: dict[str, set[str]] = {}

    def __contains__(self, path: str) -> bool:
        folder, name = os.path.split(path)
        names = self._folders.get(folder)
        if names is None:
            try:
                with os.scandir(folder) as it:
                    names = {e.name for e in it if e.is_file()}
            except OSError:
                names = set()
            self._folders[folder] = names
        # a name not listed may still be there on a case-insensitive disk (A.txt for a.jpg on macOS,
        # Windows): one stat for each label not found, as before the listing
        return name in names or os.path.isfile(path)


def _relative(path: str, base: str) -> str | None:
    """`path` (absolute) relative to the absolute folder `base`, with forward slashes, or None."""
    if ".." in path or "/./" in path or "//" in path:  # not normalised: let relative_to do it
        return relative_to(Path(path), Path(base))
    if path.startswith(base) and path[len(base):len(base) + 1] == os.sep:
        return path[len(base) + 1:].replace(os.sep, "/")
    return None


def _candidates(img: Path | None, lab: Path, bases: tuple[str, str]) -> tuple[str, ...]:
    """The names the image may have in the project: relative to the project (bases[0]), to the
    dataset's folder (bases[1]), then its base name."""
    names = []
    if img is not None:
        s = str(img.absolute()) if not img.is_absolute() else str(img)
        for base in bases:
            rel = _relative(s, base)
            if rel is not None:
                names.append(rel)
        names.append(img.name)
    else:  # a bare label file: the image has its stem, beside it or in a mirrored images/ folder
        for base in bases:
            rel = relative_to(lab, Path(base))
            if rel is not None:
                stem = posixpath.splitext(rel)[0]
                names.append(stem)
                if "/labels/" in f"/{stem}":
                    head, _, tail = f"/{stem}".rpartition("/labels/")
                    names.append((head + "/images/" + tail).lstrip("/"))
        names.append(lab.stem)
    return tuple(dict.fromkeys(names))


def _names_file(path: Path) -> dict[int, str]:
    names = {}
    for i, line in enumerate(_lines(path)):
        name = line.strip()
        if name:
            names[len(names)] = name
    if not names:
        raise FormatError(path, "lists no class names")
    return names


def _lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise FormatError(path, f"cannot read ({exc.strerror or exc})") from None
    return text.splitlines()  # CRLF, CR and a missing final newline alike


def _ultralytics(config: Path):
    yaml = _yaml()
    try:
        doc = yaml.safe_load(config.read_text(encoding="utf-8-sig"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise FormatError(config, f"not valid YAML ({getattr(exc, 'problem', None) or exc})",
                          mark.line + 1 if mark else None) from None
    except OSError as exc:
        raise FormatError(config, f"cannot read ({exc.strerror or exc})") from None
    if not isinstance(doc, dict):
        raise FormatError(config, "must be a mapping with 'names' and 'train'/'val'")
    raw = doc.get("names")
    if isinstance(raw, list):
        names = {i: str(n) for i, n in enumerate(raw)}
    elif isinstance(raw, dict):
        try:
            names = {int(k): str(v) for k, v in raw.items()}
        except (TypeError, ValueError):
            raise FormatError(config, "'names' keys must be class ids (integers)") from None
    else:
        raise FormatError(config, "needs 'names' as a list or a {id: name} mapping")
    if len(set(names.values())) != len(names):
        raise FormatError(config, "'names' lists a class name twice")
    base = Path(doc.get("path") or config.parent)
    if not base.is_absolute():
        # Ultralytics resolves a relative `path` against its datasets dir; a file that travels
        # with its images means the folder it sits in.
        base = (config.parent / base).resolve()
        if not base.is_dir():
            base = config.parent
    images: list[Path] = []
    seen = False
    for key in SPLIT_KEYS:
        entries = doc.get(key)
        if entries is None:
            continue
        seen = True
        for entry in entries if isinstance(entries, list) else [entries]:
            images.extend(_images_of(base / str(entry), base, config))
    if not seen:
        raise FormatError(config, "names none of 'train', 'val' or 'test'")
    return names, list(dict.fromkeys(images))


def _images_of(entry: Path, base: Path, config: Path) -> list[Path]:
    if entry.is_dir():
        return sorted(p for p in entry.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
    if entry.is_file() and entry.suffix.lower() == ".txt":
        out = []
        for line in _lines(entry):
            line = line.strip()
            if line:
                p = Path(line)
                out.append(p if p.is_absolute() else (base / p if (base / p).exists() else entry.parent / p))
        return out
    raise FormatError(config, f"{entry} is neither an image folder nor a list file")


def _darknet(config: Path):
    values = {}
    for line in _lines(config):
        if "=" in line:
            k, v = line.split("=", 1)
            values[k.strip()] = v.strip()
    names_at = values.get("names")
    if not names_at:
        raise FormatError(config, "has no 'names =' line")
    names_path = _darknet_path(names_at, config)
    names = _names_file(names_path)
    images: list[Path] = []
    for key in ("train", "valid", "test"):
        if values.get(key):
            listed = _darknet_path(values[key], config)
            for line in _lines(listed):
                if line.strip():
                    images.append(_darknet_path(line.strip(), config))
    if not images:  # no lists: the .txt files beside obj.data's images
        images = sorted(p for p in config.parent.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
    return names, list(dict.fromkeys(images))


def _darknet_path(raw: str, config: Path) -> Path:
    """Darknet paths are relative to the folder darknet ran in, usually obj.data's parent's parent."""
    p = Path(raw)
    if p.is_absolute():
        return p
    for base in (config.parent, config.parent.parent):
        if (base / p).exists():
            return base / p
    raise FormatError(config, f"{raw} not found beside {config.name} or one folder up")


def _read_label_file(path: Path, names: dict[int, str], as_predictions: bool) -> ImportedImage:
    item = ImportedImage((), normalized=True, source=str(path))
    lo, hi = -TOLERANCE, 1 + TOLERANCE
    boxes = item.boxes
    by_text = {str(k): v for k, v in names.items()}  # "3" -> name: the usual class id needs no float()
    for n, line in enumerate(_lines(path), 1):
        parts = line.split()
        if not parts:
            continue
        name = by_text.get(parts[0])
        if len(parts) == 5 and name is not None:  # the usual line, `class cx cy w h`: its fast path
            try:
                cx, cy, w, h = float(parts[1]), float(parts[2]), float(parts[3]), float(parts[4])
            except ValueError:
                raise FormatError(path, f"expected numbers, found {line.strip()!r}", n) from None
            if not (lo <= cx <= hi and lo <= cy <= hi and 0 <= w <= hi and 0 <= h <= hi):  # nan fails too
                raise FormatError(path, f"coordinates outside 0..1: {' '.join(parts[1:5])}"
                                  if math.isfinite(cx + cy + w + h) else "coordinates must be finite numbers", n)
            boxes.append((name, cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, None, 0))
            continue
        try:
            values = [float(v) for v in parts]
        except ValueError:
            raise FormatError(path, f"expected numbers, found {line.strip()!r}", n) from None
        cls = values[0]
        if not cls.is_integer() or int(cls) not in names:
            raise FormatError(path, f"class id {parts[0]} has no name (the dataset names {len(names)} "
                              f"classes, ids 0 to {len(names) - 1})", n)
        coords = values[1:]
        if not math.isfinite(sum(coords)):  # one check for inf and nan in any of them
            raise FormatError(path, "coordinates must be finite numbers", n)
        score = None
        if len(coords) == 5:
            score, coords = coords[4], coords[:4]
        if len(coords) == 4:
            cx, cy, w, h = coords
            x1, y1, x2, y2 = cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
            if not (lo <= cx <= hi and lo <= cy <= hi and 0 <= w <= hi and 0 <= h <= hi):
                raise FormatError(path, f"coordinates outside 0..1: {' '.join(parts[1:5])}", n)
        elif len(coords) >= 6 and len(coords) % 2 == 0:
            xs, ys = coords[0::2], coords[1::2]
            if min(xs + ys) < lo or max(xs + ys) > hi:
                raise FormatError(path, "segment coordinates outside 0..1", n)
            x1, y1, x2, y2 = min(xs), min(ys), max(xs), max(ys)
        else:
            raise FormatError(path, f"expected 'class cx cy w h' or a segment 'class x1 y1 x2 y2 x3 y3 ...', "
                              f"found {len(parts)} numbers", n)
        item.boxes.append(ImportedBox(names[int(cls)], x1, y1, x2, y2, score if as_predictions else None))
    return item


# ---------------------------------------------------------------------- export
def export_yolo(project: Project, out: str | os.PathLike, all_images: bool = False, copy_images: bool = False,
                val_split: ValSplit | None = None) -> ExportReport:
    """Write a folder `yolo detect train data=OUT/data.yaml` accepts."""
    out = Path(out)
    sel = export_selection(project, all_images)
    index = {c.id: i for i, c in enumerate(sel.categories)}
    sides = split_names((im.path for im in sel.images), val_split)
    report = ExportReport(images=len(sel.images), classes=len(sel.categories),
                          left_out_images=sel.left_out_images, left_out_boxes=sel.left_out_boxes, dropped=sel.dropped,
                          unusable=sel.unusable, train=0, val=0)
    used: set[str] = set()
    writer = FolderWriter(copy_images)
    written: set[str] = set()
    crowd = {bid for bid, f in sel.flags.items() if f & CROWD}
    crowds = 0
    # Strings, not Paths, for the 20,000 files of a 10,000-image export (see FolderWriter).
    labels_at, images_at, root = os.path.join(out, "labels", ""), os.path.join(out, "images", ""), str(project.root)
    boxes_of = sel.boxes
    for im in sel.images:
        side = sides[im.path]
        stem, ext = posixpath.splitext(im.path)
        if f"{side}/{stem}".lower() in used:  # a.jpg and a.png in one folder would share a.txt
            stem = f"{stem}_{ext.lstrip('.')}"
        used.add(f"{side}/{stem}".lower())
        W, H = float(im.width), float(im.height)
        # Every box is inside its image (core.truth clips it), so each number is in 0..1 already.
        lines = [f"{index[cid]} {(x1 + x2) / 2 / W:.6f} {(y1 + y2) / 2 / H:.6f} {(x2 - x1) / W:.6f} {(y2 - y1) / H:.6f}\n"
                 for bid, cid, x1, y1, x2, y2 in boxes_of.get(im.id, ()) if bid not in crowd]
        crowds += len(boxes_of.get(im.id, ())) - len(lines)
        report.boxes += len(lines)
        label = f"{labels_at}{side}/{stem}.txt"
        writer.text(label, "".join(lines))
        written.add(label)
        writer.image(os.path.join(root, im.path), f"{images_at}{side}/{stem}{ext}")
        setattr(report, side, getattr(report, side) + 1)
    yaml = _yaml()
    doc = {"path": str(out.resolve()), "train": "images/train", "val": "images/val",
           "names": {i: c.name for i, c in enumerate(sel.categories)}}
    for side in ("train", "val"):
        (out / "images" / side).mkdir(parents=True, exist_ok=True)
        (out / "labels" / side).mkdir(parents=True, exist_ok=True)
    atomic_write(out / "data.yaml", "# Written by labeler; train with: yolo detect train data=data.yaml\n"
                 + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    report.written.append(str(out / "data.yaml"))
    stale = [p for p in (out / "labels").rglob("*.txt") if str(p) not in written]
    if stale:  # never deleted: they may be the user's; but Ultralytics would train on them
        report.notes.append(f"{counted(len(stale), 'label file')} in {out / 'labels'} were not written by this export "
                            f"(e.g. {stale[0].relative_to(out)}); remove them, or export to an empty folder")
    if crowds:
        report.notes.append(f"Left out {counted(crowds, 'crowd region')} (COCO iscrowd): YOLO has no mark for them")
    if report.val == 0 and report.train:
        report.notes.append("No image fell in the validation split; Ultralytics needs at least one in images/val")
    return report
