"""Ground truth: which boxes train a model and go into an export.

One query, used by COCO export (labeler.core.formats.coco) and by the training data
(labeler.ml.dataset): people's and accepted boxes (never unreviewed predictions) on usable images
(present, readable, of known size) that are reviewed, or on every usable image with `all_images`.
A reviewed image without boxes is a negative and is kept. Each box passes through
`geometry.clip_box`; the ones it refuses are left out and counted in `dropped`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .geometry import clip_box
from .records import ACCEPTED, HUMAN, Box, ImageRecord

#: the box states that count as ground truth
TRUTH_STATES = (HUMAN, ACCEPTED)


def trains_on(image: ImageRecord) -> bool:
    """Does fine-tuning use this image (and so may keep it for validation)?"""
    return image.reviewed and image.usable


@dataclass
class GroundTruth:
    #: (image, its ground-truth boxes clipped to the image) in path order
    images: list[tuple[ImageRecord, list[Box]]] = field(default_factory=list)
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
    by_image: dict[int, list[Box]] = {im.id: [] for im in chosen}
    sizes = {im.id: (im.width, im.height) for im in chosen}
    for b in project.all_boxes(states=TRUTH_STATES):
        kept = by_image.get(b.image_id)
        if kept is None:
            continue
        rect = clip_box(b.x1, b.y1, b.x2, b.y2, *sizes[b.image_id])
        if rect is None:
            out.dropped += 1
            continue
        kept.append(b if rect == b.rect else replace(b, x1=rect[0], y1=rect[1], x2=rect[2], y2=rect[3]))
    out.images = [(im, by_image[im.id]) for im in chosen]
    return out
