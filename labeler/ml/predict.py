"""Pre-labeling: run a detector over project images and store its boxes as unreviewed predictions.

`load_model` turns a model choice (COCO weights of an architecture, or one of the project's
checkpoints) into a ready `LoadedModel`; `predict_images` is a plain generator that yields one
`ImageResult` per finished image and knows nothing of Qt or the terminal. Decoding runs in a loader
thread that overlaps the model: each image is decoded straight at the size the model will resize it
to anyway (JPEG draft mode for big photos), and the boxes are mapped back to displayed-image pixels.
Each finished image is written at once with `project.replace_predictions`, which keeps accepted and
human boxes, so cancelling keeps every finished image.
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Generator, Iterator, Sequence

from labeler.core.images import ImageLoadError, load_image
from labeler.core.informativeness import LOOK_BELOW, flip_disagreement, informativeness, mirror, needs_flip
from labeler.core.review import review_threshold
from labeler.core.runs import SETTING_PRELABEL_MODEL as SETTING_MODEL  # noqa: F401  (one key, in core)
from labeler.core.words import counted

from .checkpoint import CheckpointError, load_checkpoint, load_state_dict
from .class_map import COCO_CATEGORIES
from .device import pick_device
from .postprocess import CLASS_OVERLAP_IOU, fuse_flipped, one_box_per_object
from .models import DEFAULT_ARCHITECTURE, ModelError, architecture, build_model
from .weights import COCO_WEIGHT_URLS, WeightsError, coco_weights, find_coco_weights, offline_message


@dataclass(frozen=True)
class ModelChoice:
    """Which detector pre-labels: torchvision's COCO weights for an architecture, or a checkpoint.
    Stored in the project setting "prelabel.model" as {"kind": "coco", "architecture": NAME} or
    {"kind": "checkpoint", "path": PATH} (relative to the project root when inside it)."""

    kind: str  # "coco" or "checkpoint"
    architecture: str | None = None
    path: str | None = None

    @classmethod
    def coco(cls, name: str = DEFAULT_ARCHITECTURE) -> "ModelChoice":
        architecture(name)
        return cls("coco", architecture=name)

    @classmethod
    def checkpoint(cls, path: str | os.PathLike, project_root: str | os.PathLike | None = None) -> "ModelChoice":
        p = Path(path)
        if project_root is not None:
            try:
                p = p.resolve().relative_to(Path(project_root).resolve())
            except ValueError:
                pass  # outside the project: kept absolute
        return cls("checkpoint", path=p.as_posix())

    @classmethod
    def from_setting(cls, value) -> "ModelChoice | None":
        if not isinstance(value, dict):
            return None
        if value.get("kind") == "coco" and value.get("architecture"):
            return cls("coco", architecture=value["architecture"])
        if value.get("kind") == "checkpoint" and value.get("path"):
            return cls("checkpoint", path=str(value["path"]))
        return None

    def to_setting(self) -> dict:
        if self.kind == "coco":
            return {"kind": "coco", "architecture": self.architecture}
        return {"kind": "checkpoint", "path": self.path}

    @property
    def key(self) -> str:
        """Names this model in per-model settings such as the class map."""
        return f"coco:{self.architecture}" if self.kind == "coco" else f"checkpoint:{self.path}"

    @property
    def words(self) -> str:
        """Names this model for the user: "the COCO weights of NAME" or "checkpoint PATH"."""
        return f"the COCO weights of {self.architecture}" if self.kind == "coco" else f"checkpoint {self.path}"

    def resolve_path(self, project_root: str | os.PathLike | None) -> Path:
        p = Path(self.path)
        return p if p.is_absolute() or project_root is None else Path(project_root) / p


def default_model_choice(project) -> ModelChoice:
    """The project's chosen model ("prelabel.model", set when training finishes or by the user) if
    it is still usable, otherwise the default architecture's COCO weights."""
    choice = ModelChoice.from_setting(project.get_setting(SETTING_MODEL))
    if choice is not None:
        if choice.kind == "checkpoint" and choice.resolve_path(project.root).is_file():
            return choice
        if choice.kind == "coco" and choice.architecture in COCO_WEIGHT_URLS:
            return choice
    return ModelChoice.coco(DEFAULT_ARCHITECTURE)


