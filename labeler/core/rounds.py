"""Rounds: what each model's pre-labeling cost and saved, measured on the images people reviewed.

`derive_rounds(project)` is the one computation behind `labeler stats` and the Progress panel. A
round is a model (by its key, labeler.core.history); its images are those reviewed while they
carried that model's predictions (the model that last pre-labeled them, before the review). On
those images, against the boxes people finally kept:

- outcomes of its predictions: accepted unchanged (box still at the proposed class and rectangle),
  corrected (moved, resized or re-classed), rejected (deleted by hand), not shown (dropped by
  Ctrl+Enter below the threshold; not a rejection, but still scored by AP); and drawn: kept boxes
  that came from no prediction (the model's misses);
- precision and recall at the threshold each image was reviewed with (IoU >= 0.5, same class,
  greedy by score), and AP@0.5 over all its scores with pycocotools' COCOeval, as validation does;
- effort: edits and active seconds per image, against the images reviewed with no predictions
  (drawing by hand), and the share saved;
- the review threshold those images argue for (labeler.core.threshold.suggest): the one at which
  they would have needed the fewest corrections, with both estimates.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import asdict, dataclass, field

from . import history as H
from .geometry import iou as iou_of
from .records import SOURCE_MODEL, WorkCounts
from .runs import Run, load as load_runs
from .threshold import suggest
from .words import counted

IOU_MATCH = 0.5


@dataclass
class Round:
    model: str  # "ARCH" (COCO weights), "run N" (a project checkpoint), "imported", "unknown", or a path
    model_key: str
    images_reviewed: int = 0
    predictions: int = 0
    accepted_unchanged: int = 0
    corrected: int = 0
    rejected: int = 0
    not_shown: int = 0
    drawn: int = 0
    precision: float | None = None
    recall: float | None = None
    ap50: float | None = None
    actions_per_image: float | None = None
    seconds_per_image: float | None = None
    acceptance_rate: float | None = None  # accepted unchanged / shown predictions
    corrections_per_image: float | None = None  # (corrected + rejected + drawn) / image
    share_saved_actions: float | None = None  # 1 - actions per image / by hand's
    share_saved_seconds: float | None = None
    # the review threshold these images argue for (labeler.core.threshold), and the corrections an image
    # estimated at the thresholds they were reviewed with and at that one
    suggested_threshold: float | None = None
    estimated_corrections_at_used: float | None = None
    estimated_corrections_at_suggested: float | None = None
    first_prelabeled_at: float | None = None
    reviewed_at: list[float] = field(default_factory=list)

    def to_json(self) -> dict:
        d = asdict(self)
        d.pop("reviewed_at")
        return d


@dataclass
class Baseline:
    """Images reviewed with no model's predictions: drawn by hand."""

    images_reviewed: int = 0
    drawn: int = 0
    actions_per_image: float | None = None
    seconds_per_image: float | None = None


@dataclass
class Progress:
    rounds: list[Round]
    baseline: Baseline
    images_total: int
    images_reviewed: int
    skipped: list[str]  # what was left out of the rounds, and why
    reviewed_times: list[float] = field(default_factory=list)  # when each reviewed image was reviewed, sorted
    #: the review work by image status (images_total/images_reviewed are its total and reviewed);
    #: unreadable and missing files are counted apart, as they are no work anyone can do
    work: WorkCounts = field(default_factory=WorkCounts)

    def to_json(self) -> dict:
        return {"rounds": [r.to_json() for r in self.rounds], "baseline": asdict(self.baseline),
                "images_total": self.images_total, "images_reviewed": self.images_reviewed,
                "images_unreadable": self.work.unreadable, "images_missing": self.work.missing,
                "skipped": self.skipped}


def model_name(key: str, runs: list[Run]) -> str:
    if key.startswith("coco:"):
        return key[5:]
    if key.startswith("checkpoint:"):
        path = key[len("checkpoint:"):]
        for run in runs:
            if run.checkpoint and run.checkpoint == path:
                return f"run {run.id}"
        return path
    return key


