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
