"""Preparing a pre-labeling run: its images, its class mapping, its thresholds, its words.

`labeler prelabel` and the window's Pre-label panel both call these, so the images one chooses, the
classes one maps and the thresholds one applies are the other's too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from labeler.core.records import MISSING, UNLABELED, UNREADABLE
from labeler.core.words import counted
from labeler.jobs import JobError

#: project setting with the thresholds and device last used (the panel's, and the CLI's defaults)
SETTING_OPTIONS = "prelabel.options"

#: which images a run covers
UNLABELED_IMAGES = "unlabeled"  # no boxes, not reviewed, readable
NOT_REVIEWED = "not-reviewed"  # every readable image not yet reviewed (after a new model: pre-label again)
ALL_IMAGES = "all"  # every readable image
SCOPES = (UNLABELED_IMAGES, NOT_REVIEWED, ALL_IMAGES)

#: the thresholds when the project has none saved
#: (class_overlap_iou: labeler.ml.postprocess.CLASS_OVERLAP_IOU, which this module does not import: torch)
DEFAULT_OPTIONS = {"score_threshold": 0.5, "nms_iou": 0.5, "class_overlap_iou": 0.5, "flip_fusion": False,
                   "max_boxes": 100, "device": "auto"}


def images_to_prelabel(project, which: str = UNLABELED_IMAGES) -> list[int]:
    """Image ids of one scope, in path order. Missing and unreadable images are never included."""
    if which not in SCOPES:
        raise JobError(f"Images to pre-label must be one of {', '.join(SCOPES)}, not {which!r}")
    images = project.images()
    if which == UNLABELED_IMAGES:
        return [im.id for im in images if im.status == UNLABELED]
    if which == NOT_REVIEWED:
        return [im.id for im in images if im.needs_review]
    return [im.id for im in images if im.status not in (MISSING, UNREADABLE)]


def saved_options(project) -> dict:
    """The project's saved thresholds and device, with defaults for what it lacks or holds badly."""
    saved = project.get_setting(SETTING_OPTIONS, {}) or {}
    options = dict(DEFAULT_OPTIONS)
    if isinstance(saved, dict):
        for key, default in DEFAULT_OPTIONS.items():
            value = saved.get(key)
            try:
                options[key] = type(default)(value) if value is not None else default
            except (TypeError, ValueError):
                pass  # a hand-edited setting: the default stands
    return options


def save_options(project, *, score_threshold: float, nms_iou: float, max_boxes: int, device: str,
                 class_overlap_iou: float | None = None, flip_fusion: bool | None = None) -> None:
    """Store the thresholds and device; a class_overlap_iou or flip_fusion not given keeps the saved one."""
    saved = saved_options(project)
    project.set_setting(SETTING_OPTIONS, {
        "score_threshold": float(score_threshold), "nms_iou": float(nms_iou),
        "class_overlap_iou": float(saved["class_overlap_iou"] if class_overlap_iou is None else class_overlap_iou),
        "flip_fusion": bool(saved["flip_fusion"] if flip_fusion is None else flip_fusion),
        "max_boxes": int(max_boxes), "device": str(device)})


def prediction_settings(project, *, score_threshold: float | None = None, nms_iou: float | None = None,
                        max_boxes: int | None = None, class_overlap_iou: float | None = None,
                        flip_fusion: bool | None = None, **engine):
    """labeler.ml.predict.PredictionSettings: what is given here, else the project's saved values."""
    from labeler.ml.predict import PredictionSettings

    saved = saved_options(project)
    return PredictionSettings(
        score_threshold=saved["score_threshold"] if score_threshold is None else float(score_threshold),
        nms_iou=saved["nms_iou"] if nms_iou is None else float(nms_iou),
        max_boxes=saved["max_boxes"] if max_boxes is None else int(max_boxes),
        class_overlap_iou=saved["class_overlap_iou"] if class_overlap_iou is None else float(class_overlap_iou),
        flip_fusion=saved["flip_fusion"] if flip_fusion is None else bool(flip_fusion),
        **{k: v for k, v in engine.items() if v is not None})


def no_classes_message(label_names: Sequence[str]) -> str:
    from labeler.ml.class_map import usable_names

    return ("The project has no classes yet. Choose which of the model's classes to bring in (in the window: "
            "the dialog that opens; on the command line: --classes NAME,NAME or --classes all). The model's "
            "classes: " + ", ".join(usable_names(label_names)))


NOTHING_MAPS = ("None of the model's classes maps to a project class (by name, or in the class map saved for this "
                "model). Map them with “Classes…” in the Pre-label panel, add classes with the model's names, "
                "or use --classes on the command line.")


def bring_in(project, label_names: Sequence[str], wanted: str | Iterable[str]) -> list[str]:
    """Create project classes for some of the model's classes ("all", "a,b", or a list of names)."""
    from labeler.ml import class_map

    if isinstance(wanted, str):
        wanted = class_map.usable_names(label_names) if wanted.strip() == "all" else wanted.split(",")
    try:
        return class_map.bring_in_classes(project, label_names, wanted)
    except ValueError as exc:
        raise JobError(str(exc)) from None


def class_mapping(project, model_key: str, label_names: Sequence[str]) -> dict[int, int]:
    """{model output label: project category id}, from names and the model's saved class map.
    JobError when the project has no classes or none of the model's classes maps to one."""
    from labeler.ml import class_map

    if not project.categories():
        raise JobError(no_classes_message(label_names))
    mapping = class_map.effective_map(project, model_key, label_names)
    labels = class_map.label_to_category(project, label_names, mapping)
    if not labels:
        raise JobError(NOTHING_MAPS)
    return labels


@dataclass(frozen=True)
class PrelabelPlan:
    """What a run will do, decided before any model loads."""

    choice: object  # labeler.ml.predict.ModelChoice
    image_ids: tuple[int, ...]
    labels: dict  # {model label: category id}
    settings: object  # labeler.ml.predict.PredictionSettings

    def start_line(self, device: str | None = None) -> str:
        on = f" on {device}" if device else ""
        return f"Pre-labeling {counted(len(self.image_ids), 'image')} with {self.choice.words}{on}"


def plan_prelabel(project, choice, image_ids: Sequence[int], settings) -> PrelabelPlan:
    """Check that a run can start (images, class mapping) without loading weights; JobError if not."""
    from labeler.ml.predict import model_label_names

    if not image_ids:
        raise JobError("There are no images to pre-label.")
    try:
        names = model_label_names(choice, project.root)
    except Exception as exc:  # unreadable checkpoint metadata: said, nothing started
        raise JobError(f"Cannot read the model {choice.key}: {exc}") from None
    return PrelabelPlan(choice, tuple(image_ids), class_mapping(project, choice.key, names), settings)
