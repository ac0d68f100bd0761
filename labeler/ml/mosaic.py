"""Mosaic augmentation for detection (issue 18's lever, as in YOLOv4/Ultralytics): four images
into one canvas around a random centre, each filling one quadrant, boxes shifted with their image
and clipped to the part of it that shows, by `labeler.core.geometry.clip_box`.

Pure numpy on HxWx3 uint8 arrays; not part of training's default augmentations until measured.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from labeler.core.geometry import clip_box

#: a box that keeps less than this share of its area after the cut is dropped (too little shows
#: to tell what it is, the demo's labeling rule for hidden objects is 0.5 of the object)
MIN_KEPT_AREA = 0.25
FILL = 114  # the grey Ultralytics fills mosaic borders with


@dataclass
class MosaicResult:
    image: np.ndarray  # out_h x out_w x 3 uint8
    boxes: list[tuple[float, float, float, float]]
    labels: list[int]
    dropped: int  # boxes cut away (outside the canvas, or under MIN_KEPT_AREA of their area left)


def mosaic(images: Sequence[np.ndarray], boxes: Sequence[Sequence[Sequence[float]]], labels: Sequence[Sequence[int]],
           out_size: tuple[int, int], rng: random.Random, centre_range: tuple[float, float] = (0.25, 0.75),
           min_kept_area: float = MIN_KEPT_AREA) -> MosaicResult:
    """Four images (HxWx3 uint8), their boxes (x1, y1, x2, y2 in their pixels) and labels, into one
    `out_size` = (width, height) image. Image k's corner touches the centre from quadrant k
    (0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right); whatever of it falls outside its
    quadrant is cut, and so are its boxes."""
    if len(images) != 4 or len(boxes) != 4 or len(labels) != 4:
        raise ValueError(f"mosaic takes 4 images with their boxes and labels, not {len(images)}")
    out_w, out_h = out_size
    cx = int(round(rng.uniform(*centre_range) * out_w))
    cy = int(round(rng.uniform(*centre_range) * out_h))
    canvas = np.full((out_h, out_w, 3), FILL, np.uint8)
    quadrants = ((0, 0, cx, cy), (cx, 0, out_w, cy), (0, cy, cx, out_h), (cx, cy, out_w, out_h))
    out_boxes, out_labels, dropped = [], [], 0
    for k, (image, bxs, lbs) in enumerate(zip(images, boxes, labels)):
        if len(bxs) != len(lbs):
            raise ValueError(f"image {k} has {len(bxs)} boxes but {len(lbs)} labels")
        h, w = image.shape[:2]
        ox = cx - w if k in (0, 2) else cx
        oy = cy - h if k in (0, 1) else cy
        qx1, qy1, qx2, qy2 = quadrants[k]
        # the part of the image that shows: its rectangle within the quadrant, in canvas pixels
        rx1, ry1, rx2, ry2 = max(ox, qx1), max(oy, qy1), min(ox + w, qx2), min(oy + h, qy2)
        if rx2 > rx1 and ry2 > ry1:
            canvas[ry1:ry2, rx1:rx2] = image[ry1 - oy:ry2 - oy, rx1 - ox:rx2 - ox, :3]
        for (x1, y1, x2, y2), label in zip(bxs, lbs):
            area = (x2 - x1) * (y2 - y1)
            # into the shown part's own pixels, so clip_box cuts at that part's edges
            clipped = None
            if rx2 > rx1 and ry2 > ry1:
                clipped = clip_box(x1 + ox - rx1, y1 + oy - ry1, x2 + ox - rx1, y2 + oy - ry1, rx2 - rx1, ry2 - ry1)
            if clipped is None:
                dropped += 1
                continue
            a1, b1, a2, b2 = clipped
            if area > 0 and (a2 - a1) * (b2 - b1) < min_kept_area * area:
                dropped += 1
                continue
            out_boxes.append((a1 + rx1, b1 + ry1, a2 + rx1, b2 + ry1))
            out_labels.append(int(label))
    return MosaicResult(canvas, out_boxes, out_labels, dropped)
