"""Ground truth: which boxes train a model and go into an export.

One query, used by every export (labeler.core.bulk.export_selection) and by the training data
(labeler.ml.dataset): people's and accepted boxes (never unreviewed predictions) on usable images
(present, readable, of known size) that are reviewed, or on every usable image with `all_images`.
A reviewed image without boxes is a negative and is kept. Each box passes through
`geometry.clip_box`; the ones it refuses are left out and counted in `dropped`.

Speed: a box already in order and inside its image (the store clips what it is given, so nearly
all of them) is passed as it is, by a test in the query itself (`Boxes.rows_with_fit`); clip_box
runs on the rest only. Boxes come as `TruthBox` tuples, not full `Box` records: 100,000 boxes
read in about a quarter of the time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from .geometry import clip_box
from .records import ACCEPTED, HUMAN, ImageRecord

#: the box states that count as ground truth
TRUTH_STATES = (HUMAN, ACCEPTED)


class TruthBox(NamedTuple):
    """A ground-truth box, clipped to its image: unpacks as (id, category_id, x1, y1, x2, y2)."""

    id: int
    category_id: int
    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def rect(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)


def trains_on(image: ImageRecord) -> bool:
    """Does fine-tuning use this image (and so may keep it for validation)?"""
    return image.reviewed and image.usable


@dataclass
class GroundTruth:
    #: (image, its ground-truth boxes clipped to the image) in path order
    images: list[tuple[ImageRecord, list[TruthBox]]] = field(default_factory=list)
    #: boxes left out because clip_box refuses them (under 1 px inside the image)
    dropped: int = 0
    #: usable images left out because they are not reviewed (0 with all_images)
    unreviewed: int = 0

    @property
    def box_count(self) -> int:
        return sum(len(b) for _im, b in self.images)


def ground_truth(project, all_images: bool = False) -> GroundTruth:
    """The project's ground truth; see the module docstring."""
    usable = [im for im in project.images() if im.usable]
    chosen = usable if all_images else [im for im in usable if trains_on(im)]
    out = GroundTruth(unreviewed=len(usable) - len(chosen))
    by_image: dict[int, list[TruthBox]] = {im.id: [] for im in chosen}
    sizes = {im.id: (im.width, im.height) for im in chosen}
    make = TruthBox._make
    for image_id, box_id, cid, x1, y1, x2, y2, fits in project.box_rows_with_fit(TRUTH_STATES):
        kept = by_image.get(image_id)
        if kept is None:
            continue
        if fits:
            kept.append(make((box_id, cid, x1, y1, x2, y2)))
            continue
        rect = clip_box(x1, y1, x2, y2, *sizes[image_id]) if None not in (x1, y1, x2, y2) else None
        if rect is None:
            out.dropped += 1
            continue
        kept.append(TruthBox(box_id, cid, *rect))
    out.images = [(im, by_image[im.id]) for im in chosen]
    return out
