"""Score a saved model on another run's validation images, so two models compare on the same images.

A new run reports validation mAP on its own split; the model it would replace was scored on another
split (or never). map_on_samples evaluates any checkpoint on given samples the way a run's epoch end
does (labeler.ml.evaluate), matching classes by name: a class the checkpoint does not know counts as
boxes it missed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .checkpoint import load_meta
from .dataset import DetectionData, Sample


def val_samples(project, paths: Sequence[str]) -> tuple[list[str], list[Sample]]:
    """(project class names, the reviewed samples at these relative paths, as they are now)."""
    from .dataset import snapshot

    classes, samples, _ = snapshot(project)
    wanted = set(paths)
    return classes, [s for s in samples if s.path in wanted]


def map_on_samples(checkpoint: str | Path, classes: Sequence[str], samples: Sequence[Sample],
                   device: str = "auto") -> float:
    """mAP@0.5 of the checkpoint on these samples (labels index `classes`, 1-based)."""
    from .evaluate import coco_map, predict_for_eval
    from .predict import ModelChoice, load_model

    meta = load_meta(Path(checkpoint))
    own = [str(c) for c in meta["classes"]]
    loaded = load_model(ModelChoice.checkpoint(checkpoint), device=device)
    model = loaded.model
    # truth in the checkpoint's label space; unknown classes get labels it never predicts
    label_of = {name: own.index(name) + 1 if name in own else len(own) + 1 + k for k, name in enumerate(classes)}
    data = DetectionData(samples, max_side=int(meta.get("max_size") or model.transform.max_size))
    truth, images = [], []
    for i in range(len(data)):
        pixels, boxes, labels, _ = data.load(i)
        images.append(pixels.float().div(255.0))
        mapped = [label_of[classes[int(v) - 1]] for v in labels.tolist()]
        truth.append((pixels.shape[-1], pixels.shape[-2], boxes, mapped))
    detections = predict_for_eval(model, images, loaded.device)
    map50, _ = coco_map(truth, detections, len(own) + len(classes))
    return map50
