"""Pascal VOC import and export: one XML file per image.

Convention: xmin, ymin, xmax, ymax are the box's pixel coordinates as they are, with no 1-based
shift, as labelImg (pascal_voc_io.py writes the box's corners as they are), CVAT and datumaro, and
Roboflow write them; a file from any of them comes back at the same pixels, and labeler's own export
reads back in them the same way. The original VOC devkit counts pixels from 1 and inclusively
(xmin is the leftmost pixel's 1-based index, xmax the rightmost's): its xmin and ymin are 1 more than
these tools' for the same box (xmax and ymax agree); labeler reads such a file as they do.

Read: any element order, float coordinates, self-closing empty tags, `<size>` missing (the image's
own size is used). `difficult`, `truncated` and `occluded` are kept as the box's flags
(records.DIFFICULT, TRUNCATED, OCCLUDED) and the report counts them.
Write: OUT/Annotations/*.xml with `<size>` as displayed and each box's three flags as 0 or 1,
ImageSets/Main/train.txt and val.txt from the split fine-tuning uses, JPEGImages/ as links or copies.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from xml.etree import ElementTree
from xml.parsers import expat
from xml.sax.saxutils import escape

from ..bulk import export_selection
from ..records import DIFFICULT, OCCLUDED, TRUNCATED
from ..store import Project
from .common import (ExportReport, FolderWriter, FormatError, ImportData, ImportedImage, ValSplit,
                     atomic_write, relative_to, split_names)

#: the VOC elements kept as box flags, and their bits in the store
FLAGS = {"difficult": DIFFICULT, "truncated": TRUNCATED, "occluded": OCCLUDED}
_TRUE = ("1", "true", "True", "yes")


class _Node:
    """An element of the slow tree (`_parse`), with the few ElementTree methods `_read_file` uses
    and the line it starts on."""

    __slots__ = ("tag", "text", "children", "line")

    def __init__(self, tag: str, line: int):
        self.tag, self.text, self.children, self.line = tag, "", [], line

    def __iter__(self):
        return iter(self.children)

    def find(self, tag: str) -> "_Node | None":
        for c in self.children:
            if c.tag == tag:
                return c
        return None

    def findtext(self, tag: str) -> str | None:
        node = self.find(tag)
        return node.text if node is not None else None


def _parse(path: Path) -> _Node:
    """A small tree with a line number on every element, so errors can name the line. About 5x
    slower than ElementTree's C parser, so it reads only a file that `_fast_parse` found wrong."""
    parser = expat.ParserCreate()
    stack: list[_Node] = []
    root: list[_Node] = []

    def start(tag, _attrs):
        node = _Node(tag, parser.CurrentLineNumber)
        (stack[-1].children if stack else root).append(node)
        stack.append(node)

    def end(_tag):
        stack.pop()

    def text(data):
        if stack:
            stack[-1].text += data

    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, text
    try:
        with open(path, "rb") as fh:
            parser.ParseFile(fh)
    except expat.ExpatError as exc:
        raise FormatError(path, f"not well-formed XML ({expat.errors.messages[exc.code]})", exc.lineno) from None
    except OSError as exc:
        raise FormatError(path, f"cannot read ({exc.strerror or exc})") from None
    return root[0]


def _fast_parse(path: Path):
    """ElementTree's C parser: no line numbers, so any problem it or `_read_file` finds sends the
    file through `_parse` again, whose message names the line."""
    try:
        return ElementTree.parse(path).getroot()
    except (ElementTree.ParseError, OSError) as exc:
        raise FormatError(path, str(exc)) from None


def _value(node, tag: str) -> str:
    return (node.findtext(tag) or "").strip()


def _line(node) -> int | None:
    return getattr(node, "line", None)


