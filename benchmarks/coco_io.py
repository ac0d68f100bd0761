"""COCO export and import of 10,000 images with 100,000 boxes.

Goals: export <= 2 s; import <= 3x the time pycocotools' COCO() takes to load the same file.
Prints the figures and the import/COCO() ratio (baseline measured in the same run).
Run: python benchmarks/coco_io.py [--images 10000] [--boxes-per-image 10]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labeler.core.formats.coco import export_coco, import_coco  # noqa: E402
from labeler.core.store import Project  # noqa: E402


def make_project(folder: Path, n_images: int, per_image: int, with_boxes: bool) -> Project:
    folder.mkdir(parents=True)
    p = Project.open(folder)
    p.add_image_records((f"dir{i % 50:02d}/img{i:06d}.jpg", 640, 480) for i in range(n_images))
    if with_boxes:
        cats = [p.add_category(f"class{k}").id for k in range(20)]
        rng = random.Random(0)
        now = time.time()
        rows = []
        for im in p.images():
            for _ in range(per_image):
                x, y = rng.uniform(0, 600), rng.uniform(0, 440)
                rows.append((im.id, rng.choice(cats), x, y, x + rng.uniform(2, 40), y + rng.uniform(2, 40),
                             "human", None, "human", now, now))
        with p.batch() as c:
            c.executemany("INSERT INTO boxes (image_id, category_id, x1, y1, x2, y2, source, score, state, "
                          "created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
            c.execute("UPDATE images SET reviewed=1")
    return p


def best_of(n, fn):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=10_000)
    ap.add_argument("--boxes-per-image", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from pycocotools.coco import COCO

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = make_project(tmp / "src", args.images, args.boxes_per_image, True)
        out = tmp / "export.json"
        t_export = best_of(args.repeat, lambda: export_coco(src, out))
        src.close()

        def load_coco():
            with contextlib.redirect_stdout(io.StringIO()):
                COCO(str(out))

        t_coco = best_of(args.repeat, load_coco)
        dst = make_project(tmp / "dst", args.images, 0, False)
        t_import = best_of(args.repeat, lambda: import_coco(dst, out))
        n = sum(1 for _ in dst.all_boxes())
        dst.close()

    n_boxes = args.images * args.boxes_per_image
    assert n == n_boxes, (n, n_boxes)
    print(f"images={args.images} boxes={n_boxes} (best of {args.repeat})")
    print(f"export: {t_export:.3f} s   (goal <= 2 s: {t_export / 2.0:.2f} of the budget)")
    print(f"pycocotools COCO() load: {t_coco:.3f} s")
    print(f"import: {t_import:.3f} s")
    print(f"ratio import / COCO() = {t_import / t_coco:.2f}   (goal <= 3.0)")


if __name__ == "__main__":
    main()
