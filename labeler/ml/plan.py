"""Planning a fine-tuning run: the settings a user gives, every default resolved for this device
and data (model, starting point, batch size, learning rate, length), and which checkpoint a run
starts from or pre-labels with. No torch at import; labeler.ml.train runs the plan.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from labeler.core.errors import LabelerError
from labeler.core.split import DEFAULT_VAL_FRACTION

from .checkpoint import CheckpointError, load_meta
from .dataset import DEFAULT_AUGMENT, Augmenter, DataError
from .models import DEFAULT_ARCHITECTURE, SMALL_ARCHITECTURE, ModelError, architecture

from labeler.core import runs as _runs
from labeler.core.runs import SETTING_PRELABEL_MODEL  # noqa: F401  (the key labeler.ml.predict reads)
#: the weight average (labeler.ml.recipe.WeightAverage) is off until benchmarks/time_to_accuracy.py
#: shows it pays (`--settings '{"ema": true}'` measures it)
DEFAULT_EMA = False
#: share of the schedule after which validation and checkpoints use the uniform average of the weights
#: (labeler.ml.recipe.TailAverage); 0: off. Off: issue 18's hard domain, 10 min (39 epochs on 2 cores),
#: seed 0, held-out mAP@0.5 0.778 with `--settings '{"tail": 0.7}'` against 0.790 without; a run that
#: short is still improving, and the mean of its last 30 % lags behind its end
DEFAULT_TAIL = 0.0
#: with "mosaic" among the augmentations, the share of the schedule after which training sees whole
#: images again (Ultralytics closes mosaic for its last 10 epochs): a run ends on images like the ones
#: it will pre-label, not on mosaics with grey borders; 1: mosaics to the end
DEFAULT_MOSAIC_UNTIL = 0.8
#: anchors of the small model trained from scratch: "fitted" to the training boxes (labeler.ml.anchors)
#: or the "fixed" ANCHOR_SIZES of labeler.ml.small_models. Fitted by default: issue 18's 10-minute table
#: (benchmarks/time_to_accuracy.py, 3 seeds, held-out mAP@0.5) hard 0.749 (spread 0.018) against fixed
#: 0.729 (spread 0.059), shapes within noise of fixed (see docs/architecture.md)
DEFAULT_ANCHORS = "fitted"
ANCHOR_MODES = ("fitted", "fixed")
#: AdamW's peak learning rates (the reasons where plan() picks one)
LR_SCRATCH = 1e-3  # from scratch, and every run of a model that has no COCO weights
LR_PRETRAINED = 2e-4  # from COCO weights or a run that started from them
EPOCH_IMAGES = 160  # a tiny data set is repeated to at least this many samples per epoch


class TrainingError(LabelerError):
    """Training cannot start or go on; the message is meant for the user."""


@dataclass
class TrainSettings:
    architecture: str | None = None  # None: the default for the device (the fast small model on CPU)
    epochs: int | None = None  # None and minutes None: a default that suits the device and data
    minutes: float | None = None  # stop after this many minutes of training (best checkpoint kept)
    start: str = "auto"  # "coco" | "last" | "scratch" | "auto" (the project's best checkpoint when its classes
    # fit, else coco if the weights are present, else scratch)
    device: str = "auto"  # "auto" | "cpu" | "cuda" | "mps"
    batch_size: int | None = None  # None: per-device default
    lr: float | None = None
    val_fraction: float = DEFAULT_VAL_FRACTION
    seed: int = 0
    workers: int | None = None
    # additions beyond the agreed interface
    augment: tuple[str, ...] = DEFAULT_AUGMENT  # names from labeler.ml.dataset.AUGMENTATIONS
    repeat: int | None = None  # passes over the images per epoch; None: enough for EPOCH_IMAGES samples
    min_size: int | None = None  # None: the architecture's input size
    max_size: int | None = None
    amp: bool = True  # mixed precision: float16 on CUDA, bfloat16 on a CPU that computes it natively
    ema: bool | None = None  # validate and keep an exponential moving average of the weights; None: the default
    tail: float | None = None  # average the weights over the schedule after this share (0..1, 0 off); None: default
    mosaic_until: float | None = None  # with mosaic: the share of the schedule it lasts (0 < x <= 1); None: default
    anchors: str | None = None  # "fitted" (to the training boxes) | "fixed"; None: DEFAULT_ANCHORS. Only for the
    # small model from scratch: a checkpoint keeps its own anchors, COCO models keep theirs


@dataclass(frozen=True)
class Plan:
    """The settings with every default resolved for this device and data."""

    architecture: str
    start: str  # "coco" | "last" | "best" | "scratch" (auto resolved; best: the project's best checkpoint)
    start_weights: str | None
    device: str
    batch_size: int
    lr: float
    epochs: int | None
    minutes: float | None
    repeat: int
    min_size: int
    max_size: int
    workers: int
    amp: bool
    augment: tuple[str, ...]
    ema: bool = False
    tail: float = DEFAULT_TAIL
    anchors: str = DEFAULT_ANCHORS  # "fitted" | "fixed" (the mode asked for; anchor_sizes says what it gave)
    anchor_sizes: tuple | None = None  # per pyramid level; None: the architecture's own (resolve_anchors)
    mosaic_until: float = DEFAULT_MOSAIC_UNTIL


def default_architecture(device) -> str:
    """The small model on a CPU; on a GPU the MobileNet model when its COCO weights are here."""
    if device.type == "cuda" and _coco_weights(DEFAULT_ARCHITECTURE) is not None:
        return DEFAULT_ARCHITECTURE
    return SMALL_ARCHITECTURE


def _coco_weights(name: str) -> Path | None:
    if architecture(name).weights_enum is None:
        return None
    from .weights import find_coco_weights

    return find_coco_weights(name)


def last_checkpoint(project) -> Path | None:
    """The best checkpoint of the project's latest run that left one."""
    for run in reversed(_runs.load(project)):
        if run.checkpoint_path is not None:
            return run.checkpoint_path
    return None


