"""Before and after a fine-tuning run: is there enough to learn from, and does the new model take
over pre-labeling?

Both `labeler train` and the window's Fine-tune panel call these. The policy (issue 15, items 4-5):
a run becomes the pre-labeling model only when it beats the current one on the same validation
images (the current model is scored on the new run's validation split), or when the user says so;
a model that scored 0 is never offered as an improvement, and the first trained model takes over
only from MIN_USEFUL_MAP50 up: below it, it would pre-label almost nothing worth keeping (a run
on a handful of images scores about 0.06), so the user is told how to use it anyway instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from labeler.core import runs
from labeler.core.words import counted

#: below these, training starts but says the result will be poor
ADVISED_IMAGES = 10
ADVISED_BOXES_PER_CLASS = 10
#: the least validation mAP@0.5 at which a project's first trained model replaces what pre-labels
#: now (COCO weights, or nothing): below it most of its boxes would be rejected or missing
MIN_USEFUL_MAP50 = 0.2


@dataclass(frozen=True)
class Readiness:
    """What a run would learn from: reviewed images, and boxes per class on them."""

    images: int
    boxes_per_class: dict = field(default_factory=dict)  # {class name: boxes on reviewed images}

    def lines(self) -> list[str]:
        """One line of counts, then one warning per shortfall (empty warnings: enough to start)."""
        per_class = ", ".join(f"{name} {n}" for name, n in self.boxes_per_class.items()) or "no classes"
        out = [f"Training on {counted(self.images, 'reviewed image')}; boxes per class: {per_class}."]
        out += self.warnings()
        return out

    def warnings(self) -> list[str]:
        out = []
        if self.images < ADVISED_IMAGES:
            out.append(f"Warning: {counted(self.images, 'reviewed image')} is very few; the model will likely score "
                       f"near 0. Review at least {ADVISED_IMAGES} images for a useful result.")
        few = [name for name, n in self.boxes_per_class.items() if n < ADVISED_BOXES_PER_CLASS]
        if few:
            out.append(f"Warning: fewer than {ADVISED_BOXES_PER_CLASS} boxes of {', '.join(few)}; the model will "
                       "hardly learn " + ("it." if len(few) == 1 else "them."))
        return out


def readiness(project) -> Readiness:
    """Count what the next run would train and validate on (the same snapshot the engine takes)."""
    from labeler.ml.dataset import snapshot

    classes, samples, _ = snapshot(project)
    per_class = {name: 0 for name in classes}
    for s in samples:
        for label in s.labels:
            per_class[classes[label - 1]] += 1
    return Readiness(len(samples), per_class)


@dataclass(frozen=True)
class Decision:
    """Whether the new run's checkpoint becomes the pre-labeling model, and why, in words."""

    use: bool
    message: str
    new_map50: float | None = None
    current_map50: float | None = None


def decide(project, checkpoint: str | None, new_map50: float | None, run_id: int | None, *,
           force: bool = False, device: str = "auto") -> Decision:
    """Compare the new run's best checkpoint with the current pre-labeling model on the new run's
    validation images; `force` (the user said so) makes it the model whatever the scores."""
    from labeler.ml.predict import SETTING_MODEL, ModelChoice

    if checkpoint is None:
        return Decision(False, "No checkpoint was written, so the pre-labeling model is unchanged.")
    if force:
        return Decision(True, "It is now the pre-labeling model (as asked).", new_map50)
    if not new_map50:
        return Decision(False, "It scored 0 on its validation images, so the pre-labeling model is unchanged; "
                        "review more images and train again.", new_map50)
    current = ModelChoice.from_setting(project.get_setting(SETTING_MODEL))
    current_path = current.resolve_path(project.root) if current and current.kind == "checkpoint" else None
    if current_path is None or not current_path.is_file():
        if new_map50 < MIN_USEFUL_MAP50:
            return Decision(False, f"It scored mAP@0.5 {new_map50:.3f} on its validation images, below "
                            f"{MIN_USEFUL_MAP50:.2f}, so it would pre-label almost nothing useful: pre-labeling stays "
                            "as it was. Review more images and train again, or use it anyway: " + _use_anyway(checkpoint),
                            new_map50)
        return Decision(True, f"It is now the pre-labeling model (mAP@0.5 {new_map50:.3f}; "
                        "the project had no trained model yet).", new_map50)
    if Path(checkpoint).resolve() == current_path.resolve():
        return Decision(True, "It is already the pre-labeling model.", new_map50)
    cur = score_current(project, current_path, run_id, device)
    if cur is None:
        return Decision(False, f"The current pre-labeling model ({current.path}) could not be scored on this run's "
                        "validation images, so it stays; use this run with --use (or the panel's button).", new_map50)
    if new_map50 > cur:
        return Decision(True, f"It is now the pre-labeling model: mAP@0.5 {new_map50:.3f} against {cur:.3f} for the "
                        f"previous one on the same validation images (+{new_map50 - cur:.3f}).", new_map50, cur)
    return Decision(False, f"The current pre-labeling model ({current.path}) is better on the same validation "
                    f"images: mAP@0.5 {cur:.3f} against {new_map50:.3f} ({cur - new_map50:.3f} more), so it stays. "
                    "Use the new one anyway with --use (or the panel's button).", new_map50, cur)


def _use_anyway(checkpoint: str) -> str:
    """How to pre-label with a run the rule did not switch to, in both front ends' words."""
    return (f'select the run under Past runs and press "Use for pre-labeling" (Fine-tune panel), or run '
            f"`labeler prelabel FOLDER --checkpoint {checkpoint}` (`labeler train --use` switches when it ends).")


def score_current(project, current_path: Path, run_id: int | None, device: str = "auto") -> float | None:
    """mAP@0.5 of the current model on the validation images of run `run_id`; None if it cannot be scored."""
    from labeler.ml.checkpoint import CheckpointError
    from labeler.ml.compare import map_on_samples, val_samples

    if run_id is None:
        return None
    paths = runs.find(project, run_id).settings.get("val_paths") or []
    classes, samples = val_samples(project, paths)
    if not samples:
        return None
    try:
        return map_on_samples(current_path, classes, samples, device)
    except CheckpointError:
        return None
