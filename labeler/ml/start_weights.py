"""Start weights: load COCO weights or a project checkpoint into a new model, matching the box
predictor's rows by class name (a checkpoint) or leaving it new (COCO's 91 classes)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .checkpoint import CheckpointError, load_checkpoint, load_state_dict

if TYPE_CHECKING:
    from .plan import Plan


def load_start(model, plan_: Plan, classes) -> None:
    """Load the starting weights: every tensor that fits; the box predictor's rows are matched by
    class name from a project checkpoint and left new (random) for COCO weights."""
    if plan_.start in ("last", "best"):
        state, meta = load_checkpoint(plan_.start_weights)
        old = list(meta["classes"])
    else:
        state, old = load_state_dict(plan_.start_weights), None
    own = model.state_dict()
    fitted = {}
    for key, value in state.items():
        if key not in own:
            continue
        if key.startswith("roi_heads.box_predictor."):
            if old is None:
                continue  # COCO's 91 classes: a new predictor for the project's classes
            value = _remap_predictor(key, value, own[key], old, classes)
        if value.shape == own[key].shape:
            fitted[key] = value
    if len(fitted) < len(own) // 2:
        raise CheckpointError(f"{Path(plan_.start_weights).name} does not fit the {plan_.architecture} model")
    model.load_state_dict(fitted, strict=False)


def _remap_predictor(key: str, value, target, old_classes, new_classes):
    """Rows of the old predictor for the classes both lists share (background row 0 too)."""
    per = 4 if "bbox_pred" in key else 1
    out = target.clone()
    index = {name: i + 1 for i, name in enumerate(old_classes)}
    pairs = [(0, 0)] + [(j + 1, index[name]) for j, name in enumerate(new_classes) if name in index]
    for new, old in pairs:
        if (old + 1) * per <= value.shape[0]:
            out[new * per:(new + 1) * per] = value[old * per:(old + 1) * per]
    return out
