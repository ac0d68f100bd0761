"""The review threshold a round argues for: the score at or above which showing a model's boxes would
have needed the fewest corrections on the images people reviewed with them, against the boxes they kept.

Corrections are counted as a person makes them in the window (benchmarks/loop.py's annotator makes the
same ones): a shown box that overlaps a kept box (IoU >= 0.5, any class; highest score first, each kept
box once) is fixed, one action for a wrong class and one for a rectangle that is not the kept one, none
when it is accepted unchanged; a shown box over no kept box is deleted, one action; a kept box that no
shown box overlaps is drawn, DRAW_COST actions (the rectangle and its class; the window asks for the
class only when it differs from the last one drawn, so this is the upper count). The count is an
estimate made after the fact: a box drawn by hand may sit where a hidden prediction would have needed a
nudge. Lower thresholds can be judged only as far down as predictions were kept: not below the lowest
threshold the round's images were reviewed with (below it pre-labeling may have stored nothing).
"""

from __future__ import annotations

from dataclasses import dataclass

from .geometry import iou as iou_of

IOU_MATCH = 0.5
DRAW_COST = 2
GRID = tuple(round(0.05 * k, 2) for k in range(1, 20))  # 0.05 .. 0.95: what a person would set a slider to


@dataclass(frozen=True)
class Suggestion:
    threshold: float  # a GRID value
    corrections_per_image: float  # estimated, had every image been reviewed at `threshold`
    used_corrections_per_image: float  # estimated the same way, at the thresholds they were reviewed with


def _effects(kept: list, preds: list) -> list[tuple[float, int]]:
    """(score, change in corrections when that prediction is shown) for one image's predictions
    (category, rect, score), against its kept boxes (category, rect). Greedy by score, so the matches
    of the boxes shown at any threshold are those of the top of this one list."""
    free = list(range(len(kept)))
    out = []
    for cat, rect, score in sorted(preds, key=lambda p: -p[2]):
        best, best_iou = None, IOU_MATCH
        for k in free:
            iou = iou_of(rect, kept[k][1])
            if iou >= best_iou:
                best, best_iou = k, iou
        if best is None:
            out.append((score, 1))  # a false box: one delete
            continue
        free.remove(best)
        kcat, krect = kept[best]
        fix = int(kcat != cat) + int(any(abs(a - b) > 1e-6 for a, b in zip(rect, krect)))
        out.append((score, fix - DRAW_COST))  # fixing it instead of drawing the kept box
    return out


def _cost(kept: int, effects: list[tuple[float, int]], threshold: float) -> int:
    return DRAW_COST * kept + sum(change for score, change in effects if score >= threshold)


def suggest(images: list[tuple[list, list, float]]) -> Suggestion | None:
    """The GRID threshold with the fewest estimated corrections over `images`, each given as (kept boxes
    [(category, rect)], predictions [(category, rect, score)], the threshold it was reviewed with); a tie
    goes to the threshold nearest the median of those used. None with no image, or nothing to judge."""
    if not images or not any(kept or preds for kept, preds, _ in images):
        return None
    prepared = [(len(kept), _effects(kept, preds), used) for kept, preds, used in images]
    used = sorted(u for _, _, u in prepared)
    median = used[len(used) // 2]
    floor = used[0]
    candidates = [t for t in GRID if t >= floor - 1e-9] or [GRID[-1]]
    n = len(prepared)

    def total(t: float) -> int:
        return sum(_cost(k, eff, t) for k, eff, _ in prepared)

    best = min(candidates, key=lambda t: (total(t), abs(t - median)))
    at_used = sum(_cost(k, eff, u) for k, eff, u in prepared)
    return Suggestion(best, total(best) / n, at_used / n)
