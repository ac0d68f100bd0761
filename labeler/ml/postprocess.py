"""What pre-labeling does to a detector's boxes after torchvision's own per-class NMS.

Both steps were chosen with `benchmarks/loop.py`'s simulated annotator, re-scoring each round's
checkpoint on the images reviewed with it (the figures are in docs/architecture.md):

- `one_box_per_object`: a box overlapping a higher-scoring box of another class is dropped. Two
  classes on one object cost the reviewer a deletion (the commonest correction by round 3); the one
  kept is the best guess, and a wrong class is one re-class away.
- `fuse_flipped` (test-time flip, off by default: it doubles the model's work): each box is averaged
  with its match on the mirrored image, weighted by score, and the two scores are averaged; a box
  the mirrored pass does not confirm keeps half its score. It saved 5-18 % of the review actions on
  one demo seed's rounds and cost 3-8 % more on another's (benchmarks/postprocess.py), so it stays a
  choice, not the default.

Boxes are (category_id, x1, y1, x2, y2, score) in image pixels, as predict.ImageResult holds them.
"""

from __future__ import annotations

from typing import Sequence

#: the cross-class suppression's default IoU
CLASS_OVERLAP_IOU = 0.5

#: a box and its mirrored twin: same class and at least this IoU
FLIP_MATCH_IOU = 0.5


def _ious(a: Sequence[tuple], b: Sequence[tuple]):
    import torch
    from torchvision.ops import box_iou

    def boxes(items):
        return torch.tensor([it[1:5] for it in items], dtype=torch.float32).reshape(-1, 4)

    return box_iou(boxes(a), boxes(b))


def one_box_per_object(items: Sequence[tuple], iou: float | None) -> list[tuple]:
    """`items` without any box that overlaps a higher-scoring one by `iou` or more, whatever their
    classes, best first; all of them when `iou` is 0 or None."""
    if not iou or iou <= 0 or len(items) < 2:
        return list(items)
    ranked = sorted(items, key=lambda it: -it[5])
    overlap = _ious(ranked, ranked)
    kept: list[int] = []
    for i in range(len(ranked)):
        if not kept or float(overlap[i, kept].max()) < iou:
            kept.append(i)
    return [ranked[i] for i in kept]


def fuse_flipped(items: Sequence[tuple], mirrored: Sequence[tuple], min_iou: float = FLIP_MATCH_IOU) -> list[tuple]:
    """Each box of `items` merged with its best same-class match in `mirrored` (the mirrored pass's
    boxes, already mapped back onto the image): rectangle averaged by score, score the mean of both.
    A box with no match keeps its rectangle at half its score; mirrored boxes with no match on the
    image are left out (the image's own pass decides what exists). Order: best first."""
    if not items:
        return []
    overlap = _ious(items, mirrored) if mirrored else None
    out = []
    for i, (c, x1, y1, x2, y2, s) in enumerate(items):
        best, best_iou = None, min_iou
        for k, m in enumerate(mirrored):
            if m[0] == c and float(overlap[i, k]) >= best_iou:
                best, best_iou = m, float(overlap[i, k])
        if best is None:
            out.append((c, x1, y1, x2, y2, s / 2))
            continue
        w = s + best[5]
        rect = [(a * s + b * best[5]) / w if w > 0 else (a + b) / 2
                for a, b in zip((x1, y1, x2, y2), best[1:5])]
        out.append((c, *rect, (s + best[5]) / 2))
    return sorted(out, key=lambda it: -it[5])
