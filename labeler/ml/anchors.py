"""Anchor sizes and aspect ratios fitted to a project's boxes (issue 18's "autoanchor" lever).

Faster R-CNN's anchors are fixed; YOLO's autoanchor instead runs k-means on the labeled boxes'
widths and heights. `fit_anchors` does the same with a 1 - IoU distance (boxes compared as if
they shared a centre), and returns what torchvision's AnchorGenerator takes: one size per
cluster (sqrt(w * h)) and the aspect ratios (h / w) seen among the clusters. Pure numpy, not used
by training's defaults until it is measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np


@dataclass(frozen=True)
class FittedAnchors:
    sizes: tuple[float, ...]  # sqrt(w * h) of each cluster centre, ascending
    aspect_ratios: tuple[float, ...]  # h / w of the cluster centres, ascending, rounded and deduplicated
    centres: tuple[tuple[float, float], ...]  # (w, h) of each cluster, in the order of `sizes`
    mean_best_iou: float  # over the boxes, the IoU with the best-matching centre


def _wh(boxes: Iterable[Sequence[float]]) -> np.ndarray:
    wh = np.array([(x2 - x1, y2 - y1) for x1, y1, x2, y2 in boxes], float).reshape(-1, 2)
    return wh[(wh[:, 0] > 0) & (wh[:, 1] > 0)]


def centred_iou(wh: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """IoU of each (w, h) against each centre, both boxes sharing a centre: an N x K array."""
    inter = np.minimum(wh[:, None, 0], centres[None, :, 0]) * np.minimum(wh[:, None, 1], centres[None, :, 1])
    union = wh[:, None, 0] * wh[:, None, 1] + centres[None, :, 0] * centres[None, :, 1] - inter
    return inter / union


def fit_anchors(boxes: Iterable[Sequence[float]], k: int = 5, seed: int = 0, iterations: int = 100,
                ratio_decimals: int = 1) -> FittedAnchors:
    """K-means (distance 1 - IoU) on the (w, h) of `boxes` given as (x1, y1, x2, y2).

    Raises ValueError when there are no boxes with a positive width and height.
    Fewer than `k` distinct sizes give that many clusters.
    """
    wh = _wh(boxes)
    if len(wh) == 0:
        raise ValueError("no boxes to fit anchors to (every box needs a positive width and height)")
    distinct = np.unique(wh, axis=0)
    k = max(1, min(k, len(distinct)))
    rng = np.random.default_rng(seed)
    # k-means++ style start on the distinct sizes: spread centres apart
    centres = [distinct[rng.integers(len(distinct))]]
    while len(centres) < k:
        d = 1 - centred_iou(distinct, np.array(centres)).max(axis=1)
        centres.append(distinct[int(np.argmax(d))] if d.sum() == 0 else distinct[rng.choice(len(distinct), p=d / d.sum())])
    c = np.array(centres, float)
    for _ in range(iterations):
        nearest = centred_iou(wh, c).argmax(axis=1)
        # the median keeps a centre on typical boxes, as YOLO's kmeans does
        new = np.array([np.median(wh[nearest == j], axis=0) if np.any(nearest == j) else c[j] for j in range(k)])
        if np.allclose(new, c):
            break
        c = new
    order = np.argsort(c[:, 0] * c[:, 1])
    c = c[order]
    ratios = sorted({round(float(h / w), ratio_decimals) for w, h in c} - {0.0}) or [1.0]
    best = centred_iou(wh, c).max(axis=1)
    return FittedAnchors(tuple(float(np.sqrt(w * h)) for w, h in c), tuple(ratios),
                         tuple((float(w), float(h)) for w, h in c), float(best.mean()))


def project_boxes(project) -> list[tuple[float, float, float, float]]:
    """Every box of the project's labeled images, as (x1, y1, x2, y2), for `fit_anchors`."""
    out = []
    for image in project.images():
        out.extend((b.x1, b.y1, b.x2, b.y2) for b in project.boxes(image.id))
    return out