def _matches(preds, truth) -> int:
    """True positives: predictions (category, rect, score) matched one-to-one to kept boxes of the
    same class at IoU >= 0.5, highest score first (the COCO rule)."""
    free = list(truth)
    tp = 0
    for cat, rect, _ in sorted(preds, key=lambda p: -p[2]):
        best, best_iou = None, IOU_MATCH
        for k, (tcat, trect) in enumerate(free):
            if tcat == cat:
                iou = iou_of(rect, trect)
                if iou >= best_iou:
                    best, best_iou = k, iou
        if best is not None:
            free.pop(best)
            tp += 1
    return tp


def ap50(images: list[tuple[int, int, list, list]]) -> float | None:
    """AP@0.5 (COCOeval) over images given as (width, height, truth [(category, rect)],
    predictions [(category, rect, score)]); None when there is no kept box to score against."""
    gts, dts, cats = [], [], set()
    for n, (w, h, truth, preds) in enumerate(images, 1):
        for cat, (x1, y1, x2, y2) in truth:
            gts.append({"id": len(gts) + 1, "image_id": n, "category_id": cat, "bbox": [x1, y1, x2 - x1, y2 - y1],
                        "area": (x2 - x1) * (y2 - y1), "iscrowd": 0})
            cats.add(cat)
        for cat, (x1, y1, x2, y2), score in preds:
            dts.append({"image_id": n, "category_id": cat, "bbox": [x1, y1, x2 - x1, y2 - y1], "score": score})
            cats.add(cat)
    if not gts:
        return None
    if not dts:
        return 0.0
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        gt = COCO()
        gt.dataset = {"images": [{"id": n, "width": w, "height": h} for n, (w, h, _, _) in enumerate(images, 1)],
                      "annotations": gts, "categories": [{"id": c, "name": str(c)} for c in sorted(cats)]}
        gt.createIndex()
        ev = COCOeval(gt, gt.loadRes(dts), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return max(float(ev.stats[1]), 0.0)


def threshold_advice(r: Round, only_better: bool = False) -> str | None:
    """What a round's images say of the review threshold, in words (`labeler stats`, the Progress panel);
    None when they say nothing, or (`only_better`) when the threshold used was already the best."""
    if r.suggested_threshold is None:
        return None
    at, used = r.estimated_corrections_at_suggested, r.estimated_corrections_at_used
    if at >= used - 1e-9:
        return None if only_better else (f"Review threshold for {r.model}: the one used needed the fewest "
                                         f"corrections (about {used:.1f} an image).")
    return (f"Review threshold for {r.model}: {r.suggested_threshold:.2f} on the score slider would have needed "
            f"about {at:.1f} corrections an image on the {counted(r.images_reviewed, 'image')} reviewed with "
            f"its boxes, not {used:.1f}.")


def _same(p: H.Prediction, box) -> bool:
    return box.category_id == p.category_id and all(abs(a - b) < 1e-6 for a, b in zip(box.rect, p.rect))


def _mean(total: float, n: int) -> float | None:
    return total / n if n else None


def derive_rounds(project) -> Progress:
    runs = load_runs(project)
    acts = H.activity(project)
    reviewed_at = dict(project._query("SELECT id, reviewed_at FROM images WHERE reviewed=1"))
    images = [im for im in project.images() if not im.missing]
    reviewed = [im for im in images if im.reviewed]
    by_model: dict[str, list] = {}
    hand: list = []
    skipped: list[str] = []
    late = 0
    for im in reviewed:
        act = acts.get(im.id)
        key = act.prelabel_model if act else None
        if key is None:
            hand.append(im)
        elif act.prelabeled_at and reviewed_at.get(im.id) and act.prelabeled_at > reviewed_at[im.id]:
            late += 1  # pre-labeled again after its review: which model it was reviewed with is unknown
        else:
            by_model.setdefault(key, []).append(im)
    if late:
        skipped.append(f"{late} reviewed image{'s' if late != 1 else ''} pre-labeled again after review "
                       "(left out: the model they were reviewed with is no longer known)")
    all_preds = H.predictions(project)
    linked = {p.box_id for p in all_preds if p.box_id is not None}
    preds_by_image: dict[int, list[H.Prediction]] = {}
    for p in all_preds:
        preds_by_image.setdefault(p.image_id, []).append(p)

    def effort(ims):
        edits = sum(acts[i.id].edits if i.id in acts else 0 for i in ims)
        secs = sum(acts[i.id].seconds if i.id in acts else 0.0 for i in ims)
        return _mean(edits, len(ims)), (_mean(secs, len(ims)) if secs > 0 else None)

    # a reviewed image holding a model's box that no prediction row explains was pre-labeled before
    # the store kept predictions (schema 1): it is no hand-drawn baseline, nor a known model's round
    unexplained = [im for im in hand if any(b.source == SOURCE_MODEL for b in project.boxes(im.id))]
    if unexplained:
        hand = [im for im in hand if im not in unexplained]
        skipped.append(f"{len(unexplained)} reviewed image{'s' if len(unexplained) != 1 else ''} pre-labeled "
                       "before this store kept predictions (left out: which model, and what it proposed, is unknown)")
    base = Baseline(images_reviewed=len(hand))
    base.actions_per_image, base.seconds_per_image = effort(hand)
    base.drawn = sum(len(project.boxes(im.id)) for im in hand)

    rounds = []
    for key, ims in by_model.items():
        r = Round(model=model_name(key, runs), model_key=key, images_reviewed=len(ims))
        scored, judged = [], []
        shown = tp = kept_total = 0
        for im in ims:
            act = acts[im.id]
            r.first_prelabeled_at = min(filter(None, [r.first_prelabeled_at, act.prelabeled_at]), default=None)
            if reviewed_at.get(im.id):
                r.reviewed_at.append(reviewed_at[im.id])
            boxes = {b.id: b for b in project.boxes(im.id)}
            preds = [p for p in preds_by_image.get(im.id, []) if p.model == key and p.fate != H.REMOVED]
            for p in preds:
                if p.fate == H.REJECTED:
                    r.rejected += 1
                elif p.fate == H.NOT_SHOWN:
                    r.not_shown += 1
                elif p.box_id in boxes:
                    if _same(p, boxes[p.box_id]):
                        r.accepted_unchanged += 1
                    else:
                        r.corrected += 1
            r.predictions += len(preds)
            r.drawn += sum(1 for b in boxes if b not in linked)
            truth = [(b.category_id, b.rect) for b in boxes.values()]
            threshold = act.review_threshold or 0.0
            scored_preds = [(p.category_id, p.rect, 1.0 if p.score is None else p.score) for p in preds]
            visible = [p for p in scored_preds if p[2] >= threshold]
            shown += len(visible)
            tp += _matches(visible, truth)
            kept_total += len(truth)
            scored.append((im.width, im.height, truth, scored_preds))
            judged.append((truth, scored_preds, threshold))
        r.precision = _mean(tp, shown)
        r.recall = _mean(tp, kept_total)
        r.ap50 = ap50(scored)
        r.actions_per_image, r.seconds_per_image = effort(ims)
        r.acceptance_rate = _mean(r.accepted_unchanged, r.predictions - r.not_shown)
        r.corrections_per_image = _mean(r.corrected + r.rejected + r.drawn, len(ims))
        if base.actions_per_image and r.actions_per_image is not None:
            r.share_saved_actions = 1.0 - r.actions_per_image / base.actions_per_image
        if base.seconds_per_image and r.seconds_per_image is not None:
            r.share_saved_seconds = 1.0 - r.seconds_per_image / base.seconds_per_image
        suggestion = suggest(judged)
        if suggestion is not None:
            r.suggested_threshold = suggestion.threshold
            r.estimated_corrections_at_used = suggestion.used_corrections_per_image
            r.estimated_corrections_at_suggested = suggestion.corrections_per_image
        r.reviewed_at.sort()
        rounds.append(r)
    rounds.sort(key=lambda r: (r.first_prelabeled_at or 0.0, r.model_key))
    times = sorted(t for t in reviewed_at.values() if t)
    work = WorkCounts.of_images(project.images())
    return Progress(rounds, base, work.total, work.reviewed, skipped, times, work)
