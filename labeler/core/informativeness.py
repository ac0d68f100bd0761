"""How much an image's review would teach the model: the candidate scores, in one place.

Each candidate is a pure function of what the model said about one image: the scores of the boxes
it proposed and the review threshold t, and for "flip" also the boxes it proposed on the
horizontally mirrored image. The higher the score, the sooner the review queue brings the image
(labeler.core.review).

- near_threshold: sum over boxes of 1 - |s - t| / max(t, 1 - t) (each box adds up to 1 the nearer
  its score sits to the threshold, where keeping or dropping it is least sure);
- least_confidence: 1 - the highest score (1 when the model found nothing);
- mean_uncertainty: the mean of 1 - s over the boxes (1 when it found nothing);
- entropy: sum over boxes of the binary entropy of s, in bits (a box at 0.5 adds 1);
- boxes: how many boxes (a cheap baseline: more objects, more to check);
- flip: 1 - the mean IoU of boxes matched between the image and its mirrored copy (same class,
  IoU >= 0.3, greedy by score), plus one per box left unmatched on either side. Needs a second
  model pass per image, so ml/predict.py computes its inputs only when it is the chosen formula.

The choice was made by measurement: benchmarks/queue_formula.py trains a small model on demo
scenes, pre-labels 150 more, lets benchmarks/loop.py's simulated annotator review every one, and
ranks the candidates by how well each finds the images that need the most corrections (figures in
docs/queue.md). The winner: near_threshold over every box the model reports down to LOOK_BELOW,
not only those pre-labeling stores (Spearman +0.78 with the corrections against +0.25 over the
stored boxes alone; the 20 % it ranks first hold 32 % of all corrections, random 20 %): the boxes
just under the threshold are where the misses are. So pre-labeling scores each image from its raw
outputs (ml/predict.py); imported predictions are scored from the scores they bring. Where a
formula needs the flip pass and an image has none, FALLBACK stands in.
"""

from __future__ import annotations

import math
from typing import Callable, Iterable, Sequence

Rect = tuple[float, float, float, float]
#: (category, x1, y1, x2, y2, score): a box as the model proposed it
Proposed = tuple[int, float, float, float, float, float]


def near_threshold(scores: Sequence[float], threshold: float) -> float:
    span = max(threshold, 1.0 - threshold) or 1.0
    return sum(max(0.0, 1.0 - abs(s - threshold) / span) for s in scores)


def least_confidence(scores: Sequence[float], threshold: float) -> float:
    return 1.0 - max(scores) if scores else 1.0


def mean_uncertainty(scores: Sequence[float], threshold: float) -> float:
    return sum(1.0 - s for s in scores) / len(scores) if scores else 1.0


def _bits(s: float) -> float:
    if s <= 0.0 or s >= 1.0:
        return 0.0
    return -(s * math.log2(s) + (1.0 - s) * math.log2(1.0 - s))


def entropy(scores: Sequence[float], threshold: float) -> float:
    return sum(_bits(s) for s in scores)


def box_count(scores: Sequence[float], threshold: float) -> float:
    return float(len(scores))


def _iou(a: Rect, b: Rect) -> float:
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def mirror(items: Iterable[Proposed], width: float) -> list[Proposed]:
    """Boxes found on the mirrored image, mapped back onto the image (x -> width - x)."""
    return [(c, width - x2, y1, width - x1, y2, s) for c, x1, y1, x2, y2, s in items]


def flip_disagreement(items: Sequence[Proposed], mirrored: Sequence[Proposed], min_iou: float = 0.3) -> float:
    """1 - mean matched IoU + unmatched boxes, between the boxes on the image and those on its
    mirrored copy (already mapped back with `mirror`); 0.0 when both found nothing."""
    free = list(range(len(mirrored)))
    ious = []
    for c, *rect, _ in sorted(items, key=lambda it: -it[5]):
        best, best_iou = None, min_iou
        for k in free:
            if mirrored[k][0] == c:
                iou = _iou(tuple(rect), mirrored[k][1:5])
                if iou >= best_iou:
                    best, best_iou = k, iou
        if best is not None:
            free.remove(best)
            ious.append(best_iou)
    unmatched = (len(items) - len(ious)) + len(free)
    return (1.0 - sum(ious) / len(ious) if ious else 0.0) + unmatched


#: the score-only candidates, by name
SCORE_CANDIDATES: dict[str, Callable[[Sequence[float], float], float]] = {
    "near_threshold": near_threshold,
    "least_confidence": least_confidence,
    "mean_uncertainty": mean_uncertainty,
    "entropy": entropy,
    "boxes": box_count,
}
CANDIDATES = (*SCORE_CANDIDATES, "flip")

DEFAULT = "near_threshold"
FALLBACK = "near_threshold"
#: pre-labeling computes the informativeness over every output scoring at least this (torchvision's
#: own default box threshold), whatever score threshold it stores boxes at
LOOK_BELOW = 0.05


def needs_flip(formula: str = DEFAULT) -> bool:
    return formula == "flip"


def informativeness(scores: Iterable[float | None], threshold: float, *, formula: str = DEFAULT,
                    flip: float | None = None) -> float:
    """An image's score by `formula` (a box stored without a score counts as sure, 1.0). With
    "flip", `flip` is flip_disagreement's value; without it (no second pass) FALLBACK decides."""
    if formula == "flip" and flip is not None:
        return float(flip)
    if formula == "flip":
        formula = FALLBACK
    if formula not in SCORE_CANDIDATES:
        raise ValueError(f"Unknown informativeness formula {formula!r}; use one of {', '.join(CANDIDATES)}")
    return float(SCORE_CANDIDATES[formula]([1.0 if s is None else float(s) for s in scores], threshold))