def best_checkpoint(project, classes=None, arch_name: str | None = None) -> Path | None:
    """The checkpoint of the project's best-scoring run (mAP@0.5 above 0) that fits: it shares a
    class with `classes` (when given) and is of `arch_name` (when given)."""
    best, best_map = None, 0.0
    for run in _runs.load(project):
        path, score = run.checkpoint_path, run.best_map50 or 0.0
        if path is None or score <= best_map:
            continue
        try:
            meta = load_meta(path)
        except CheckpointError:
            continue
        if arch_name and meta["architecture"] != arch_name:
            continue
        if classes is not None and not set(meta["classes"]) & set(classes):
            continue
        best, best_map = path, score
    return best


def plan(project, settings: TrainSettings, n_train: int, device, classes=None) -> Plan:
    """Resolve the defaults: model, starting point, batch size, learning rate, length. Automatic
    continues from the project's best checkpoint when one fits `classes`, like a user picking it."""
    if settings.epochs is not None and settings.epochs < 1:
        raise TrainingError("The number of epochs must be at least 1")
    if settings.minutes is not None and settings.minutes <= 0:
        raise TrainingError("The time limit must be more than 0 minutes")
    try:
        Augmenter(settings.augment)
    except DataError as exc:
        raise TrainingError(str(exc)) from None
    anchors = settings.anchors or DEFAULT_ANCHORS
    if anchors not in ANCHOR_MODES:
        raise TrainingError(f"Unknown anchors {anchors!r}: choose {' or '.join(ANCHOR_MODES)}")
    arch_name = settings.architecture
    if arch_name is not None:
        try:
            architecture(arch_name)
        except ModelError as exc:
            raise TrainingError(str(exc)) from None
    start, weights = settings.start, None
    if start not in ("auto", "coco", "last", "scratch"):
        raise TrainingError(f"Unknown starting point {start!r}: choose coco, last, scratch or auto")
    if start == "last":
        path = last_checkpoint(project)
        if path is None:
            raise TrainingError("This project has no checkpoint yet to continue from; start from COCO weights or from scratch")
        meta = load_meta(path)
        if arch_name and arch_name != meta["architecture"]:
            raise TrainingError(f"The last checkpoint is a {meta['architecture']} model, not {arch_name}; "
                                "pick that model or another starting point")
        arch_name, weights = meta["architecture"], str(path)
    if start == "auto":
        path = best_checkpoint(project, classes, arch_name)
        if path is not None:
            start, weights, arch_name = "best", str(path), load_meta(path)["architecture"]
    arch_name = arch_name or default_architecture(device)
    if start in ("auto", "coco"):
        coco = _coco_weights(arch_name)
        if coco is not None:
            start, weights = "coco", str(coco)
        elif start == "coco":
            if architecture(arch_name).weights_enum is None:
                raise TrainingError(f"{arch_name} has no COCO weights; train it from scratch or pick another model")
            from .weights import offline_message

            raise TrainingError(f"The COCO weights for {arch_name} are not on this computer. Download them "
                                f"(Pre-label panel, or the weights command), or start from scratch.\n"
                                + offline_message(arch_name, "not downloaded yet"))
        else:
            start = "scratch"
    arch = architecture(arch_name)
    cpu = device.type == "cpu"
    batch = settings.batch_size or (4 if cpu else 8)
    if batch < 1:
        raise TrainingError("The batch size must be at least 1")
    # AdamW: a high rate for a model learning from scratch, a gentle one for pretrained weights. On the
    # demo (small model, 15 epochs) 1e-3 fits the training images twice as well as 2e-3 did (train mAP@0.5
    # 0.51 against 0.28, 160 held-out scenes 0.20 against 0.11); 4e-3 diverges at first, 5e-4 is no better
    # A model with no COCO weights (the small one) was trained from scratch whatever run it continues:
    # it keeps the from-scratch rate, warmed up again (benchmarks/loop.py's rounds continue such runs)
    from_scratch = start == "scratch" or arch.weights_enum is None
    lr = settings.lr or (LR_SCRATCH if from_scratch else LR_PRETRAINED)
    epochs, minutes = settings.epochs, settings.minutes
    repeat = settings.repeat or max(1, math.ceil(EPOCH_IMAGES / max(1, n_train)))
    if epochs is None and minutes is None:
        if cpu:  # 10 minutes for a few dozen images, longer for more, capped at two hours
            minutes = float(min(120, max(10, round(n_train * 0.3))))
        else:
            epochs = int(min(60, max(12, 20_000 // max(1, n_train * repeat))))
    workers = settings.workers if settings.workers is not None else (0 if cpu else min(4, os.cpu_count() or 1))
    ema, tail = DEFAULT_EMA if settings.ema is None else bool(settings.ema), _tail(settings.tail)
    if ema and tail:
        raise TrainingError("Choose one weight average: the moving average (ema) or the tail average, not both")
    return Plan(arch_name, start, weights, str(device), batch, float(lr), epochs, minutes, repeat,
                int(settings.min_size or arch.min_size), int(settings.max_size or arch.max_size), int(workers),
                _amp(settings.amp, device), tuple(settings.augment),
                ema, tail, anchors, mosaic_until=_mosaic_until(settings.mosaic_until))


def _amp(asked: bool, device) -> bool:
    """Mixed precision where it pays: float16 autocast on CUDA; on a CPU, bfloat16 for the model's
    convolutions and MLP (labeler.ml.precision) only where the CPU computes bfloat16 in hardware."""
    if not asked:
        return False
    if device.type == "cuda":
        return True
    if device.type == "cpu":
        from .precision import native_cpu_bf16

        return native_cpu_bf16()
    return False


def _share(value, default: float, fits, rule: str) -> float:
    """A share of the schedule from the settings (None: `default`); `rule` says in words what `fits` checks."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not fits(value):
        raise TrainingError(f"{rule}, not {value!r}")
    return float(value)


def _tail(value) -> float:
    """The tail average's start as a share of the schedule; a clear message for anything else."""
    return _share(value, DEFAULT_TAIL, lambda v: 0 <= v < 1,
                  "The weight average's start must be a share of the schedule from 0 (off) to below 1")


def _mosaic_until(value) -> float:
    """Mosaic's end as a share of the schedule; a clear message for anything else."""
    return _share(value, DEFAULT_MOSAIC_UNTIL, lambda v: 0 < v <= 1,
                  "Mosaic's end must be a share of the schedule above 0 and at most 1 (mosaics to the end)")


def resolve_anchors(plan_: Plan, train_samples) -> Plan:
    """The plan with its anchor sizes: a checkpoint's own when the run starts from one (its RPN learned
    them), fitted to the training boxes for the small model from scratch when the plan says fitted,
    else None (the architecture's own)."""
    from dataclasses import replace

    sizes = None
    if plan_.start in ("last", "best"):
        sizes = load_meta(plan_.start_weights).get("anchor_sizes")
    elif plan_.anchors == "fitted" and plan_.start == "scratch" and plan_.architecture == SMALL_ARCHITECTURE:
        from .anchors import fit_for_samples

        sizes = fit_for_samples(train_samples, plan_.min_size, plan_.max_size)
    if sizes is not None:
        sizes = tuple(tuple(float(x) for x in level) for level in sizes)
    return replace(plan_, anchor_sizes=sizes)


def use_for_prelabeling(project, checkpoint_path) -> None:
    """Make `checkpoint_path` the project's pre-labeling model (stored relative to the project)."""
    path = Path(checkpoint_path)
    if not path.is_absolute():
        path = project.root / path
    try:
        load_meta(path)
    except CheckpointError as exc:
        raise TrainingError(f"Cannot pre-label with {path.name}: {exc}") from None
    try:
        rel = path.resolve().relative_to(project.root.resolve()).as_posix()
    except ValueError:
        rel = str(path.resolve())
    project.set_setting(SETTING_PRELABEL_MODEL, {"kind": "checkpoint", "path": rel})
