"""The optimisation recipe of fine-tuning: AdamW with parameter groups, the learning-rate schedule,
and frozen batch norm. Kept apart from the loop in labeler.ml.train; torch is imported lazily."""

from __future__ import annotations

import math


def lr_at(base: float, step: int, warmup: int, frac: float, final: float = 0.02) -> float:
    """Linear warmup over `warmup` steps, then a cosine from `base` to `final * base` over `frac` 0..1."""
    warm = min(1.0, (step + 1) / warmup)
    cosine = 0.5 * (1 + math.cos(math.pi * min(max(frac, 0.0), 1.0)))
    return base * warm * (final + (1 - final) * cosine)


def optimizer(model, lr: float, device_type: str = "cpu"):
    """AdamW; no weight decay on norms and biases (decaying them only fights the normalisation).

    The fused implementation (one kernel over all parameters, on CPU and CUDA) steps ~5x faster than
    the per-parameter loop on this CPU: 1.3 ms against 7.2 ms for the small model, a few per cent of
    an iteration. Where it is not available the default implementation is used.
    """
    import torch

    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if p.ndim <= 1 else decay).append(p)
    groups = [{"params": decay, "weight_decay": 1e-4}, {"params": no_decay, "weight_decay": 0.0}]
    if device_type in ("cpu", "cuda"):
        try:
            return torch.optim.AdamW(groups, lr=lr, fused=True)
        except (RuntimeError, TypeError, ValueError):
            pass
    return torch.optim.AdamW(groups, lr=lr)


def freeze_batchnorm(module) -> None:
    """Keep batch norm at its loaded statistics: eval mode, no gradient."""
    import torch

    for m in module.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.eval()
            for p in m.parameters():
                p.requires_grad_(False)


def trained_batchnorms(model) -> list[str]:
    """Names (within model.backbone) of the backbone's batch norms that train: not frozen at loaded
    statistics (their weights take gradients, or they have none and are in training mode)."""
    import torch

    names = []
    for name, m in model.backbone.named_modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.track_running_stats:
            params = list(m.parameters(recurse=False))
            if any(p.requires_grad for p in params) or (not params and m.training):
                names.append(name)
    return names


def precise_batchnorm(model, names, batches) -> None:
    """Recompute the running statistics of the backbone's batch norms `names` (trained_batchnorms) of a
    torchvision detector as plain averages over `batches` (lists of float CHW images, through
    model.transform and model.backbone).

    While training, batch norm keeps an exponential average (momentum 0.1) of the statistics of the
    last few batches of 4 augmented images: it wanders from epoch to epoch, and the model evaluated
    with it wanders too (issue 18's hard domain: the last epochs of one 10-minute run scored 0.867 to
    0.880 held-out mAP@0.5 as saved, 0.880 to 0.883 with statistics recomputed from 20 training images,
    and never lower; "precise BN", Wu and Johnson 2021). Training itself normalises with each batch's
    own statistics, so this changes only evaluation and the saved checkpoint."""
    import torch

    modules = dict(model.backbone.named_modules())
    norms = [modules[n] for n in names if n in modules]
    if not norms or not batches:
        return
    was_training = model.training
    kept = [(m.momentum, m.training) for m in norms]
    try:
        model.eval()
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # a cumulative average over the batches
            m.train()
        with torch.no_grad():
            for images in batches:
                tensors, _ = model.transform(list(images))
                model.backbone(tensors.tensors)
    finally:
        for m, (momentum, training) in zip(norms, kept):
            m.momentum = momentum
            m.train(training)
        model.train(was_training)


