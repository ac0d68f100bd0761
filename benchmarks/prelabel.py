"""Pre-labeling throughput: the pipeline against a bare loop, same model, same images, same threads.

The bare loop is what a script would do: PIL open (EXIF orientation applied), to_tensor, forward,
one image at a time, full resolution. The pipeline is labeler.ml.predict.run_prelabel: decode in a
loader thread overlapping the model, big photos decoded straight at the model's input size (JPEG
draft mode), boxes mapped back and written to the project store.

Images: 30 JPEG/PNG files of mixed sizes up to 12 MP (4000 x 3000), made once in a temp folder.
Models are built with weights=None (random init, no download). Random weights score every class
near 1/91, so the score threshold is 0 and every image yields exactly --max-boxes boxes on both
sides; with a higher threshold box counts (and the post-processing work) would vary by chance.

Goals on a CPU: ratio >= 1.2 for fasterrcnn_mobilenet_v3_large_320_fpn, >= 1.0 for
fasterrcnn_resnet50_fpn; on CUDA >= 2 with batching and mixed precision.
Run: python benchmarks/prelabel.py [--models NAME ...] [--images 30] [--device cpu] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

from labeler.core.store import Project  # noqa: E402
from labeler.ml import class_map  # noqa: E402
from labeler.ml.predict import LoadedModel, ModelChoice, PredictionSettings, image_to_tensor, run_prelabel  # noqa: E402

#: (width, height, format): phone photos, screenshots, scans; the largest is 12 MP
SIZES = [
    (4000, 3000, "JPEG"), (3000, 4000, "JPEG"), (1920, 1080, "JPEG"), (1280, 960, "JPEG"), (640, 480, "JPEG"),
    (3264, 2448, "JPEG"), (2048, 1536, "PNG"), (800, 600, "PNG"), (4000, 2250, "JPEG"), (1024, 768, "JPEG"),
]


def make_images(folder: Path, count: int) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        w, h, fmt = SIZES[i % len(SIZES)]
        # smooth shapes plus grain, so JPEG sizes and decode times are photo-like
        base = Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8))
        base = base.resize((w, h), Image.Resampling.BICUBIC)
        grain = rng.integers(-24, 24, (h, w, 3), dtype=np.int16)
        img = Image.fromarray(np.clip(np.asarray(base, dtype=np.int16) + grain, 0, 255).astype(np.uint8))
        path = folder / f"img{i:02d}.{'jpg' if fmt == 'JPEG' else 'png'}"
        img.save(path, fmt, **({"quality": 90} if fmt == "JPEG" else {"compress_level": 1}))
        paths.append(path)
    return paths


def bare_loop(model, paths: list[Path], device) -> tuple[float, int]:
    import torch

    boxes = 0
    start = time.perf_counter()
    for path in paths:
        with Image.open(path) as im:
            rgb = ImageOps.exif_transpose(im).convert("RGB")
        with torch.inference_mode():
            out = model([image_to_tensor(rgb).to(device)])[0]
        boxes += len(out["boxes"])
    return time.perf_counter() - start, boxes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+",
                    default=["fasterrcnn_mobilenet_v3_large_320_fpn", "fasterrcnn_resnet50_fpn"])
    ap.add_argument("--images", type=int, default=30)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--batch-size", type=int, default=None, help="pipeline batch (default: 1 on CPU, 4 on GPU)")
    ap.add_argument("--max-boxes", type=int, default=100)
    args = ap.parse_args()

    import torch

    from labeler.ml.device import pick_device
    from labeler.ml.models import architecture, build_model

    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        t = time.perf_counter()
        paths = make_images(folder, args.images)
        mp = sum(Image.open(p).size[0] * Image.open(p).size[1] for p in paths) / 1e6
        print(f"{len(paths)} images, {mp:.0f} megapixels in all, made in {time.perf_counter() - t:.1f} s; "
              f"device {device}, {args.threads} threads")
        project = Project.open(folder)
        project.scan()
        names = list(class_map.COCO_CATEGORIES)
        class_map.bring_in_classes(project, names, class_map.usable_names(names))
        ids = [im.id for im in project.images()]
        for name in args.models:
            arch = architecture(name)
            torch.manual_seed(0)
            model = build_model(name, len(names), box_score_thresh=0.0,
                                box_detections_per_img=args.max_boxes).eval().to(device)
            loaded = LoadedModel(model, ModelChoice.coco(name), name, names, arch.min_size, arch.max_size, device,
                                 Path("random-init"))
            labels = class_map.label_to_category(project, names, class_map.effective_map(project, loaded.key, names))
            settings = PredictionSettings(score_threshold=0.0, max_boxes=args.max_boxes, threads=args.threads,
                                          batch_size=args.batch_size)
            bare_loop(model, paths[:1], device)  # warm-up: first-call allocations on both sides
            bare_s, bare_boxes = bare_loop(model, paths, device)
            summary = run_prelabel(project, loaded, ids, labels, settings)
            ratio = (summary.images / summary.seconds) / (len(paths) / bare_s)
            print(f"{name}: bare loop {len(paths) / bare_s:.2f} images/s ({bare_boxes} boxes), "
                  f"pipeline {summary.images_per_second:.2f} images/s ({summary.boxes} boxes stored); "
                  f"ratio {ratio:.2f}")
        project.close()


if __name__ == "__main__":
    main()