def model_label_names(choice: ModelChoice, project_root=None) -> list[str]:
    """The model's class names by output label (index 0 is background), without loading weights."""
    if choice.kind == "coco":
        return list(COCO_CATEGORIES)
    from .checkpoint import load_meta

    return ["__background__"] + list(load_meta(choice.resolve_path(project_root))["classes"])


@dataclass
class LoadedModel:
    model: object  # torch.nn.Module in eval mode on `device`
    choice: ModelChoice
    architecture: str
    label_names: list[str]  # index = model output label; 0 is background
    min_size: int
    max_size: int
    device: object  # torch.device
    source: Path  # the weights file

    @property
    def key(self) -> str:
        return self.choice.key


def _fit_state_dict(model, state: dict, arch_name: str, num_classes: int, source: Path) -> None:
    """Load `state` into `model`, with a message that says what does not fit."""
    head = state.get("roi_heads.box_predictor.cls_score.weight")
    if head is not None and head.shape[0] != num_classes:
        raise CheckpointError(
            f"{source.name} holds weights for {head.shape[0] - 1} classes, but this model expects "
            f"{num_classes - 1}. Were the weights saved for another project or class list?")
    own = model.state_dict()
    # Models built without pretrained weights use BatchNorm2d, whose state has a step counter that
    # torchvision's frozen-batch-norm weight files lack; eval mode never reads it.
    for k, v in own.items():
        if k.endswith("num_batches_tracked") and k not in state:
            state[k] = v
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        raise CheckpointError(
            f"{source.name} does not fit the {arch_name} architecture ({len(missing)} parameters missing, "
            f"{len(unexpected)} unexpected, e.g. {(missing or unexpected)[0]!r}). It was probably saved for "
            "another model; pick the matching architecture.")
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        first = next((ln.strip() for ln in str(exc).splitlines()[1:] if ln.strip()), str(exc))
        raise CheckpointError(f"{source.name} does not fit the {arch_name} architecture: {first}") from None


def load_model(choice: ModelChoice, *, project_root=None, weights: str | os.PathLike | None = None,
               device: str = "auto") -> LoadedModel:
    """Build the detector for `choice` and load its weights (always with weights_only=True).
    `weights` replaces the cached COCO file with a torchvision state-dict file from elsewhere."""
    import torch

    dev = pick_device(device)
    if choice.kind == "coco":
        arch = architecture(choice.architecture)
        if weights:
            path = Path(weights)
        else:
            path = find_coco_weights(arch.name)
            if path is None:
                w = coco_weights(arch.name)
                raise WeightsError(
                    f"The COCO weights for {arch.name} are not on this computer yet ({w.path}). Download them "
                    f"(`labeler weights download {arch.name}`, or Download… in the app).\n"
                    + offline_message(arch.name, "not downloaded yet"))
        state = load_state_dict(path)
        label_names = list(COCO_CATEGORIES)
        min_size, max_size = arch.min_size, arch.max_size
        anchor_sizes = None
    elif choice.kind == "checkpoint":
        if weights:
            raise CheckpointError("--weights replaces COCO weights; a project checkpoint already holds its own")
        path = choice.resolve_path(project_root)
        state, meta = load_checkpoint(path)
        arch = architecture(meta["architecture"])
        label_names = ["__background__"] + [str(c) for c in meta["classes"]]
        min_size = int(meta.get("min_size") or arch.min_size)
        max_size = int(meta.get("max_size") or arch.max_size)
        anchor_sizes = meta.get("anchor_sizes")
    else:
        raise CheckpointError(f"Unknown model kind {choice.kind!r}")
    try:
        model = build_model(arch.name, len(label_names), min_size=min_size, max_size=max_size, anchor_sizes=anchor_sizes)
    except ModelError as exc:
        raise CheckpointError(f"{Path(path).name}: {exc}") from None
    _fit_state_dict(model, state, arch.name, len(label_names), path)
    if choice.kind == "coco" and arch.name == "fasterrcnn_resnet50_fpn":
        # torchvision's v1 weights were trained with batch-norm eps 0 (its builder overwrites it too)
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.eps = 0.0
    model.eval().to(dev)
    return LoadedModel(model, choice, arch.name, label_names, min_size, max_size, dev, path)


