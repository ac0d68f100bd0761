"""COCO, YOLO and Pascal VOC export and import of 10,000 images with 100,000 boxes.

Goals: export <= 2 s; import <= 3x what the reference reader takes to load the same data (every
box in pixels, with its image): pycocotools' COCO() for COCO; for VOC, ElementTree.parse of every file
and its boxes (as torchvision's VOCDetection and Ultralytics' VOC script do); for YOLO, the least of
what Ultralytics' verify_image_label does: every label file read into a float array, and every
image's size read from its header with its EXIF orientation (YOLO coordinates are fractions of it;
labeler's import takes the sizes from the store, read when the folder was scanned). Printed beside it,
not a goal: the label files alone (no image sizes, so no pixels), the floor of any YOLO reader.
The source project's 10,000 images are hard links of one 640 x 480 JPEG, so the exports' image links
lead to real files. Baselines are measured in the same run.
Run: python benchmarks/coco_io.py [--images 10000] [--boxes-per-image 10] [--formats coco,yolo,voc]
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

from labeler.core.formats import export_project, import_path  # noqa: E402
from labeler.core.store import Project  # noqa: E402


def make_project(folder: Path, n_images: int, per_image: int, with_boxes: bool) -> Project:
    folder.mkdir(parents=True)
    paths = [f"dir{i % 50:02d}/img{i:06d}.jpg" for i in range(n_images)]
    if with_boxes:  # the source: real image files (one JPEG, hard-linked), as a scanned folder has
        import os

        from PIL import Image

        one = folder / "one.jpg"
        Image.new("RGB", (640, 480), (90, 120, 150)).save(one, quality=80)
        for d in {p.split("/")[0] for p in paths}:
            (folder / d).mkdir()
        for rel in paths:
            os.link(one, folder / rel)
    p = Project.open(folder)
    p.add_image_records((rel, 640, 480) for rel in paths)
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
    """The least of n timings; each starts after os.sync(), so the disk's write-back of what came
    before (the source project, the last export) is not charged to it."""
    import os

    times = []
    for _ in range(n):
        os.sync()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def read_yolo_labels(out: Path) -> int:
    """The label files alone, into float arrays: no image sizes, so no pixels (not a goal's reference)."""
    import numpy as np

    n = 0
    for lab in (out / "labels").rglob("*.txt"):
        with open(lab) as fh:
            rows = [x.split() for x in fh.read().strip().splitlines() if len(x)]
        n += len(np.array(rows, dtype=np.float32))
    return n


def read_yolo_reference(out: Path) -> int:
    """Every box in pixels: each image's size from its header (EXIF orientation applied, as
    Ultralytics' exif_size does), its label file into a float array, scaled to that size."""
    import numpy as np
    from PIL import Image

    n = 0
    for img in (out / "images").rglob("*.jpg"):
        with Image.open(img) as im:
            w, h = im.size
            if im.getexif().get(0x0112) in (5, 6, 7, 8):  # rotated a quarter turn: width and height swap
                w, h = h, w
        lab = out / "labels" / img.relative_to(out / "images").with_suffix(".txt")
        with open(lab) as fh:
            rows = [x.split() for x in fh.read().strip().splitlines() if len(x)]
        boxes = np.array(rows, dtype=np.float32).reshape(-1, 5)[:, 1:] * np.array([w, h, w, h], np.float32)
        n += len(boxes)
    return n


def read_voc_reference(out: Path) -> int:
    import xml.etree.ElementTree as ET

    n = 0
    for xml in (out / "Annotations").glob("*.xml"):
        root = ET.parse(xml).getroot()
        for obj in root.iter("object"):
            bb = obj.find("bndbox")
            [float(bb.find(t).text) for t in ("xmin", "ymin", "xmax", "ymax")]
            n += 1
    return n


def load_coco(out: Path) -> int:
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):
        return len(COCO(str(out)).anns)


def file_system_floor(folder: Path, n: int) -> float:
    """Seconds this disk takes to create n small files and n symbolic links (in 50 folders, as the
    benchmark's images are): the least any folder export (YOLO, VOC) of n images can take here,
    whatever its code."""
    import os
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
    folders = [str(folder / f"d{k:02d}") for k in range(50)]
    for d in folders:
        os.makedirs(d)
    t = time.perf_counter()
    for i in range(n):
        d = folders[i % 50]
        fd = os.open(f"{d}/{i}.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        os.write(fd, b"0 0.5 0.5 0.1 0.1\n")
        os.close(fd)
        os.symlink("/nowhere.jpg", f"{d}/{i}.jpg")
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=10_000)
    ap.add_argument("--boxes-per-image", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--formats", default="coco,yolo,voc")
    args = ap.parse_args()
    n_boxes = args.images * args.boxes_per_image
    print(f"images={args.images} boxes={n_boxes} (best of {args.repeat})")
    val = lambda paths: {p for i, p in enumerate(paths) if i % 5 == 0}  # noqa: E731
    references = {"coco": ("pycocotools COCO()", load_coco),
                  "yolo": ("label files -> numpy + image sizes from headers", read_yolo_reference),
                  "voc": ("ElementTree.parse", read_voc_reference)}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = make_project(tmp / "src", args.images, args.boxes_per_image, True)
        floor = best_of(args.repeat, lambda: file_system_floor(tmp / "floor", args.images))
        print(f"file system floor for a folder export: {floor:.3f} s ({args.images} files and {args.images} links, "
              f"nothing else)")
        for fmt in args.formats.split(","):
            out = tmp / ("export.json" if fmt == "coco" else f"export-{fmt}")
            t_export = best_of(args.repeat, lambda: export_project(src, fmt, out, val_split=val))
            name, reference = references[fmt]
            assert reference(out) == n_boxes
            t_ref = best_of(args.repeat, lambda: reference(out))
            dst = make_project(tmp / f"dst-{fmt}", args.images, 0, False)
            t_import = best_of(args.repeat, lambda: import_path(dst, out, fmt))
            n = sum(1 for _ in dst.all_boxes())
            dst.close()
            assert n == n_boxes, (fmt, n, n_boxes)
            above = f" = floor + {t_export - floor:.3f} s" if fmt != "coco" else ""
            print(f"{fmt:>5}: export {t_export:.3f} s{above} (goal <= 2 s)   {name}: {t_ref:.3f} s   "
                  f"import {t_import:.3f} s   ratio import / reference = {t_import / t_ref:.2f} (goal <= 3.0)")
            if fmt == "yolo":
                assert read_yolo_labels(out) == n_boxes
                t_labels = best_of(args.repeat, lambda: read_yolo_labels(out))
                print(f"       (not a goal) the label files alone -> numpy, no image sizes: {t_labels:.3f} s, "
                      f"import / that = {t_import / t_labels:.2f}")
        src.close()


if __name__ == "__main__":
    main()
