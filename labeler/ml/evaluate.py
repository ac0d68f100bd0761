"""Validation mAP with pycocotools' COCOeval, on the validation images of a run."""

from __future__ import annotations

import contextlib
import io
from typing import Sequence

#: evaluation keeps detections down to this score, as COCO evaluations do: mAP integrates the whole
#: precision-recall curve, so cutting at pre-labeling's 0.05 drops its low-recall tail (+~0.013 mAP@0.5)
EVAL_SCORE_THRESH = 0.001


def fitness(map50: float, map_: float) -> float:
    """What a run keeps its best checkpoint by: 0.1 mAP@0.5 + 0.9 mAP@[.5:.95] on the validation
    images (Ultralytics keeps best.pt by the same sum). mAP@0.5 alone saturates on a small validation
    split (issue 18's hard domain: 0.95-0.97 from the fifth minute of ten), after which a run kept a
    mid-run epoch by a lucky hundredth while the boxes of later epochs still tightened: the strict IoUs
    keep rising with them, and a reviewer fixes every box under IoU 0.8."""
    return 0.1 * map50 + 0.9 * map_


def coco_map(ground_truth: Sequence[tuple], detections: Sequence[tuple], num_classes: int) -> tuple[float, float]:
    """(mAP@0.5, mAP@[.5:.95]) for images given as (width, height, boxes Nx4, labels N) and, per image,
    detections (boxes Nx4, scores N, labels N), all in the same pixels. Labels are 1..num_classes.

    Classes without any ground-truth box are left out of the mean (COCOeval's rule); with no
    ground-truth box at all the scores are 0.
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images, annotations, results = [], [], []
    for image_id, ((w, h, boxes, labels), (dboxes, scores, dlabels)) in enumerate(zip(ground_truth, detections), 1):
        images.append({"id": image_id, "width": int(w), "height": int(h)})
        for (x1, y1, x2, y2), label in zip(_rows(boxes), _rows(labels)):
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": int(label),
                                "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1), "iscrowd": 0})
        for (x1, y1, x2, y2), score, label in zip(_rows(dboxes), _rows(scores), _rows(dlabels)):
            results.append({"image_id": image_id, "category_id": int(label),
                            "bbox": [x1, y1, x2 - x1, y2 - y1], "score": float(score)})
    if not annotations or not results:
        return 0.0, 0.0
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        gt = COCO()
        gt.dataset = {"images": images, "annotations": annotations,
                      "categories": [{"id": k, "name": str(k)} for k in range(1, num_classes + 1)]}
        gt.createIndex()
        dt = gt.loadRes(results)
        ev = COCOeval(gt, dt, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    m, m50 = float(ev.stats[0]), float(ev.stats[1])
    return max(m50, 0.0), max(m, 0.0)  # -1 means "nothing to score"


def _rows(t) -> list:
    return t.tolist() if hasattr(t, "tolist") else list(t)


def predict_for_eval(model, images: Sequence, device, amp: bool = False, batch_size: int = 4,
                     score_thresh: float = EVAL_SCORE_THRESH) -> list[tuple]:
    """Run `model` (eval mode) over float CHW images; (boxes, scores, labels) on the CPU per image.

    Detections are kept down to `score_thresh` for the time of the call (the model's own threshold,
    pre-labeling's, is put back afterwards).
    """
    import torch

    heads = model.roi_heads
    kept, heads.score_thresh = heads.score_thresh, score_thresh
    out = []
    try:
        with torch.inference_mode():
            for k in range(0, len(images), batch_size):
                batch = [im.to(device, non_blocking=True) for im in images[k:k + batch_size]]
                with torch.autocast(device.type, enabled=amp and device.type == "cuda"):
                    preds = model(batch)
                out += [(p["boxes"].float().cpu(), p["scores"].float().cpu(), p["labels"].cpu()) for p in preds]
    finally:
        heads.score_thresh = kept
    return out