@dataclass
class PredictionSettings:
    score_threshold: float = 0.5
    nms_iou: float = 0.5
    max_boxes: int = 100
    batch_size: int | None = None  # None: 1 on the CPU, 4 on a GPU
    amp: bool = True  # mixed precision, CUDA only
    threads: int | None = None  # torch intra-op threads; None: all cores
    # a second pass on each image mirrored, for the "flip" informativeness; None: only when the
    # chosen formula (labeler.core.informativeness.DEFAULT) needs it, since it doubles the work
    flip: bool | None = None
    # one object, one box: a box overlapping a higher-scoring box of another class by this IoU or more
    # is dropped (torchvision's NMS only compares boxes of one class); 0 turns it off
    class_overlap_iou: float = CLASS_OVERLAP_IOU
    # test-time flip: each box averaged with its twin on the mirrored image (postprocess.fuse_flipped);
    # runs the mirrored pass whatever `flip` says
    flip_fusion: bool = False

    def resolved_flip(self) -> bool:
        return self.flip_fusion or (needs_flip() if self.flip is None else bool(self.flip))

    def resolved_batch_size(self, device) -> int:
        if self.batch_size:
            return max(1, int(self.batch_size))
        return 4 if getattr(device, "type", "cpu") in ("cuda", "mps") else 1


@dataclass
class ImageResult:
    image_id: int
    items: list[tuple] = field(default_factory=list)  # (category_id, x1, y1, x2, y2, score)
    error: str | None = None
    mirrored: list[tuple] | None = None  # the flip pass's boxes, mapped back onto the image
    informativeness: float | None = None  # as stored for the review queue (labeler.core.informativeness)


@dataclass
class Summary:
    images: int = 0
    boxes: int = 0
    failed: int = 0
    seconds: float = 0.0
    cancelled: bool = False

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else 0.0

    def add(self, result: ImageResult) -> None:
        self.images += 1
        self.boxes += len(result.items)
        self.failed += result.error is not None

    def line(self, nowrap: bool = False) -> str:
        """The run in words; nowrap keeps each number with its unit (for a label that wraps)."""
        sp, slash = ("\u00a0", "/\u2060") if nowrap else (" ", "/")
        text = (f"{counted(self.images, 'image')}, {counted(self.boxes, 'box')} in {self.seconds:.1f}{sp}s "
                f"({self.images_per_second:.2f}{sp}images{slash}s)")
        if self.failed:
            text += f"; {self.failed} unreadable"
        return text + ("; cancelled" if self.cancelled else "")


def model_input_long_side(width: int, height: int, min_size: int, max_size: int) -> int:
    """The longer side GeneralizedRCNNTransform resizes a width x height image to."""
    scale = min(min_size / min(width, height), max_size / max(width, height))
    return max(1, int(max(width, height) * scale))


def image_to_tensor(image, as_float: bool = True):
    """PIL RGB -> CHW tensor: float in [0, 1] exactly as torchvision's to_tensor, or uint8 (a GPU
    then receives a quarter of the bytes and converts on its side)."""
    import numpy as np
    import torch

    chw = torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1).contiguous()
    return chw.float().div(255) if as_float else chw


_END = object()


def _lower_thread_priority() -> None:
    """Let decoding yield the cores to the model's threads (Linux nices threads one by one).

    On a machine with few cores the loader competes with torch's intra-op threads; a preempted
    OpenMP thread stalls every other one at the next barrier. At low priority the decode fills the
    gaps (the detector's Python-level steps, its single-threaded post-processing) instead."""
    if hasattr(os, "setpriority") and sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except OSError:
            pass


