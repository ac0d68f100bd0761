"""The registry of detector architectures and the model builder.

Architectures are torchvision's Faster R-CNN builders, keyed by their torchvision names. Each entry
knows its builder, its COCO weights enum (URL, file name, class names) and the input size it was
trained for. `build_model` always builds with `weights=None` (nothing is downloaded here);
pretrained weights are loaded separately by labeler.ml.weights, through `torch.load(weights_only=True)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from labeler.core.errors import LabelerError


@dataclass(frozen=True)
class Architecture:
    name: str
    title: str
    builder: str  # attribute of torchvision.models.detection
    weights_enum: str | None  # attribute of torchvision.models.detection, or None (no COCO weights)
    backbone_weights_enum: str | None  # ImageNet backbone weights enum in torchvision.models
    min_size: int
    max_size: int
    #: a custom builder (name -> model) for architectures that are not a torchvision builder call
    custom: Callable | None = None

    def weights(self):
        """torchvision's WeightsEnum member for the COCO weights (URL, file name, categories)."""
        if self.weights_enum is None:
            return None
        import torchvision.models.detection as det

        return getattr(det, self.weights_enum).COCO_V1


ARCHITECTURES: dict[str, Architecture] = {
    a.name: a
    for a in [
        Architecture("fasterrcnn_resnet50_fpn", "Faster R-CNN ResNet-50 FPN (accurate, slow on CPU)",
                     "fasterrcnn_resnet50_fpn", "FasterRCNN_ResNet50_FPN_Weights", "ResNet50_Weights", 800, 1333),
        Architecture("fasterrcnn_resnet50_fpn_v2", "Faster R-CNN ResNet-50 FPN v2 (most accurate, slowest)",
                     "fasterrcnn_resnet50_fpn_v2", "FasterRCNN_ResNet50_FPN_V2_Weights", "ResNet50_Weights", 800, 1333),
        Architecture("fasterrcnn_mobilenet_v3_large_fpn", "Faster R-CNN MobileNetV3-Large FPN (fast)",
                     "fasterrcnn_mobilenet_v3_large_fpn", "FasterRCNN_MobileNet_V3_Large_FPN_Weights",
                     "MobileNet_V3_Large_Weights", 800, 1333),
        Architecture("fasterrcnn_mobilenet_v3_large_320_fpn", "Faster R-CNN MobileNetV3-Large 320 FPN (fastest, low resolution)",
                     "fasterrcnn_mobilenet_v3_large_320_fpn", "FasterRCNN_MobileNet_V3_Large_320_FPN_Weights",
                     "MobileNet_V3_Large_Weights", 320, 640),
    ]
}


def _build_small(**kwargs):
    from .small_models import build_small_fasterrcnn

    return build_small_fasterrcnn(**kwargs)


#: A small Faster R-CNN for training from scratch on a CPU (labeler.ml.small_models).
SMALL_ARCHITECTURE = "fasterrcnn_small_fpn"
#: Architectures that have no COCO weights: trained from scratch only. Kept apart from ARCHITECTURES
#: (the COCO models that pre-labeling and the weights commands list); `architecture()` and
#: `build_model` know both, so a checkpoint of either kind loads the same way.
SCRATCH_ARCHITECTURES: dict[str, Architecture] = {
    SMALL_ARCHITECTURE: Architecture(
        SMALL_ARCHITECTURE, "Faster R-CNN small FPN (trains from scratch in minutes on a CPU)",
        "FasterRCNN", None, None, 320, 448, custom=_build_small),
}


def trainable_architectures() -> dict[str, Architecture]:
    """Every architecture training can use: the scratch-only ones first, then the COCO models."""
    return {**SCRATCH_ARCHITECTURES, **ARCHITECTURES}

DEFAULT_ARCHITECTURE = "fasterrcnn_mobilenet_v3_large_fpn"


class ModelError(LabelerError):
    """A model cannot be built or loaded; the message is meant for the user."""


def architecture(name: str) -> Architecture:
    try:
        return ARCHITECTURES[name] if name in ARCHITECTURES else SCRATCH_ARCHITECTURES[name]
    except KeyError:
        raise ModelError(f"Unknown model {name!r}; choose one of: {', '.join(trainable_architectures())}") from None


def build_model(name: str, num_classes: int, *, min_size: int | None = None, max_size: int | None = None,
                box_score_thresh: float = 0.05, box_nms_thresh: float = 0.5, box_detections_per_img: int = 100,
                trainable_backbone_layers: int | None = None, anchor_sizes=None):
    """Build architecture `name` with random weights for `num_classes` (background included).

    Never downloads: weights=None and weights_backbone=None. Load a state dict afterwards. The box
    pooler is labeler.ml.roi_align's (the same forward as torchvision's, a backward on all cores).
    `anchor_sizes` (per pyramid level) is for the small model only, whose anchors can be fitted to a
    project; the COCO models keep the anchors their weights were trained with.
    """
    import torchvision.models.detection as det
    from torchvision.ops import MultiScaleRoIAlign

    from .roi_align import ParallelMultiScaleRoIAlign

    arch = architecture(name)
    kwargs = dict(
        weights=None,
        weights_backbone=None,
        num_classes=num_classes,
        min_size=min_size or arch.min_size,
        max_size=max_size or arch.max_size,
        box_score_thresh=box_score_thresh,
        box_nms_thresh=box_nms_thresh,
        box_detections_per_img=box_detections_per_img,
    )
    if trainable_backbone_layers is not None:
        kwargs["trainable_backbone_layers"] = trainable_backbone_layers
    if anchor_sizes is not None:
        if arch.custom is None:
            raise ModelError(f"{name} keeps the anchors of its COCO weights; fitted anchors are for {SMALL_ARCHITECTURE}")
        kwargs["anchor_sizes"] = anchor_sizes
    try:
        model = arch.custom(**kwargs) if arch.custom is not None else getattr(det, arch.builder)(**kwargs)
    except ValueError as exc:
        raise ModelError(f"Cannot build {name}: {exc}") from None
    pooler = model.roi_heads.box_roi_pool
    if type(pooler) is MultiScaleRoIAlign:
        model.roi_heads.box_roi_pool = ParallelMultiScaleRoIAlign.like(pooler)
    return model
