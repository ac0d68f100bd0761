"""The store's value types: images, categories and boxes as the store hands them out, their
states, and the store's errors. Pure data, no SQLite (labeler.core.store writes and reads them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .errors import LabelerError

# Box states and sources
PREDICTED = "predicted"  # proposed by a model, not yet reviewed
ACCEPTED = "accepted"  # a model's box a person accepted
HUMAN = "human"  # drawn or edited by a person (or imported as ground truth)
BOX_STATES = (PREDICTED, ACCEPTED, HUMAN)
SOURCE_HUMAN = "human"
SOURCE_MODEL = "model"

# Image statuses (derived, in the user's words; see ImageRecord.status). Distinct from the box
# states above: an image is "pre-labeled", a box "predicted".
UNLABELED = "unlabeled"  # no boxes at all
PRELABELED = "pre-labeled"  # has predictions nobody has reviewed yet
IN_PROGRESS = "in progress"  # only people's (or accepted) boxes, not marked reviewed
REVIEWED = "reviewed"
UNREADABLE = "unreadable"
MISSING = "missing"
IMAGE_STATUSES = (UNLABELED, PRELABELED, IN_PROGRESS, REVIEWED, UNREADABLE, MISSING)
#: the statuses of images that still need a person's review
NEEDS_REVIEW = (UNLABELED, PRELABELED, IN_PROGRESS)

#: Default colours for new categories, distinct on light and dark images.
PALETTE = (
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45",
    "#fabed4", "#469990", "#dcbeff", "#9a6324", "#fffac8", "#800000", "#aaffc3", "#808000",
)

MIN_BOX_SIZE = 1.0  # pixels; boxes smaller than this in either side are degenerate

# Box flags: one bit each in boxes.flags (schema version 4), kept from the files that carry them
# and written back by the format that has them (docs/formats.md). Edits never change them.
CROWD = 1  # COCO iscrowd: one box around a group of objects
DIFFICULT = 2  # Pascal VOC difficult
TRUNCATED = 4  # Pascal VOC truncated
OCCLUDED = 8  # Pascal VOC occluded (CVAT, datumaro)


class StoreError(LabelerError):
    """A request the store cannot satisfy; the message is meant for the user."""


class ProjectLockedError(StoreError):
    """Another process has the project open for writing."""


class StoreWriteError(StoreError):
    """An edit could not be written (the disk is full, an I/O error, the folder is gone); it was
    rolled back, so the store holds what it held before. `kind` is 'full', 'io', 'gone', 'readonly'
    or 'busy'; the message says what happened and what to do."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class ImageRecord:
    id: int
    path: str  # relative, forward slashes
    width: int  # displayed (EXIF orientation applied); 0 when unreadable
    height: int
    error: str | None  # why the file cannot be read, or None
    missing: bool  # the file vanished from disk since the last scan
    reviewed: bool
    box_count: int = 0
    predicted_count: int = 0

    @property
    def status(self) -> str:
        """The one image status rule: missing, then unreadable, then reviewed, then pre-labeled (any
        unreviewed prediction), in progress (only people's or accepted boxes), unlabeled."""
        if self.missing:
            return MISSING
        if self.error:
            return UNREADABLE
        if self.reviewed:
            return REVIEWED
        if self.predicted_count:
            return PRELABELED
        if self.box_count:
            return IN_PROGRESS
        return UNLABELED

    @property
    def needs_review(self) -> bool:
        """Readable, present and not yet reviewed: what "next image to review" and pre-labeling
        "the images not reviewed" pick from."""
        return self.status in NEEDS_REVIEW

    @property
    def usable(self) -> bool:
        """Present, readable and of known size: an image boxes can be drawn on, trained and exported."""
        return not self.missing and not self.error and bool(self.width) and bool(self.height)

    @property
    def file_name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class WorkCounts:
    """How much review work a project holds, counted by ImageRecord.status: the images to review
    and those reviewed are the work; unreadable and missing files are not (nobody can review them),
    so they are counted apart. The status bar, the Progress panel, `labeler info` and `labeler stats`
    all say it through `text()`."""

    reviewed: int = 0
    to_review: int = 0
    unreadable: int = 0
    missing: int = 0

    @classmethod
    def of(cls, statuses: Mapping[str, int]) -> "WorkCounts":
        """From a count per status (as Project.status_counts or a Counter of statuses gives)."""
        return cls(reviewed=statuses.get(REVIEWED, 0), to_review=sum(statuses.get(s, 0) for s in NEEDS_REVIEW),
                   unreadable=statuses.get(UNREADABLE, 0), missing=statuses.get(MISSING, 0))

    @classmethod
    def of_images(cls, images: Iterable[ImageRecord]) -> "WorkCounts":
        counts: dict[str, int] = {}
        for im in images:
            counts[im.status] = counts.get(im.status, 0) + 1
        return cls.of(counts)

    @property
    def total(self) -> int:
        """The images that are work: reviewed or to review."""
        return self.reviewed + self.to_review

    def apart(self) -> str:
        """"2 unreadable, 1 missing" (empty when every file can be read)."""
        return ", ".join(f"{n:,} {what}" for n, what in ((self.unreadable, UNREADABLE), (self.missing, MISSING)) if n)

    def text(self) -> str:
        """"reviewed 2 / 6": the work; when some files are not work, "reviewed 0 / 4  ·  4 to review,
        2 unreadable", so nobody waits for images that cannot be reviewed."""
        text = f"reviewed {self.reviewed:,} / {self.total:,}"
        if self.apart():
            text += f"  ·  {self.to_review:,} to review, {self.apart()}"
        return text


@dataclass(frozen=True)
class Category:
    id: int
    name: str
    color: str
    position: int


@dataclass(frozen=True)
class Box:
    id: int
    image_id: int
    category_id: int
    x1: float
    y1: float
    x2: float
    y2: float
    source: str = SOURCE_HUMAN
    score: float | None = None
    state: str = HUMAN
    created_at: float = 0.0
    updated_at: float = 0.0
    flags: int = 0  # CROWD | DIFFICULT | TRUNCATED | OCCLUDED

    @property
    def crowd(self) -> bool:
        """A COCO crowd region: not one object, so training leaves it out (labeler.ml.dataset)."""
        return bool(self.flags & CROWD)

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def rect(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)

    @property
    def shown_score(self) -> float:
        """The score the threshold compares: a box without one (a person's) counts as certain."""
        return self.score if self.score is not None else 1.0

    def hidden_at(self, threshold: float) -> bool:
        """Is this a prediction the "Show predictions >=" threshold hides? People's and accepted
        boxes never are."""
        return self.state == PREDICTED and self.shown_score < threshold


@dataclass
class ScanResult:
    added: int = 0
    updated: int = 0  # images whose file size, pixel size or readability changed (not touched or copied ones)
    missing: int = 0
    reappeared: int = 0
    unreadable: list[tuple[str, str]] = None  # (relative path, reason)

    def __post_init__(self):
        if self.unreadable is None:
            self.unreadable = []
