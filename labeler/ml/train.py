"""Fine-tuning: a plain generator that trains a detector on the project's reviewed images.

`train(project, settings, should_stop)` yields IterationEvents (throttled to ~10 per second),
an EpochEvent after each epoch's validation, and finally a TrainDone (also its return value).
It knows nothing of Qt or the terminal: the Fine-tune panel runs it on a worker thread, the
`labeler train` command in the foreground, and under torchrun each rank runs it (rank 0 writes).

The recipe is torchvision's detection recipe adapted to a few dozen images on a CPU: a small
model by default (labeler.ml.small_models), AdamW with warmup and a cosine schedule (over the
planned steps, or over the time budget), augmentation (dataset.py), aspect-ratio grouped batches,
gradient clipping, mixed precision on CUDA and a NaN guard. An "epoch" on a tiny data set repeats
the images until it holds at least EPOCH_IMAGES samples, so validation and checkpoints come every
few seconds of training rather than every image or two.
"""

from __future__ import annotations

import itertools
import math
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from labeler.core.words import counted

from .checkpoint import CheckpointError, save_checkpoint
from .dataset import (Augmenter, DataError, DetectionData, GroupedBatches, load_maybe_mosaic, snapshot, split_of,
                      split_samples)
from .device import DeviceError, pick_device
from .models import ModelError, build_model
from .plan import (EPOCH_IMAGES, SETTING_PRELABEL_MODEL, Plan, TrainingError, TrainSettings,  # noqa: F401
                   best_checkpoint, default_architecture, last_checkpoint, plan, resolve_anchors,
                   use_for_prelabeling)
from .start_weights import load_start as _load_start
from . import distributed, recipe

# planning (plan.py) and start-weight remapping (start_weights.py) live apart; their names stay importable here
__all__ = ["TrainSettings", "RunStarted", "IterationEvent", "EpochEvent", "TrainDone", "TrainingError", "split_of", "train",
           "use_for_prelabeling", "MIN_REVIEWED"]

MIN_REVIEWED = 2  # one to train on, one to validate
EVENT_INTERVAL_S = 0.1  # at most ~10 IterationEvents per second
GRAD_CLIP = 10.0
LOSS_NAMES = ("loss_classifier", "loss_box_reg", "loss_objectness", "loss_rpn_box_reg")


@dataclass
class RunStarted:
    """The run is recorded in the store as `run_id` and about to train: the first event of a run."""

    run_id: int
    epochs: int | None  # planned epochs (None: until the time limit)
    minutes: float | None
    start: str  # the resolved starting point: coco, last, best or scratch


@dataclass
class IterationEvent:
    epoch: int
    epochs: int | None
    iteration: int
    iterations_per_epoch: int
    step: int
    total_steps: int | None
    loss: float
    smoothed_loss: float
    lr: float
    elapsed_s: float
    eta_s: float | None


@dataclass
class EpochEvent:
    epoch: int
    epochs: int | None
    losses: dict
    map50: float
    map: float
    seconds: float
    elapsed_s: float
    checkpoint: str
    is_best: bool


@dataclass
class TrainDone:
    """The run's end. `message` says why it ended ("Finished 3 epochs."); the best result is in
    `best_map50` and `best_checkpoint`, never only in words (the stored run's message adds them)."""

    run_id: int
    best_checkpoint: str | None
    best_map50: float | None
    epochs_done: int
    stopped: bool
    message: str
    best_detail: str = ""  # "epoch 7, validation mAP@0.5 0.850, mAP@[.5:.95] 0.600": why it was kept


# ---------------------------------------------------------------------------------------------- the run
def train(project, settings: TrainSettings, should_stop: Callable[[], bool] = lambda: False, *, dist=None):
    """Generator yielding IterationEvent / EpochEvent, and finally a TrainDone (also its return value).
    `project` is a labeler.core.store.Project, opened for writing on rank 0 (read-only elsewhere).
    should_stop() is polled after every iteration. Raises TrainingError."""
    run = _Run(project, settings, should_stop, dist or distributed.from_environment())
    return (yield from run.events())