def _loader(jobs: list[tuple[int, Path, int | None]], out: queue.Queue, stop: threading.Event,
            as_float: bool) -> None:
    """Decode images in order into `out`: (image_id, tensor, sx, sy) or (image_id, None, error)."""
    def put(item) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    _lower_thread_priority()
    for image_id, path, max_side in jobs:
        if stop.is_set():
            return
        try:
            loaded = load_image(path, max_side=max_side)
            tensor = image_to_tensor(loaded.image, as_float)
            item = (image_id, tensor, loaded.display_width / loaded.image.width,
                    loaded.display_height / loaded.image.height)
        except ImageLoadError as exc:
            item = (image_id, None, exc.cause)
        except Exception as exc:  # reported for this image; the run goes on
            item = (image_id, None, f"{type(exc).__name__}: {exc}")
        if not put(item):
            return
    put(_END)


def predict_images(project, loaded: LoadedModel, image_ids: Sequence[int], label_to_category: dict[int, int],
                   settings: PredictionSettings | None = None, *, cancelled: Callable[[], bool] | None = None,
                   write: bool = True) -> Iterator[ImageResult]:
    """Pre-label `image_ids`; yields each image's result once it is stored (with `write`).

    Only model labels in `label_to_category` are kept (unmapped classes are dropped). Stops between
    batches when `cancelled()` is true; what finished stays stored. Each image's informativeness
    (the review queue's) is computed from its outputs and stored with them; with the flip pass on
    (settings.flip), from those of its mirrored copy too."""
    import torch

    settings = settings or PredictionSettings()
    model = loaded.model
    # the model reports boxes down to LOOK_BELOW: the informativeness counts them, only those at the
    # score threshold or above are stored (a lower box never suppresses a higher one in the NMS)
    keep = float(settings.score_threshold)
    model.roi_heads.score_thresh = min(keep, LOOK_BELOW)
    model.roi_heads.nms_thresh = float(settings.nms_iou)
    model.roi_heads.detections_per_img = int(settings.max_boxes)
    batch_size = settings.resolved_batch_size(loaded.device)
    use_amp = settings.amp and loaded.device.type == "cuda"
    flip = settings.resolved_flip()
    threshold = review_threshold(project)  # the queue's t, read once per run

    jobs = []
    for rec in project.images_by_ids(image_ids):
        max_side = None
        if max(rec.width, rec.height) > loaded.max_size:
            # a big photo: decode it straight at the size the model would shrink it to (JPEG draft
            # mode skips most of the work); smaller images go in untouched, as in a direct forward
            max_side = model_input_long_side(rec.width, rec.height, loaded.min_size, loaded.max_size)
        jobs.append((rec.id, project.image_path(rec), max_side))
    paths = {image_id: path for image_id, path, _ in jobs}
    order = {i: n for n, i in enumerate(image_ids)}
    jobs.sort(key=lambda j: order.get(j[0], 0))

    old_threads = torch.get_num_threads()
    torch.set_num_threads(max(1, settings.threads or os.cpu_count() or 1))
    stop = threading.Event()
    inbox: queue.Queue = queue.Queue(maxsize=2 * batch_size + 1)
    on_cpu = loaded.device.type == "cpu"
    thread = threading.Thread(target=_loader, args=(jobs, inbox, stop, on_cpu), name="prelabel-loader", daemon=True)
    thread.start()
    try:
        finished = False
        while not finished:
            if cancelled and cancelled():
                return
            batch = []
            while len(batch) < batch_size:
                try:
                    item = inbox.get(timeout=0.1)
                except queue.Empty:
                    if cancelled and cancelled():
                        return
                    continue
                if item is _END:
                    finished = True
                    break
                if item[1] is None:  # unreadable: record why, go on
                    if write and paths[item[0]].exists():  # a vanished file is the next scan's news
                        project.mark_unreadable(item[0], item[2])
                    yield ImageResult(item[0], error=item[2])
                    continue
                batch.append(item)
            if not batch:
                continue
            amp = torch.autocast("cuda", dtype=torch.float16) if use_amp else contextlib.nullcontext()
            with torch.inference_mode(), amp:
                tensors = [t.to(loaded.device, non_blocking=True) for _, t, _, _ in batch]
                inputs = tensors if on_cpu else [t.float().div_(255) for t in tensors]
                outputs = model(inputs)
                flipped = model([t.flip(-1) for t in inputs]) if flip else [None] * len(inputs)
            for (image_id, tensor, sx, sy), out, fout in zip(batch, outputs, flipped):
                every = _items(out, label_to_category, sx, sy)
                twins = mirror(_items(fout, label_to_category, sx, sy), tensor.shape[-1] * sx) if flip else None
                if settings.flip_fusion:
                    every = fuse_flipped(every, twins)
                every = one_box_per_object(every, settings.class_overlap_iou)
                items = [it for it in every if it[5] >= keep]
                result = ImageResult(image_id, items)
                scores = [it[5] for it in every]
                if twins is not None:
                    twins = one_box_per_object(twins, settings.class_overlap_iou)
                    result.mirrored = [it for it in twins if it[5] >= keep]
                    result.informativeness = informativeness(
                        scores, threshold, flip=flip_disagreement(items, result.mirrored))
                else:
                    result.informativeness = informativeness(scores, threshold)
                if write:
                    stored = project.replace_predictions(image_id, items, model=loaded.key,
                                                         informativeness=result.informativeness)
                    result.items = [(b.category_id, b.x1, b.y1, b.x2, b.y2, b.score) for b in stored]
                yield result
    finally:
        stop.set()
        thread.join()
        torch.set_num_threads(old_threads)


