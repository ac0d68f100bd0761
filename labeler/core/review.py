"""The review queue: which unreviewed image a person should look at next.

An image's informativeness is stored with it when it is pre-labeled (or gets imported predictions
with scores): labeler.core.informativeness computes it from the model's outputs with the formula
chosen by measurement (its DEFAULT; benchmarks/queue_formula.py, docs/queue.md). It stays that of
the predictions the image got then; edits before the review do not move it in the queue.

Orders ("review.order" project setting): "file" (path order), "informative" (most informative
first; images not pre-labeled yet after, in path order), "random" (a fixed shuffle by path, the same
on every machine). `next_informative` answers "the next one" with an indexed query that reads one
row, so the GUI thread can ask it at 100,000 images; `review_queue` builds the whole list (the CLI).
"""

from __future__ import annotations

import functools
import hashlib
from typing import Iterable, NamedTuple

from . import history as H
from . import informativeness as I

SETTING_ORDER = "review.order"
ORDERS = ("file", "informative", "random")
DEFAULT_THRESHOLD = 0.5


def informativeness(scores: Iterable[float | None], threshold: float = DEFAULT_THRESHOLD) -> float:
    """The default formula over one image's prediction scores (labeler.core.informativeness)."""
    return I.informativeness(scores, threshold)


def review_threshold(project) -> float:
    """The threshold most recently reviewed with, else 0.5."""
    rows = project._query(H.LAST_THRESHOLD_SQL)
    return float(rows[0][0]) if rows else DEFAULT_THRESHOLD


def scores_by_image(project, image_ids: Iterable[int] | None = None) -> dict[int, float]:
    """The stored informativeness of every image a model pre-labeled (of `image_ids` only, when
    given: the image list re-reads those an edit or a run touched)."""
    sql = ("SELECT image_id, informativeness FROM image_activity "
           "WHERE prelabel_model IS NOT NULL AND informativeness IS NOT NULL")
    if image_ids is None:
        return {image_id: float(score) for image_id, score in project._query(sql)}
    out: dict[int, float] = {}
    ids = list(image_ids)
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        out.update((image_id, float(score)) for image_id, score in project._query(
            f"{sql} AND image_id IN ({','.join('?' * len(chunk))})", chunk))
    return out


def image_informativeness(project, image_id: int) -> float | None:
    """One image's informativeness (None when no model pre-labeled it)."""
    act = H.activity_of(project, image_id)
    if act is None or act.prelabel_model is None:
        return None
    return act.informativeness


_WAITING = "i.reviewed = 0 AND i.missing = 0 AND i.error IS NULL AND i.id <> ?"


def next_informative(project, exclude: int | None = None) -> int | None:
    """The most informative unreviewed readable image other than `exclude` (ties by path), else the
    first not pre-labeled one in path order; None when none is left. Walks the informativeness index
    from the top and stops at the first that waits: cheap on the GUI thread."""
    skip = -1 if exclude is None else exclude
    rows = project._query(
        # INDEXED BY + CROSS JOIN: walk the index from the top (ties sorted group by group), never
        # sort every waiting image (what the planner picks otherwise)
        "SELECT i.id FROM image_activity a INDEXED BY image_activity_informativeness CROSS JOIN images i "
        "ON i.id = a.image_id "
        f"WHERE a.informativeness IS NOT NULL AND a.prelabel_model IS NOT NULL AND {_WAITING} "
        "ORDER BY a.informativeness DESC, i.path LIMIT 1", (skip,))
    if rows:
        return rows[0][0]
    rows = project._query(
        f"SELECT i.id FROM images i WHERE {_WAITING} AND NOT EXISTS (SELECT 1 FROM image_activity a "
        "WHERE a.image_id = i.id AND a.prelabel_model IS NOT NULL AND a.informativeness IS NOT NULL) "
        "ORDER BY i.path LIMIT 1", (skip,))
    return rows[0][0] if rows else None


def review_order(project) -> str:
    order = project.get_setting(SETTING_ORDER, "file")
    return order if order in ORDERS else "file"


@functools.lru_cache(maxsize=200_000)
def _shuffled(path: str) -> str:
    """The random order's key of a path (cached: "Next image to review" hashes every path left)."""
    return hashlib.sha1(path.encode()).hexdigest()


def sort_key(order: str, scores: dict[int, float]):
    """A key for (image id, path) pairs in `order`."""
    if order == "informative":
        return lambda item: (item[0] not in scores, -scores.get(item[0], 0.0), item[1])
    if order == "random":
        return lambda item: (_shuffled(item[1]), item[1])
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


def next_to_review(project, current: int | None, order: str | None = None) -> int | None:
    """The image "Next image to review" brings, without building the queue: in informative order
    the most informative one left other than `current` (next_informative); in file or random order
    the next one after `current` in that order, wrapping around. None when none is left.
    File order is one indexed query; random hashes the paths of the images left (no sort)."""
    order = order or review_order(project)
    if order == "informative":
        return next_informative(project, current)
    skip = -1 if current is None else current
    rows = project._query("SELECT path FROM images WHERE id = ?", (skip,))
    here = rows[0][0] if rows else None
    if order == "file":
        if here is not None:
            rows = project._query(f"SELECT i.id FROM images i WHERE {_WAITING} AND i.path > ? "
                                  "ORDER BY i.path LIMIT 1", (skip, here))
            if rows:
                return rows[0][0]
        rows = project._query(f"SELECT i.id FROM images i WHERE {_WAITING} ORDER BY i.path LIMIT 1", (skip,))
        return rows[0][0] if rows else None
    key = sort_key("random", {})
    start = key((skip, here)) if here is not None else None
    after = first = None
    for item in project._query(f"SELECT i.id, i.path FROM images i WHERE {_WAITING}", (skip,)):
        k = key(item)
        if first is None or k < first[0]:
            first = (k, item[0])
        if start is not None and k > start and (after is None or k < after[0]):
            after = (k, item[0])
    return (after or first or (None, None))[1]