class _Run:
    def __init__(self, project, settings: TrainSettings, should_stop, dist_info):
        self.project, self.settings, self.should_stop, self.dist = project, settings, should_stop, dist_info
        self.run_id: int | None = None
        self.best_path: Path | None = None
        self.best_map50: float | None = None
        self.best_fitness: float | None = None  # evaluate.fitness of the kept checkpoint
        self.best_text = ""
        self.epoch_records: list[dict] = []
        self.trained_norms: list[str] = []  # recipe.trained_batchnorms, set when the loop starts
        self.norm_images: list[list] = []  # their input for recipe.precise_batchnorm (rank 0)

    # -------------------------------------------------------------------------------- setup
    def _device(self):
        try:
            device = pick_device(self.settings.device)
        except DeviceError as exc:
            raise TrainingError(str(exc)) from None
        if self.dist.enabled and device.type == "cuda":
            import torch

            device = torch.device("cuda", self.dist.local_rank)
        return device

    def _data(self):
        """Rank 0 snapshots the labels and hands them to the others."""
        if not 0.0 < self.settings.val_fraction < 1.0:
            raise TrainingError("The validation share must be between 0 and 1 (for example 0.2)")
        snap = None
        if self.dist.is_main:
            snap = snapshot(self.project)
        classes, samples, dropped = distributed.broadcast_object(self.dist, snap)
        if not classes:
            raise TrainingError("This project has no classes yet. Add the classes, label and review a few images, then train.")
        if len(samples) < MIN_REVIEWED:
            raise TrainingError(f"Training needs at least {MIN_REVIEWED} reviewed images (one to learn from, one to "
                                f"validate on); this project has {len(samples)}. Review more images first.")
        if not any(s.boxes for s in samples):
            raise TrainingError("The reviewed images hold no boxes: draw or accept boxes on a few images, then train.")
        train_s, val_s = split_samples(samples, self.settings.val_fraction)
        return classes, train_s, val_s, dropped

    def _model(self, plan_: Plan, classes, device):
        import torch

        torch.manual_seed(self.settings.seed)
        try:
            model = build_model(plan_.architecture, len(classes) + 1, min_size=plan_.min_size, max_size=plan_.max_size,
                                box_score_thresh=0.01, anchor_sizes=plan_.anchor_sizes)
        except ModelError as exc:
            raise TrainingError(str(exc)) from None
        if plan_.start_weights:
            try:
                _load_start(model, plan_, classes)
            except CheckpointError as exc:
                raise TrainingError(str(exc)) from None
        if plan_.start == "coco":
            recipe.freeze_batchnorm(model.backbone)  # a batch of 4-8 images cannot re-estimate COCO's statistics
        if plan_.amp and device.type == "cpu":
            from .precision import train_cpu_bf16

            train_cpu_bf16(model)  # bfloat16 convolutions while training; see labeler.ml.precision
        # channels-last convolutions: ~8 % faster training steps on this CPU (and the layout tensor
        # cores want on CUDA); checkpoints are written contiguous, as any loader expects
        return model.to(device).to(memory_format=torch.channels_last)

    # -------------------------------------------------------------------------------- the loop
    def events(self):
        import torch

        device = self._device()
        distributed.setup(self.dist, device)
        if self.dist.enabled and device.type == "cpu":
            # each process on a shared CPU gets its share of the cores
            local = int(os.environ.get("LOCAL_WORLD_SIZE", self.dist.world_size))
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // local))
        classes, train_s, val_s, dropped = self._data()
        try:
            plan_ = resolve_anchors(plan(self.project, self.settings, len(train_s), device, classes), train_s)
        except (CheckpointError, ModelError) as exc:
            raise TrainingError(str(exc)) from None
        model = self._model(plan_, classes, device)
        settings_record = {**asdict(self.settings), "resolved": asdict(plan_),
                           "train_images": len(train_s), "val_images": len(val_s), "dropped_boxes": dropped,
                           "val_paths": [s.path for s in val_s]}  # to score another model on the same images
        settings_record["augment"] = list(self.settings.augment)
        if self.dist.is_main:
            self.run_id = self.project.add_run(plan_.architecture, settings_record, classes)
        self.run_id = distributed.broadcast_object(self.dist, self.run_id)
        self.run_dir = self.project.data_dir / "runs" / str(self.run_id)
        self.meta_base = {"architecture": plan_.architecture, "classes": list(classes), "min_size": plan_.min_size,
                          "max_size": plan_.max_size, "settings": settings_record, "run_id": self.run_id,
                          "anchor_sizes": [list(level) for level in plan_.anchor_sizes] if plan_.anchor_sizes else None}
        ended_together = False
        try:
            yield RunStarted(self.run_id, plan_.epochs, plan_.minutes, plan_.start)
            done = yield from self._loop(model, plan_, classes, train_s, val_s, device)
            ended_together = True  # stop decisions are all-reduced: every rank leaves the loop here
        except GeneratorExit:  # the consumer closed the generator: record it as stopped
            self._finish("stopped", "Training was interrupted.")
            raise
        except TrainingError as exc:
            self._finish("failed", str(exc))
            raise
        except DataError as exc:
            self._finish("failed", str(exc))
            raise TrainingError(str(exc)) from None
        except BaseException as exc:
            self._finish("failed", f"{type(exc).__name__}: {exc}")
            raise
        finally:
            distributed.teardown(self.dist, sync=ended_together)
        yield done
        return done

    def _finish(self, status: str, message: str) -> None:
        if not self.dist.is_main or self.run_id is None:
            return
        self.project.update_run(self.run_id, status=status, message=message, finished_at=time.time(),
                                epochs=self.epoch_records, best_map=self.best_map50,
                                checkpoint=self._rel(self.best_path) if self.best_path else None)

    def _rel(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.project.root.resolve()).as_posix()
        except ValueError:
            return str(path)

    def _loop(self, model, plan_: Plan, classes, train_s, val_s, device):
        import torch

        rng = random.Random(self.settings.seed * 7919 + self.dist.rank)
        train_data = DetectionData(train_s, max_side=int(plan_.max_size * 1.25))
        self.trained_norms = recipe.trained_batchnorms(model)  # frozen ones (COCO starts) keep their statistics
        if self.trained_norms and self.dist.is_main:
            self.norm_images = _norm_images(train_data, plan_.batch_size, device)
        val_data = DetectionData(val_s, max_side=plan_.max_size)
        sampler = GroupedBatches(train_data, plan_.batch_size, turns="rot90" in plan_.augment, repeat=plan_.repeat,
                                 rank=self.dist.rank, world_size=self.dist.world_size)
        mosaic_on = torch.ones(1, dtype=torch.uint8).share_memory_()  # loader processes see it drop to 0
        loader = _batch_stream(train_data, sampler, Augmenter(plan_.augment), self.settings.seed, plan_.workers,
                               device.type == "cuda", mosaic_on)
        iters = len(sampler)
        budget_s = plan_.minutes * 60 if plan_.minutes else None
        steps = recipe.StepBudget(iters, plan_.epochs, budget_s)
        warmup = max(1, min(100, (steps.total or 10 ** 9) // 10, iters * 3))
        ddp_model = distributed.wrap(model, self.dist, device)
        optimizer = recipe.optimizer(model, plan_.lr, device.type)
        cuda_amp = plan_.amp and device.type == "cuda"  # a CPU's bfloat16 is inside the model (precision.py)
        scaler = torch.amp.GradScaler("cuda", enabled=cuda_amp)
        self.average = (recipe.WeightAverage(model) if plan_.ema else
                        recipe.TailAverage(plan_.tail) if plan_.tail else None)
        train_sizes = _train_sizes(plan_) if "scale" in plan_.augment else ((plan_.min_size,), plan_.max_size)

        started = time.perf_counter()
        step, epoch, smoothed, last_event = 0, 0, None, 0.0
        stopped, reason = False, ""
        while True:
            epoch += 1
            epoch_start = time.perf_counter()
            sums = {k: 0.0 for k in ("loss", *LOSS_NAMES)}
            count = 0
            model.train()
            if plan_.start == "coco":
                recipe.freeze_batchnorm(model.backbone)
            model.transform.min_size, model.transform.max_size = train_sizes
            end_epoch = False
            for it in range(iters):
                images, targets = next(loader)
                images = [im.to(device, non_blocking=True) for im in images]
                targets = [{k: v.to(device, non_blocking=True) for k, v in t.items()} for t in targets]
                frac = steps.frac(step, time.perf_counter() - started)
                if frac >= plan_.mosaic_until and mosaic_on[0]:
                    mosaic_on[0] = 0  # whole images from here (the batches loader processes prepared ahead stay)
                lr = recipe.lr_at(plan_.lr, step, warmup, frac)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                with torch.autocast(device.type, enabled=cuda_amp):
                    parts = ddp_model(images, targets)
                loss = sum(parts.values())
                loss_value = float(loss.detach())
                if distributed.any_rank(self.dist, not math.isfinite(loss_value), device):
                    kept = f" The best checkpoint so far is kept: {self.best_path}." if self.best_path else ""
                    raise TrainingError(
                        f"Training stopped: the loss became {loss_value} at epoch {epoch}, iteration {it + 1}. "
                        f"Try a lower learning rate (it was {plan_.lr:g}), or check the boxes of the reviewed images.{kept}")
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
                scaler.step(optimizer)
                scaler.update()
                if self.average is not None:
                    self.average.update(model, frac)
                step += 1
                count += 1
                sums["loss"] += loss_value
                for k in LOSS_NAMES:
                    sums[k] += float(parts[k].detach()) if k in parts else 0.0
                smoothed = loss_value if smoothed is None else 0.9 * smoothed + 0.1 * loss_value
                now = time.perf_counter()
                elapsed = now - started
                time_up = budget_s is not None and elapsed >= budget_s
                end_epoch = distributed.any_rank(self.dist, bool(self.should_stop()) or time_up, device)
                if now - last_event >= EVENT_INTERVAL_S or it == iters - 1 or end_epoch:
                    last_event = now
                    yield IterationEvent(epoch, plan_.epochs, it + 1, iters, step, steps.total, loss_value, smoothed,
                                         lr, elapsed, _eta(elapsed, step, steps.total, budget_s))
                if end_epoch:
                    stopped = not time_up
                    reason = "Stopped." if stopped else f"Reached the time limit of {_minutes(plan_.minutes)}."
                    break
            model.transform.min_size, model.transform.max_size = (plan_.min_size,), plan_.max_size
            losses = {k: v / max(1, count) for k, v in sums.items()}
            event = self._end_epoch(self.average.model if self.average and self.average.model else model, plan_, epoch, losses, val_data,
                                    device, epoch_start, started)
            steps.epoch_ended(epoch, step, time.perf_counter() - started)
            if self.dist.enabled:  # every rank follows rank 0's count (each epoch: the ranks' clocks differ)
                steps.total = distributed.broadcast_object(self.dist, steps.total)
            if event is not None:
                yield event
            if end_epoch:
                break
            if plan_.epochs and epoch >= plan_.epochs:
                reason = f"Finished {plan_.epochs} epochs."
                break
        best = f" Best checkpoint: {self.best_text} ({self.best_path})." if self.best_path else ""
        self._finish("stopped" if stopped else "finished", reason + best)  # the stored message names the best
        return TrainDone(self.run_id, str(self.best_path) if self.best_path else None, self.best_map50,
                         epoch, stopped, reason, self.best_text)

    def _end_epoch(self, model, plan_: Plan, epoch: int, losses: dict, val_data, device, epoch_start, started):
        """Validate, write the epoch's checkpoint (and best.pth when it is the best), record it (rank 0)."""
        if not self.dist.is_main:
            return None
        from .evaluate import coco_map, fitness, predict_for_eval

        recipe.precise_batchnorm(model, self.trained_norms, self.norm_images)
        model.eval()
        truth, images = [], []
        for i in range(len(val_data)):
            pixels, boxes, labels, _ = val_data.load(i)
            images.append(pixels.float().div(255.0))
            truth.append((pixels.shape[-1], pixels.shape[-2], boxes, labels))
        detections = predict_for_eval(model, images, device, plan_.amp)
        map50, map_ = coco_map(truth, detections, len(model.roi_heads.box_predictor.cls_score.weight) - 1)
        score = fitness(map50, map_)
        is_best = self.best_fitness is None or score > self.best_fitness
        metrics = {"map50": map50, "map": map_, "losses": losses}
        meta = {**self.meta_base, "epoch": epoch, "metrics": metrics}
        state = {k: v.contiguous() for k, v in model.state_dict().items()}
        path = save_checkpoint(self.run_dir / f"epoch-{epoch}.pth", state, meta)
        previous = self.run_dir / f"epoch-{epoch - 1}.pth"
        if previous.exists():  # keep the last epoch's and the best checkpoint, not one per epoch
            for p in (previous, previous.with_suffix(".json")):
                p.unlink(missing_ok=True)
        if is_best:
            self.best_map50, self.best_fitness = map50, score
            self.best_text = f"epoch {epoch}, validation mAP@0.5 {map50:.3f}, mAP@[.5:.95] {map_:.3f}"
            self.best_path = save_checkpoint(self.run_dir / "best.pth", state, meta)
        now = time.perf_counter()
        record = {"epoch": epoch, **{k: round(v, 6) for k, v in losses.items()}, "map50": map50, "map": map_,
                  "seconds": now - epoch_start, "elapsed_s": now - started, "is_best": is_best}
        self.epoch_records.append(record)
        self.project.update_run(self.run_id, epochs=self.epoch_records, best_map=self.best_map50,
                                checkpoint=self._rel(self.best_path))
        return EpochEvent(epoch, plan_.epochs, losses, map50, map_, now - epoch_start, now - started, str(path), is_best)


# ---------------------------------------------------------------------------------------------- helpers
def _train_sizes(plan_: Plan) -> tuple[tuple[int, ...], int]:
    """Scale jitter: torchvision's transform picks one of these shorter sides per training image."""
    lo, hi = int(plan_.min_size * 0.75), int(plan_.min_size * 1.25)
    step = max(1, plan_.min_size // 10)
    return tuple(range(lo, hi + 1, step)), int(plan_.max_size * 1.25)


NORM_IMAGES = 16  # training images the batch-norm statistics are recomputed from before each validation


def _norm_images(data: DetectionData, batch_size: int, device) -> list[list]:
    """Up to NORM_IMAGES training images, un-augmented, spread evenly over the training set, in batches of
    `batch_size` of like aspect (as training groups them, so padding stays small), as floats in [0, 1] on
    `device`, converted once a run rather than once an epoch: recipe.precise_batchnorm's input. Its cost
    hides in the machine's noise: 141-144 epochs of the hard domain in 10 minutes with it, 140-148
    without (2 CPU cores, benchmarks/time_to_accuracy.py)."""
    n = min(len(data), NORM_IMAGES)
    picked = sorted({round(k * (len(data) - 1) / max(1, n - 1)) for k in range(n)})
    pixels = sorted((data.load(i)[0] for i in picked), key=lambda p: p.shape[-1] / p.shape[-2])
    pixels = [p.to(device).float().div(255.0) for p in pixels]
    size = max(1, batch_size)
    return [pixels[k:k + size] for k in range(0, len(pixels), size)]


def _minutes(m: float) -> str:
    """ "1 minute", "2 minutes", "1.5 minutes"."""
    return counted(int(m), "minute") if float(m).is_integer() else f"{m:g} minutes"


def _eta(elapsed: float, step: int, total_steps: int | None, budget_s: float | None) -> float | None:
    etas = []
    if total_steps:
        etas.append(elapsed / max(1, step) * (total_steps - step))
    if budget_s:
        etas.append(budget_s - elapsed)
    return max(0.0, min(etas)) if etas else None


def _batch_stream(data: DetectionData, sampler: GroupedBatches, augmenter: Augmenter, seed: int, workers: int,
                  pin: bool, mosaic_on=None):
    """An endless iterator of augmented (images, targets) batches, epoch after epoch. With workers,
    a DataLoader prepares batches in other processes (each keeps its own decoded-image cache).
    `mosaic_on`: a one-element tensor in shared memory; while its value is 0 no mosaics are made."""
    import torch

    class Batches(torch.utils.data.Dataset):
        per_epoch = len(sampler)
        _epoch, _batches = None, None

        def __len__(self):
            return 10 ** 9

        def __getitem__(self, k: int):
            epoch = k // self.per_epoch
            if epoch != self._epoch:
                self._epoch, self._batches = epoch, sampler.batches(epoch, seed)
            images, targets = [], []
            allow = mosaic_on is None or bool(mosaic_on[0])
            for index, turns, key_seed in self._batches[k % self.per_epoch]:
                rng = random.Random(key_seed)
                pixels, boxes, labels = load_maybe_mosaic(data, index, augmenter, rng, allow)
                image, target = augmenter(pixels, boxes, labels, turns, rng)
                images.append(image)
                targets.append(target)
            return images, targets

    batches = Batches()
    if workers <= 0:
        for k in itertools.count():
            yield batches[k]
    loader = torch.utils.data.DataLoader(batches, batch_size=None, shuffle=False, num_workers=workers,
                                         pin_memory=pin, persistent_workers=True, prefetch_factor=4)
    yield from loader
