"""bfloat16 training on CPUs that compute it natively.

CUDA training uses torch.autocast over the whole model (float16, with a gradient scaler). On a CPU,
autocast over the whole detector does not work and would not be right: torchvision's RoIAlign has no
bfloat16 backward on the CPU, and the box coder would decode proposals in bfloat16, whose 8-bit
mantissa spaces numbers near 400 px by 2 px. So only the parts where the multiply-adds are run in
bfloat16: the backbone with its feature pyramid, the RPN's convolution head and the RoI box head's
MLP. Each hands its outputs back as float32, so anchors, proposals, RoI pooling, box decoding, the
losses and the weights themselves (the optimiser's master copy) stay in float32.

Where the CPU has bfloat16 instructions (AVX512-BF16 or AMX), a training step of the small model
takes ~0.75x the time (batch of 4 hard-domain scenes on this 2-core AMD EPYC: 37-38 images/s against
29-32), and issue 18's hard domain ran 42 epochs in 3 minutes instead of 34, held-out mAP@0.5 0.827
against 0.755 over 2 seeds (`benchmarks/time_to_accuracy.py --minutes 3 --settings '{"amp": false}'`
is the float32 side). Where it has not, oneDNN emulates bfloat16, slower than float32, so
`native_cpu_bf16()` decides. Evaluation and
pre-labeling run in float32 (the wrapped parts compute in bfloat16 only in training mode).
"""

from __future__ import annotations

import types


def native_cpu_bf16() -> bool:
    """Whether this CPU computes bfloat16 in hardware (AVX512-BF16 or AMX tiles)."""
    import torch

    cpu = getattr(torch, "cpu", None)
    for check in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        probe = getattr(cpu, check, None)
        try:
            if probe is not None and probe():
                return True
        except RuntimeError:
            continue
    return False


def _float(value):
    """`value` with every floating tensor in it (dicts, lists, tuples) as float32."""
    import torch

    if isinstance(value, torch.Tensor):
        return value.float() if value.is_floating_point() else value
    if isinstance(value, dict):
        return type(value)((k, _float(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(_float(v) for v in value)
    return value


def _bf16_forward(self, *args, **kwargs):
    """A part's forward in bfloat16 while training, its outputs handed back as float32."""
    import torch

    forward = type(self).forward
    if not self.training:
        return forward(self, *args, **kwargs)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = forward(self, *args, **kwargs)
    return _float(out)


def bf16_parts(model) -> list:
    """The parts of a torchvision Faster R-CNN whose work is convolutions and matrix products."""
    parts = [getattr(model, "backbone", None), getattr(getattr(model, "rpn", None), "head", None),
             getattr(getattr(model, "roi_heads", None), "box_head", None)]
    return [p for p in parts if p is not None]


def train_cpu_bf16(model) -> list:
    """Make the model's heavy parts (bf16_parts) compute in bfloat16 while it trains on a CPU. The
    forward is an instance method bound to each part: state dicts are unchanged, and a deep copy
    (the weight averages) keeps the behaviour, bound to the copy. Returns the parts changed."""
    parts = bf16_parts(model)
    for part in parts:
        part.forward = types.MethodType(_bf16_forward, part)
    return parts
