"""Training throughput: labeler.ml.train against a bare torchvision loop, same model, same images.

The bare loop is what a script would do: for every batch, PIL open + EXIF orientation + to_tensor,
forward with targets, backward, step (SGD, no augmentation, no validation, nothing written), with
torchvision's own MultiScaleRoIAlign. The
pipeline is labeler.ml.train.train: label snapshot, decoded images cached at the model's input
size, aspect-grouped batches, the default augmentation (flips, quarter turns, colour),
fused AdamW with warmup and cosine decay, channels-last convolutions, RoIAlign's backward on all
cores (labeler.ml.roi_align), progress events (validation and checkpoints run after the timed iterations and are not counted).

Both sides train `fasterrcnn_small_fpn` (the CPU default) at the same input size and batch size,
for the same number of images, in this process. Printed: images per second of each, and the
ratio pipeline / bare (> 1: the pipeline is faster; goal on a CPU >= 1.0).
Each side runs --repeats times, alternating, and the medians are compared (single runs on this
machine vary by +-10 %).
Run: python benchmarks/train.py [--images 160] [--iterations 30] [--batch-size 2] [--size 320] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402
from torchvision.ops import MultiScaleRoIAlign  # noqa: E402
from torchvision.transforms.functional import to_tensor  # noqa: E402

from labeler.core.demo import write_demo  # noqa: E402
from labeler.core.store import Project  # noqa: E402
from labeler.ml.dataset import DEFAULT_AUGMENT  # noqa: E402
from labeler.ml.models import build_model  # noqa: E402
from labeler.ml.train import IterationEvent, TrainSettings, train  # noqa: E402

ARCH = "fasterrcnn_small_fpn"


def bare_loop(root: Path, iterations: int, batch: int, size: int) -> float:
    """Images per second of a plain loop over the project's reviewed, boxed images."""
    with Project.open(root, readonly=True) as p:
        cats = {c.id: i + 1 for i, c in enumerate(p.categories())}
        items = []
        for im in p.images(status="reviewed"):
            boxes = [b for b in p.boxes(im.id) if b.state != "predicted"]
            if boxes:
                items.append((root / im.path, [[b.x1, b.y1, b.x2, b.y2] for b in boxes],
                              [cats[b.category_id] for b in boxes]))
    torch.manual_seed(0)
    model = build_model(ARCH, len(cats) + 1, min_size=size, max_size=size)
    pooler = model.roi_heads.box_roi_pool  # a script has torchvision's own pooler (labeler's has a parallel backward)
    model.roi_heads.box_roi_pool = MultiScaleRoIAlign(pooler.featmap_names, pooler.output_size, pooler.sampling_ratio)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9, weight_decay=1e-4)  # torchvision recipe

    def step(k: int) -> None:
        images, targets = [], []
        for j in range(batch):
            path, boxes, labels = items[(k * batch + j) % len(items)]
            with Image.open(path) as f:
                images.append(to_tensor(ImageOps.exif_transpose(f).convert("RGB")))
            targets.append({"boxes": torch.tensor(boxes, dtype=torch.float32),
                            "labels": torch.tensor(labels, dtype=torch.int64)})
        loss = sum(model(images, targets).values())
        opt.zero_grad()
        loss.backward()
        opt.step()

    step(0)  # warm-up, not timed (first-call allocations)
    t0 = time.perf_counter()
    for k in range(1, iterations + 1):
        step(k)
    return iterations * batch / (time.perf_counter() - t0)


def pipeline(root: Path, iterations: int, batch: int, size: int) -> float:
    """Images per second of labeler's training loop, between its 2nd and last iteration events."""
    with Project.open(root) as p:
        # the default augmentation; it has no scale jitter, which would change the pixels per image
        assert "scale" not in DEFAULT_AUGMENT
        settings = TrainSettings(architecture=ARCH, epochs=1, start="scratch", device="cpu", batch_size=batch,
                                 min_size=size, max_size=size, workers=0, repeat=1, augment=DEFAULT_AUGMENT)
        marks: list[tuple[int, float]] = []
        stop = [False]
        for ev in train(p, settings, should_stop=lambda: stop[0]):
            if isinstance(ev, IterationEvent):
                marks.append((ev.step, time.perf_counter()))
                if ev.step >= iterations + 1:
                    stop[0] = True
    (s0, t0), (s1, t1) = marks[0], marks[-1]
    if s1 <= s0:
        raise SystemExit("too few iterations to time; raise --images or lower --batch-size")
    return (s1 - s0) * batch / (t1 - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=160, help="reviewed demo scenes")
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--batch-size", type=int, default=2)
    ap.add_argument("--size", type=int, default=320)
    ap.add_argument("--repeats", type=int, default=3, help="alternating runs of each side; medians are compared")
    a = ap.parse_args()
    torch.set_num_threads(max(torch.get_num_threads(), 1))
    bare, ours = [], []
    with tempfile.TemporaryDirectory() as tmp:
        root = write_demo(Path(tmp) / "demo", n_images=a.images, n_reviewed=a.images)
        for _ in range(a.repeats):  # alternating, so a slow spell of the machine hits both sides
            bare.append(bare_loop(root, a.iterations, a.batch_size, a.size))
            ours.append(pipeline(root, a.iterations, a.batch_size, a.size))
    b, o = statistics.median(bare), statistics.median(ours)
    print(f"bare torchvision loop: {b:6.2f} images/s  (runs: {', '.join(f'{x:.2f}' for x in bare)})")
    print(f"labeler train:         {o:6.2f} images/s  (runs: {', '.join(f'{x:.2f}' for x in ours)})")
    print(f"ratio labeler / bare:  {o / b:.2f}  (medians; goal on a CPU >= 1.0)")


if __name__ == "__main__":
    main()
