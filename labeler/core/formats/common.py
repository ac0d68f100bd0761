"""What every format shares: the plain records a reader produces, the error that names file and
line, the import report, the export's account of what it left out, and atomic writes.

A reader turns files into an `ImportData` (images by the names the files give them, boxes by class
name) without touching the project; `labeler.core.bulk.import_records` matches the images, clips the
boxes with `labeler.core.geometry.clip_box` and writes everything in one transaction.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, NamedTuple

from ..errors import LabelerError
from ..files import atomic_copy, atomic_write_small, atomic_write_text
from ..records import StoreError
from ..split import validation_paths
from ..words import counted

Progress = Callable[[int, int], None]
#: Given the relative paths of the exported images, the set of those that go to validation
#: (the same rule fine-tuning uses; the caller supplies it so core depends on nothing above it).
ValSplit = Callable[[list[str]], set]


class FormatError(LabelerError):
    """An input file that cannot be used; the message names the file (and line) and what is wrong."""

    def __init__(self, path, message: str, line: int | None = None):
        self.path, self.line, self.detail = str(path), line, message
        super().__init__(f"{path}:{line}: {message}" if line is not None else f"{path}: {message}")


class ImportedBox(NamedTuple):
    """One box as a file gives it: pixels of the displayed image, or fractions of its width and
    height when `normalized` (YOLO), before clipping; `flags` as the store keeps them (records.CROWD,
    DIFFICULT, TRUNCATED, OCCLUDED). (A tuple: a 100,000-box import makes one each.)"""

    category: str
    x1: float
    y1: float
    x2: float
    y2: float
    score: float | None = None
    flags: int = 0


@dataclass
class ImportedImage:
    """An image a file labels. `names` are the relative paths it may have in the project, tried in
    order; a name without an image extension matches by stem (labelImg's YOLO .txt files)."""

    names: tuple[str, ...]
    boxes: list[ImportedBox] = field(default_factory=list)
    normalized: bool = False
    width: float | None = None  # as the file states it, if it does
    height: float | None = None
    source: str = ""  # the file it came from, for messages


@dataclass
class ImportData:
    """What a reader found: images with their boxes, class names in the file's order, and what it
    had to leave out (each with its reason), for the report."""

    images: list[ImportedImage] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # lines for the report: what and why
    boxes_unknown_image: int = 0  # COCO annotations whose image_id is not in the file


@dataclass
class ImportReport:
    images_in_file: int = 0
    images_matched: int = 0
    images_missing: list[str] = field(default_factory=list)  # file names with no image in the project
    boxes_added: int = 0
    predictions_added: int = 0
    boxes_clipped: int = 0
    boxes_degenerate: int = 0  # skipped: under 1 px inside the image after clipping
    boxes_unknown_image: int = 0  # skipped: image_id not in the file's images
    boxes_on_missing_images: int = 0
    images_size_differs: list[str] = field(default_factory=list)  # stated size is not the displayed one
    categories_created: list[str] = field(default_factory=list)
    images_reviewed: int = 0
    skipped: list[str] = field(default_factory=list)

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
            lines.append(f"{counted(self.boxes_clipped, 'box')} clipped to their image")
        if self.boxes_degenerate:
            lines.append(f"{counted(self.boxes_degenerate, 'degenerate box')} skipped "
                         "(less than 1 pixel wide or high inside the image)")
        if self.boxes_unknown_image:
            lines.append(f"{counted(self.boxes_unknown_image, 'annotation')} skipped: their image_id is not in the file")
        if self.images_missing:
            lines.append(
                f"{counted(len(self.images_missing), 'image')} not found in the project folder "
                f"({_some(self.images_missing)}); their {counted(self.boxes_on_missing_images, 'box')} "
                f"{'was' if self.boxes_on_missing_images == 1 else 'were'} skipped"
            )
        if self.images_size_differs:
            lines.append(f"{counted(len(self.images_size_differs), 'image')} state a size other than the image's "
                         f"as displayed ({_some(self.images_size_differs)}); their boxes were kept as given")
        lines.extend(self.skipped)
        return "\n".join(lines)


def _unusable_lines(unusable: list[tuple[str, str, str]], shown: int = 3) -> list[str]:
    """Per status, "Left out 2 unreadable images:" and then the first few files, each with why
    ("  a.jpg: cannot identify image file"), and "and N more" for the rest (`labeler info` lists
    them all)."""
    lines = []
    for status in sorted({s for _p, s, _w in unusable}):
        files = [(p, why) for p, s, why in unusable if s == status]
        lines.append(f"Left out {counted(len(files), status + ' image')}:")
        lines += [f"  {p}: {why}" for p, why in files[:shown]]
        if len(files) > shown:
            lines.append(f"  and {len(files) - shown} more (`labeler info` lists them all)")
    return lines


def _some(names: list[str], n: int = 5) -> str:
    return ", ".join(names[:n]) + (" …" if len(names) > n else "")


@dataclass
class ExportReport:
    """What an export wrote and what it left out, in words for the user."""

    images: int = 0
    boxes: int = 0
    classes: int = 0
    train: int | None = None
    val: int | None = None
    left_out_images: int = 0  # unreviewed images not exported
    left_out_boxes: int = 0  # their human and accepted boxes
    dropped: int = 0  # boxes under 1 px inside their image
    written: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: (relative path, status, why) of the unreadable and missing images left out (bulk.ExportSelection)
    unusable: list[tuple[str, str, str]] = field(default_factory=list)

    def summary(self, how: str = "--all-images") -> str:
        """`how`: the way to include unreviewed images where the user reads this."""
        where = ", ".join(self.written)
        split = f" (train {self.train}, val {self.val})" if self.train is not None else ""
        lines = [f"Wrote {counted(self.images, 'image')}{split}, {counted(self.boxes, 'box')} and "
                 f"{counted(self.classes, 'class')} to {where}"]
        if self.left_out_images:
            boxes = f" and their {counted(self.left_out_boxes, 'box')}" if self.left_out_boxes else ""
            lines.append(f"Left out {counted(self.left_out_images, 'unreviewed image')}{boxes}; include them with {how}")
        if self.dropped:
            lines.append(f"Left out {counted(self.dropped, 'box')} under 1 pixel inside their image")
        lines.extend(_unusable_lines(self.unusable))
        lines.extend(self.notes)
        return "\n".join(lines)


def normalise_name(raw: str, path, line: int | None = None, error: type = FormatError) -> str:
    """A relative POSIX path; refuses names that point outside the project folder."""
    name = raw.strip().replace("\\", "/")
    if name.startswith(("/", "~")) or (len(name) > 1 and name[1] == ":"):  # POSIX, home or a Windows drive
        raise error(path, f"image name {raw!r} is an absolute path; names must be relative to the image folder", line)
    norm = posixpath.normpath(name)
    if norm == ".." or norm.startswith("../"):
        raise error(path, f"image name {raw!r} points outside the project folder", line)
    return norm


def relative_to(path: Path, root: Path) -> str | None:
    """`path` relative to `root` with forward slashes, or None when it is not inside it."""
    p, r = os.path.abspath(path), os.path.abspath(root).rstrip(os.sep)
    if p.startswith(r + os.sep):  # string work: this runs once per file of a 10,000-file import
        return p[len(r) + 1:].replace(os.sep, "/")
    return None


def atomic_write(path: Path, text: str) -> None:
    """Write a text file atomically (labeler.core.files); a failure is a StoreError naming the file."""
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        raise StoreError(f"Could not write {path}: {exc.strerror or exc}") from None


class FolderWriter:
    """Writes the many small files of a folder export (YOLO, VOC), each atomically but without an
    fsync (labeler.core.files.atomic_write_small: a full disk leaves the old file whole; the folder's index
    file, data.yaml or ImageSets, is written last and durably); images as symbolic links by default,
    copies with `copy` (or where the file system refuses links).

    Paths are strings (str or Path accepted): a 10,000-image export makes 20,000 of them, and a
    Path each costs more than the write of a short label file on a fast disk."""

    def __init__(self, copy: bool = False):
        self.copy = copy
        self._made: set[str] = set()

    def _folder(self, path) -> None:
        parent = os.path.dirname(path)
        if parent not in self._made:
            os.makedirs(parent, exist_ok=True)
            self._made.add(parent)

    def text(self, path, text: str) -> None:
        try:
            self._folder(path)
            atomic_write_small(os.fspath(path), text.encode("utf-8"))
        except OSError as exc:
            raise StoreError(f"Could not write {path}: {exc.strerror or exc}") from None

    def image(self, source, target) -> None:
        source = os.fspath(source)
        if not os.path.isabs(source):
            source = os.path.abspath(source)
        try:
            self._folder(target)
            if not self.copy:
                try:
                    os.symlink(source, target)
                    return
                except FileExistsError:
                    os.unlink(target)
                    try:
                        os.symlink(source, target)
                        return
                    except OSError:
                        pass
                except (OSError, NotImplementedError):
                    pass
            if os.path.islink(target):
                os.unlink(target)
            atomic_copy(source, target, durable=False)
        except OSError as exc:
            raise StoreError(f"Could not write {target}: {exc.strerror or exc}") from None


def split_names(paths: Iterable[str], val_split: ValSplit | None = None) -> dict[str, str]:
    """'train' or 'val' for each relative path, by the split fine-tuning uses
    (core.split.validation_paths) unless another rule is given."""
    paths = list(paths)
    val = (val_split or validation_paths)(paths)
    return {p: ("val" if p in val else "train") for p in paths}