def _load(f: Path, project_root: Path | None, in_folder: bool) -> tuple[ImportedImage | None, dict]:
    """One file's image (None for an XML in a folder that is no VOC annotation) and its flag counts.
    The fast parser first; the line-numbering one for a file it cannot read as VOC, so that the
    error names the line (and a namespaced root is judged by the parser that ignores namespaces)."""
    for parse in (_fast_parse, _parse):
        counts = dict.fromkeys(FLAGS, 0)
        try:
            root = parse(f)
            if root.tag != "annotation" and parse is _fast_parse:
                raise FormatError(f, "not an <annotation>")
            if root.tag != "annotation" and in_folder:  # some other XML in the folder
                return None, counts
            return _read_file(f, root, project_root, counts), counts
        except FormatError:
            if parse is _parse:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def is_voc(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return b"<annotation" in fh.read(4096)
    except OSError:
        return False


def read_voc(path: str | os.PathLike, project_root: Path | None = None) -> ImportData:
    """Read one VOC XML file, or every VOC XML file under a folder, into plain records."""
    path = Path(path)
    if not path.exists():
        raise FormatError(path, "no such file or folder")
    files = [path] if path.is_file() else sorted(path.rglob("*.xml"))
    data = ImportData()
    flagged = {k: 0 for k in FLAGS}
    classes: dict[str, None] = {}
    other = 0
    in_folder = path.is_dir()
    for f in files:
        item, counts = _load(f, project_root, in_folder)
        if item is None:
            other += 1
            continue
        for k, n in counts.items():
            flagged[k] += n
        for b in item.boxes:
            classes.setdefault(b[0])
        data.images.append(item)
    if not data.images:
        raise FormatError(path, "holds no Pascal VOC .xml files")
    if other:
        data.skipped.append(f"{other:,} .xml files that are not VOC annotations were skipped")
    data.categories = list(classes)
    kept = [f"{k} ({n:,})" for k, n in flagged.items() if n]
    if kept:
        data.skipped.append(f"Boxes marked {', '.join(kept)} keep the marks (a VOC export writes them back)")
    return data


def _number(node, tag: str, path: Path) -> float:
    raw = _value(node, tag)
    try:
        return float(raw)
    except ValueError:
        child = node.find(tag)
        raise FormatError(path, f"<{tag}> must be a number, found {raw!r}",
                          _line(child if child is not None else node)) from None


def _read_file(f: Path, root, project_root: Path | None, flagged: dict) -> ImportedImage:
    """One parsed file (an ElementTree element or a `_Node`) as an image with its boxes."""
    if root.tag != "annotation":
        raise FormatError(f, f"the root element is <{root.tag}>, not <annotation>", _line(root))
    filename = _value(root, "filename")
    names = []
    rel_xml = relative_to(f, project_root) if project_root else None
    stated = _value(root, "path").replace("\\", "/")
    if stated and not stated.startswith("/") and ":" not in stated:  # a relative <path> (labeler's own)
        names.append(stated)
    if filename:
        folder = _value(root, "folder")
        if rel_xml is not None:  # the image beside the XML (labelImg)
            names.append(posixpath.join(posixpath.dirname(rel_xml), filename).lstrip("/"))
        if folder:
            names.append(posixpath.join(folder, filename))
        names.append(filename.replace("\\", "/"))
    if rel_xml is not None:
        names.append(posixpath.splitext(rel_xml)[0])
    names.append(f.stem)
    item = ImportedImage(tuple(dict.fromkeys(n for n in names if n and not n.startswith(("/", "..")))),
                         source=str(f))
    size = root.find("size")
    if size is not None and _value(size, "width") and _value(size, "height"):
        item.width, item.height = _number(size, "width", f), _number(size, "height", f)
    for obj in (c for c in root if c.tag == "object"):
        name = _value(obj, "name")
        if not name:
            raise FormatError(f, "<object> without a <name>", _line(obj))
        bb = obj.find("bndbox")
        if bb is None:
            raise FormatError(f, f"<object> {name!r} has no <bndbox>", _line(obj))
        text = bb.findtext
        try:  # the hot loop of a 100,000-box import: float() takes the padded text as it is
            x1, y1, x2, y2 = float(text("xmin")), float(text("ymin")), float(text("xmax")), float(text("ymax"))
        except (TypeError, ValueError):  # a tag missing (None) or not a number: say which
            for tag in ("xmin", "ymin", "xmax", "ymax"):
                if bb.find(tag) is None:
                    raise FormatError(f, f"<bndbox> lacks <{tag}>", _line(bb)) from None
            x1, y1, x2, y2 = (_number(bb, t, f) for t in ("xmin", "ymin", "xmax", "ymax"))
        flags = 0
        text = obj.findtext
        for k, bit in FLAGS.items():
            mark = text(k)
            if mark is not None and mark.strip() in _TRUE:
                flagged[k] += 1
                flags |= bit
        item.boxes.append((name, x1, y1, x2, y2, None, flags))  # ImportedBox's fields, without its constructor
    return item


def _n(v: float) -> str:
    """Two decimals at most, none for a whole number ("12", "12.5", "12.25")."""
    return f"{v:.2f}".rstrip("0").rstrip(".")


def export_voc(project: Project, out: str | os.PathLike, all_images: bool = False, copy_images: bool = False,
               val_split: ValSplit | None = None) -> ExportReport:
    out = Path(out)
    sel = export_selection(project, all_images)
    names = {c.id: escape(c.name) for c in sel.categories}
    sides = split_names((im.path for im in sel.images), val_split)
    report = ExportReport(images=len(sel.images), classes=len(sel.categories),
                          left_out_images=sel.left_out_images, left_out_boxes=sel.left_out_boxes, dropped=sel.dropped,
                          unusable=sel.unusable, train=0, val=0)
    ids = {"train": [], "val": []}
    flags = sel.flags
    used: set[str] = set()
    writer = FolderWriter(copy_images)
    # Strings, not Paths, for the 20,000 files of a 10,000-image export (see FolderWriter).
    annotations_at, images_at = os.path.join(out, "Annotations", ""), os.path.join(out, "JPEGImages", "")
    root = str(project.root)
    for im in sel.images:
        stem, ext = posixpath.splitext(im.path)
        key = stem.replace("/", "__")  # VOC is flat: sub/a.jpg becomes sub__a
        if key.lower() in used:
            key = f"{key}_{ext.lstrip('.')}"
        used.add(key.lower())
        image_name = key + ext
        objects = []
        for bid, cid, x1, y1, x2, y2 in sel.boxes.get(im.id, ()):
            f = flags.get(bid, 0)
            objects.append(
                f"  <object>\n    <name>{names[cid]}</name>\n    <pose>Unspecified</pose>\n"
                f"    <truncated>{1 if f & TRUNCATED else 0}</truncated>\n"
                f"    <difficult>{1 if f & DIFFICULT else 0}</difficult>\n"
                f"    <occluded>{1 if f & OCCLUDED else 0}</occluded>\n    <bndbox>\n"
                f"      <xmin>{_n(x1)}</xmin>\n      <ymin>{_n(y1)}</ymin>\n"
                f"      <xmax>{_n(x2)}</xmax>\n      <ymax>{_n(y2)}</ymax>\n    </bndbox>\n  </object>\n")
        report.boxes += len(objects)
        xml = (f"<annotation>\n  <folder>JPEGImages</folder>\n  <filename>{escape(image_name)}</filename>\n"
               f"  <path>{escape(im.path)}</path>\n  <source><database>labeler</database></source>\n"
               f"  <size>\n    <width>{im.width}</width>\n    <height>{im.height}</height>\n    <depth>3</depth>\n"
               f"  </size>\n  <segmented>0</segmented>\n" + "".join(objects) + "</annotation>\n")
        writer.text(f"{annotations_at}{key}.xml", xml)
        writer.image(os.path.join(root, im.path), images_at + image_name)
        side = sides[im.path]
        ids[side].append(key)
        setattr(report, side, getattr(report, side) + 1)
    for side, keys in ids.items():
        atomic_write(out / "ImageSets" / "Main" / f"{side}.txt", "".join(k + "\n" for k in keys))
    report.written.append(str(out))
    return report