class StepBudget:
    """How many optimiser steps a run takes, so that the learning-rate schedule follows the step count
    and not the clock.

    With planned epochs it is epochs x iterations. With a time budget, the steps are counted once a
    quarter of the budget is spent, from the pace of the epochs since the second (the first decodes
    and caches the images, and the first two run slower while the allocator and autograd warm up: an
    estimate from the second epoch alone ended 4-minute runs up to 0.7 min early; validation is
    included), and then fixed: a machine that gets faster does not squeeze the schedule; steps
    beyond the count train at the schedule's final rate. Until then the schedule's position is the
    share of the budget used (the warmup and the first, flat part of the cosine, where a few per cent
    of timing change the rate by less than one per cent).

    The position is never behind the share of the budget used, though: a machine that gets slower
    (this VM's pace moves by a third within a run, and halves between days) would otherwise reach the
    time limit part-way down the cosine and hand over weights trained at a third of the peak rate,
    not the settled ones of the schedule's end. So the schedule then follows the clock and still ends
    at the time limit.
    """

    def __init__(self, iters: int, epochs: int | None, budget_s: float | None, fix_at: float = 0.25,
                 skip_epochs: int = 2):
        self.iters, self.budget_s, self.fix_at, self.skip_epochs = iters, budget_s, fix_at, skip_epochs
        self.total: int | None = epochs * iters if epochs else None
        self._since: tuple[int, float] | None = None  # (step, elapsed) when the skipped epochs ended

    def frac(self, step: int, elapsed: float) -> float:
        clock = elapsed / self.budget_s if self.budget_s else 0.0
        return max(step / self.total, clock) if self.total else clock

    def epoch_ended(self, epoch: int, step: int, elapsed: float) -> None:
        """Called after each epoch's validation: fixes the total once a quarter of the budget is spent."""
        if self.total is not None or not self.budget_s:
            return
        if epoch <= self.skip_epochs or self._since is None:
            self._since = (step, elapsed)
            return
        step0, t0 = self._since
        if elapsed < self.fix_at * self.budget_s or step <= step0:
            return
        per_step = (elapsed - t0) / (step - step0)
        self.total = step + max(0, int((self.budget_s - elapsed) / per_step))



class _Average:
    """A frozen copy of a model that follows it by a fused lerp of its floating tensors (one kernel over
    all of them, on the GPU and CPU alike); integer buffers (batch norm's num_batches_tracked) are copied."""

    def _freeze(self, model) -> None:
        import copy

        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self._float = [k for k, v in self.model.state_dict().items() if v.dtype.is_floating_point]

    def _blend(self, model, weight: float) -> None:
        """Move the average `weight` (0..1) of the way towards the model's weights."""
        import torch

        mine, theirs = self.model.state_dict(), model.state_dict()
        with torch.no_grad():
            torch._foreach_lerp_([mine[k] for k in self._float], [theirs[k].detach() for k in self._float], weight)
            for k, v in mine.items():
                if not v.dtype.is_floating_point:
                    v.copy_(theirs[k])


class WeightAverage(_Average):
    """An exponential moving average of a model's weights and batch-norm statistics, as YOLOv5/v8 keep
    (their ModelEMA): decay ramps up as d * (1 - exp(-updates / tau)), so early averages follow the
    model closely. Validation and checkpoints use the average, which moves less from step to step
    than the weights being trained."""

    def __init__(self, model, decay: float = 0.999, tau: float = 200.0):
        self._freeze(model)
        self.decay, self.tau, self.updates = decay, tau, 0

    def update(self, model, frac: float = 0.0) -> None:
        self.updates += 1
        self._blend(model, 1 - self.decay * (1 - math.exp(-self.updates / self.tau)))


class TailAverage(_Average):
    """A uniform average of the weights (and batch-norm statistics) over the steps after `start`, a
    share of the schedule (stochastic weight averaging's tail, Izmailov et al. 2018): the low-rate end of
    the cosine wanders around a minimum, and the mean of where it went sits nearer its centre than any
    one epoch's weights. Until the tail starts `model` is None and validation uses the weights being
    trained; from then on the n-th step blends in with weight 1/n, which keeps the running mean."""

    def __init__(self, start: float):
        self.start, self.model, self.updates = start, None, 0

    def update(self, model, frac: float) -> None:
        if frac < self.start:
            return
        self.updates += 1
        if self.model is None:
            self._freeze(model)
        else:
            self._blend(model, 1.0 / self.updates)