def _items(out, label_to_category: dict[int, int], sx: float, sy: float) -> list[tuple]:
    """A detector output as (category_id, x1, y1, x2, y2, score) in displayed-image pixels."""
    boxes = out["boxes"].float().cpu().tolist()
    labels = out["labels"].cpu().tolist()
    scores = out["scores"].float().cpu().tolist()
    return [(label_to_category[lab], b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy, s)
            for b, lab, s in zip(boxes, labels, scores) if lab in label_to_category]


def prelabel_steps(project, loaded: LoadedModel, image_ids: Sequence[int], label_to_category: dict[int, int],
                   settings: PredictionSettings | None = None, *,
                   cancelled: Callable[[], bool] | None = None) -> Generator[tuple[int, int, ImageResult], None, Summary]:
    """Generator: predict_images to the end (or a cancel), yielding (done, total, result) per image;
    returns the run's Summary."""
    summary = Summary()
    start = time.perf_counter()
    total = len(image_ids)
    for result in predict_images(project, loaded, image_ids, label_to_category, settings, cancelled=cancelled):
        summary.add(result)
        yield summary.images, total, result
    summary.seconds = time.perf_counter() - start
    summary.cancelled = summary.images < total and bool(cancelled and cancelled())
    return summary


def run_prelabel(project, loaded: LoadedModel, image_ids: Sequence[int], label_to_category: dict[int, int],
                 settings: PredictionSettings | None = None, *,
                 progress: Callable[[int, int, ImageResult], None] | None = None,
                 cancelled: Callable[[], bool] | None = None) -> Summary:
    """prelabel_steps driven to the end, with progress(done, total, result) per image."""
    steps = prelabel_steps(project, loaded, image_ids, label_to_category, settings, cancelled=cancelled)
    while True:
        try:
            done, total, result = next(steps)
        except StopIteration as stop:
            return stop.value
        if progress:
            progress(done, total, result)


def shard(items: Sequence, rank: int, world_size: int) -> list:
    """This rank's share: item i goes to rank i % world_size."""
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is outside a world of {world_size}")
    return list(items[rank::world_size])


