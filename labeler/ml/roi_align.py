"""Multi-scale RoIAlign whose backward pass uses every CPU core.

torchvision's CPU kernel for the backward of RoIAlign runs on one thread: profiling a training step
of the small model on this 2-core CPU put it at 30 % of the whole step (three calls of ~29 ms per
batch of four), while the convolutions around it use both cores. Images do not share feature-map
pixels, so the backward splits cleanly by image: `_RoIAlign.backward` runs torchvision's own
backward kernel on the RoIs of each image, one image per thread (the op releases the GIL), and the
results land in disjoint slices of the gradient. The forward pass is torchvision's op, unchanged,
so features, detections and checkpoints are exactly those of `torchvision.ops.MultiScaleRoIAlign`;
gradients equal torchvision's to float rounding (tests/ml/test_roi_align.py).

`ParallelMultiScaleRoIAlign` replaces the pooler of any Faster R-CNN (it has no parameters, so state
dicts are unaffected); labeler.ml.models.build_model puts it into every model it builds.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import torch
from torchvision.ops import MultiScaleRoIAlign
from torchvision.ops import poolers as _poolers
from torchvision.ops import roi_align as _tv_roi_align

_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


def _one_thread() -> None:
    """A pool thread runs its ops (indexing, the kernel's zeroed gradient) on itself alone. Left at the
    process's count, a pool thread's first large op starts an OpenMP team of its own, and those extra
    teams slowed every later step of the process, convolutions included: `python benchmarks/train.py
    --batch-size 4` on this 2-core CPU, labeler 8.1 images/s and the bare torchvision loop run after it
    6.1-6.7 (9.7 before it); with one thread here 10.1 and 9.0-9.8. torch.set_num_threads also sets the
    count that threads starting later copy, so backward puts that back."""
    torch.get_num_threads()  # this thread's lazy set-up first, so that it never copies the count again
    torch.set_num_threads(1)


def _executor(workers: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size != workers:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(workers, thread_name_prefix="labeler-roi-align", initializer=_one_thread)
            _pool_size = workers
        return _pool


class _RoIAlign(torch.autograd.Function):
    """torchvision's roi_align forward; its backward one image per thread."""

    @staticmethod
    def forward(ctx, features, rois, spatial_scale: float, output_size: tuple[int, int], sampling_ratio: int,
                aligned: bool):
        ctx.save_for_backward(rois)
        ctx.shape = features.shape
        ctx.args = (spatial_scale, output_size, sampling_ratio, aligned)
        return torch.ops.torchvision.roi_align(features, rois, spatial_scale, output_size[0], output_size[1],
                                               sampling_ratio, aligned)

    @staticmethod
    def backward(ctx, grad_out):
        (rois,) = ctx.saved_tensors
        n, c, h, w = ctx.shape
        spatial_scale, (ph, pw), sampling_ratio, aligned = ctx.args
        grad_out = grad_out.contiguous()
        grad = grad_out.new_zeros(n, c, h, w)
        image_of_roi = rois[:, 0].to(torch.int64)

        def one_image(i: int) -> None:
            index = (image_of_roi == i).nonzero().squeeze(1)
            if index.numel() == 0:
                return
            own = rois[index].clone()
            own[:, 0] = 0
            grad[i:i + 1] = torch.ops.torchvision._roi_align_backward(
                grad_out[index], own, spatial_scale, ph, pw, 1, c, h, w, sampling_ratio, aligned)

        threads = torch.get_num_threads()
        workers = min(n, threads)
        if workers <= 1:
            for i in range(n):
                one_image(i)
        else:
            try:
                list(_executor(workers).map(one_image, range(n)))  # list(): re-raises a thread's error
            finally:
                torch.set_num_threads(threads)  # the count a new pool thread set to 1 (_one_thread)
        return grad, None, None, None, None, None


def roi_align(features, rois, output_size, spatial_scale: float, sampling_ratio: int, aligned: bool = False):
    """torchvision.ops.roi_align for rois as Tensor[K, 5] (image index, x1, y1, x2, y2)."""
    if isinstance(output_size, int):
        output_size = (output_size, output_size)
    output_size = tuple(output_size)
    if (features.device.type == "cpu" and torch.is_grad_enabled() and features.requires_grad
            and features.shape[0] > 1 and not torch.jit.is_scripting()):
        return _RoIAlign.apply(features, rois.to(features.dtype), spatial_scale, output_size, sampling_ratio, aligned)
    return _tv_roi_align(features, rois, output_size, spatial_scale, sampling_ratio, aligned)


class ParallelMultiScaleRoIAlign(MultiScaleRoIAlign):
    """torchvision's MultiScaleRoIAlign, pooling each level with `roi_align` above."""

    @classmethod
    def like(cls, pooler: MultiScaleRoIAlign) -> "ParallelMultiScaleRoIAlign":
        out = cls(pooler.featmap_names, pooler.output_size, pooler.sampling_ratio,
                  canonical_scale=pooler.canonical_scale, canonical_level=pooler.canonical_level)
        out.scales, out.map_levels = pooler.scales, pooler.map_levels
        return out

    def forward(self, x, boxes, image_shapes):
        features = _poolers._filter_input(x, self.featmap_names)
        if self.scales is None or self.map_levels is None:
            self.scales, self.map_levels = _poolers._setup_scales(features, image_shapes, self.canonical_scale,
                                                                  self.canonical_level)
        rois = _poolers._convert_to_roi_format(boxes)
        if len(features) == 1:
            return roi_align(features[0], rois, self.output_size, self.scales[0], self.sampling_ratio)
        levels = self.map_levels(boxes)
        first = features[0]
        result = torch.zeros((len(rois), first.shape[1], *self.output_size), dtype=first.dtype, device=first.device)
        for level, (feature, scale) in enumerate(zip(features, self.scales)):
            index = torch.where(levels == level)[0]
            pooled = roi_align(feature, rois[index], self.output_size, scale, self.sampling_ratio)
            result.index_put_((index,), pooled.to(result.dtype))
        return result
