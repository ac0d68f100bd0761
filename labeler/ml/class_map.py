"""Which model class becomes which project class.

A model's classes map to the project's by name (COCO "dog" to the project's "dog", ignoring case);
the user can change that in a dialog, and the result is saved per model in the project setting
`class_map.<model key>` as {model class name: project class name or null}. Model classes that map
to nothing are dropped from the predictions.

The COCO names are written out here (a test checks them against torchvision's) so the GUI can show
the mapping without importing torch.
"""

from __future__ import annotations

from typing import Iterable, Sequence

#: torchvision's COCO label map: index = model output label; "N/A" marks unused indices.
COCO_CATEGORIES: tuple[str, ...] = (
    "__background__", "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "N/A", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse",
    "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "N/A", "backpack", "umbrella", "N/A", "N/A",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite", "baseball bat",
    "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle", "N/A", "wine glass", "cup", "fork",
    "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza",
    "donut", "cake", "chair", "couch", "potted plant", "bed", "N/A", "dining table", "N/A", "N/A", "toilet",
    "N/A", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
    "refrigerator", "N/A", "book", "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
)

SETTING_PREFIX = "class_map."
UNUSED = ("__background__", "N/A")


def usable_names(label_names: Sequence[str]) -> list[str]:
    """The model's real class names (no background, no unused indices), in label order."""
    return [n for n in label_names if n not in UNUSED]


def automatic_map(model_classes: Iterable[str], project_classes: Iterable[str]) -> dict[str, str | None]:
    """Map each model class to the project class of the same name (case-insensitive), else None."""
    by_lower = {p.lower(): p for p in project_classes}
    return {m: by_lower.get(m.lower()) for m in model_classes}


def setting_key(model_key: str) -> str:
    return SETTING_PREFIX + model_key


def saved_map(project, model_key: str) -> dict[str, str | None]:
    value = project.get_setting(setting_key(model_key), {})
    return dict(value) if isinstance(value, dict) else {}


def effective_map(project, model_key: str, label_names: Sequence[str]) -> dict[str, str | None]:
    """The automatic map, overridden by what the user saved for this model; a saved target that
    no longer exists in the project (renamed or deleted class) falls back to the automatic one."""
    project_names = [c.name for c in project.categories()]
    mapping = automatic_map(usable_names(label_names), project_names)
    existing = set(project_names)
    for model_name, target in saved_map(project, model_key).items():
        if model_name in mapping and (target is None or target in existing):
            mapping[model_name] = target
    return mapping


def save_map(project, model_key: str, mapping: dict[str, str | None]) -> None:
    project.set_setting(setting_key(model_key), dict(mapping))


def label_to_category(project, label_names: Sequence[str], mapping: dict[str, str | None]) -> dict[int, int]:
    """{model output label: project category id} for the mapped classes."""
    ids = {c.name: c.id for c in project.categories()}
    out = {}
    for label, name in enumerate(label_names):
        if name in UNUSED:
            continue
        target = mapping.get(name)
        if target is not None and target in ids:
            out[label] = ids[target]
    return out


def bring_in_classes(project, label_names: Sequence[str], wanted: Iterable[str]) -> list[str]:
    """Create project classes for the chosen model classes (a project with no classes yet).
    Names are matched case-insensitively; unknown names raise ValueError listing the choices."""
    real = usable_names(label_names)
    by_lower = {n.lower(): n for n in real}
    chosen, unknown = [], []
    for raw in wanted:
        name = raw.strip()
        if not name:
            continue
        if name.lower() in by_lower:
            if by_lower[name.lower()] not in chosen:
                chosen.append(by_lower[name.lower()])
        else:
            unknown.append(name)
    if unknown:
        raise ValueError(f"The model has no class named {', '.join(map(repr, unknown))}. "
                         f"Its classes are: {', '.join(real)}")
    existing = {c.name.lower() for c in project.categories()}
    with project.batch():
        for name in chosen:
            if name.lower() not in existing:
                project.add_category(name)
    return chosen
