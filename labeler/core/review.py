"""The review queue: which unreviewed image a person should look at next.

An image's informativeness comes from the predictions stored for it (its last pre-labeling run or
an imported file with scores), computed here when asked, so it is always that of the predictions it
carries now and needs nothing from the model code:

    informativeness = sum over its live predictions of  1 - |score - t| / max(t, 1 - t)

with t the review threshold (the last one a person reviewed with, else 0.5): each box adds up to 1
the nearer its score is to the threshold, where the decision to keep or drop it is least sure, so
an image with several borderline boxes comes first and one whose boxes all score 0.99 (or 0.01)
comes late. Of the candidates (count near the threshold, least confidence = 1 - max score, and
disagreement with a flipped copy, which needs a second model pass), this one needs no extra model
work and counts every uncertain box, not only the least sure. It is chosen by reasoning, not yet by
measurement (benchmarks/loop.py is to compare it with file order).

Orders ("review.order" project setting): "file" (path order), "informative" (most informative
first; images not pre-labeled yet after, in path order), "random" (a fixed shuffle by path, the same
on every machine).
"""

from __future__ import annotations

import hashlib
from typing import Iterable, NamedTuple

from . import history as H

SETTING_ORDER = "review.order"
ORDERS = ("file", "informative", "random")
DEFAULT_THRESHOLD = 0.5


def informativeness(scores: Iterable[float | None], threshold: float = DEFAULT_THRESHOLD) -> float:
    span = max(threshold, 1.0 - threshold) or 1.0
    return sum(max(0.0, 1.0 - abs((1.0 if s is None else s) - threshold) / span) for s in scores)


def review_threshold(project) -> float:
    """The threshold most recently reviewed with, else 0.5."""
    rows = project._query("SELECT review_threshold FROM image_activity WHERE review_threshold IS NOT NULL "
                          "AND review_threshold > 0 ORDER BY rowid DESC LIMIT 1")
    return float(rows[0][0]) if rows else DEFAULT_THRESHOLD


def scores_by_image(project, threshold: float | None = None) -> dict[int, float]:
    """Informativeness of every image a model pre-labeled, from the live predictions of the model
    that pre-labeled it last (0.0 when it found nothing). One aggregate query: the same sum as
    `informativeness`, so a 100,000-image queue is ordered without building a record per box."""
    t = review_threshold(project) if threshold is None else threshold
    span = max(t, 1.0 - t) or 1.0
    rows = project._query(
        "SELECT a.image_id, COALESCE(SUM(MAX(0.0, 1.0 - ABS(COALESCE(p.score, 1.0) - ?) / ?)), 0.0) "
        "FROM image_activity a LEFT JOIN predictions p ON p.image_id = a.image_id AND p.model = a.prelabel_model "
        "AND p.fate IS NULL WHERE a.prelabel_model IS NOT NULL GROUP BY a.image_id", (t, span))
    return {image_id: float(score) for image_id, score in rows}


def image_informativeness(project, image_id: int, threshold: float | None = None) -> float | None:
    """One image's informativeness (None when no model pre-labeled it)."""
    act = H.activity_of(project, image_id)
    if act is None or act.prelabel_model is None:
        return None
    t = review_threshold(project) if threshold is None else threshold
    return informativeness([p.score for p in H.predictions(project, [image_id])
                            if p.fate is None and p.model == act.prelabel_model], t)


def review_order(project) -> str:
    order = project.get_setting(SETTING_ORDER, "file")
    return order if order in ORDERS else "file"


def sort_key(order: str, scores: dict[int, float]):
    """A key for (image id, path) pairs in `order`."""
    if order == "informative":
        return lambda item: (item[0] not in scores, -scores.get(item[0], 0.0), item[1])
    if order == "random":
        return lambda item: (hashlib.sha1(item[1].encode()).hexdigest(), item[1])
    return lambda item: item[1]


class QueuedImage(NamedTuple):
    id: int
    path: str


def review_queue(project, order: str | None = None) -> list[QueuedImage]:
    """Unreviewed readable images, in the review order (the project's by default)."""
    order = order or review_order(project)
    if order not in ORDERS:
        raise ValueError(f"Unknown review order {order!r}; use one of {', '.join(ORDERS)}")
    images = [QueuedImage(*r) for r in project._query(
        "SELECT id, path FROM images WHERE reviewed = 0 AND missing = 0 AND error IS NULL")]
    scores = scores_by_image(project) if order == "informative" else {}
    return sorted(images, key=sort_key(order, scores))


def all_in_order(project, order: str) -> list[QueuedImage]:
    """Every image (reviewed too) in a file or random order: where "next" starts from."""
    images = [QueuedImage(*r) for r in project._query("SELECT id, path FROM images")]
    return sorted(images, key=sort_key(order, {}))
