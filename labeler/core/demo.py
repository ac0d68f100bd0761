"""The built-in demo project: generated scenes of coloured shapes, some labeled, most not.

Each scene is a small photo-like image: a lit background (gradients, soft blobs, texture and
noise), and zero to six objects of five classes (circle, square, triangle, star, cross) in random
colours, sizes from small to large, some overlapping, some partly hidden by others (labeled as a
person would: the visible part of an object, and nothing for an object hidden for the most part). The first
`n_reviewed` scenes come labeled and reviewed, as if a person had done them; the rest are
unlabeled, for pre-labeling. Everything derives from `seed`, so the demo is the same everywhere.
"""

from __future__ import annotations

import math
import os
import random
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .files import atomic_write
from .runs import load as load_runs
from .store import Project
from .words import counted

CLASSES = ("circle", "square", "triangle", "star", "cross")
CLASS_COLORS = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4")
#: the share of an object that must be in view for it to be labeled
MIN_VISIBLE = 0.5
SIZES = ((320, 240), (384, 288), (400, 300), (448, 336), (360, 360), (300, 400))


def default_demo_dir() -> Path:
    """Where `labeler --demo` keeps its demo project (the user's data folder)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("labeler", appauthor=False)) / "demo"


def _background(rng: random.Random, w: int, h: int) -> Image.Image:
    nrng = np.random.default_rng(rng.getrandbits(32))
    # a lit gradient between two muted colours
    c0 = np.array([rng.randint(30, 220) for _ in range(3)], float)
    c1 = np.clip(c0 + np.array([rng.randint(-90, 90) for _ in range(3)]), 0, 255)
    angle = rng.uniform(0, math.pi)
    yy, xx = np.mgrid[0:h, 0:w]
    t = ((xx * math.cos(angle) + yy * math.sin(angle)) / max(w, h) + 1) / 2
    img = c0[None, None, :] * (1 - t[..., None]) + c1[None, None, :] * t[..., None]
    # soft blobs (clutter that is not an object)
    blobs = Image.new("RGB", (w, h), (0, 0, 0))
    mask = Image.new("L", (w, h), 0)
    d, dm = ImageDraw.Draw(blobs), ImageDraw.Draw(mask)
    for _ in range(rng.randint(2, 7)):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(20, 120)
        col = tuple(int(np.clip(v + rng.randint(-60, 60), 0, 255)) for v in c0)
        d.ellipse((cx - r, cy - r * rng.uniform(0.4, 1), cx + r, cy + r), fill=col)
        dm.ellipse((cx - r, cy - r, cx + r, cy + r), fill=rng.randint(40, 140))
    blur = rng.uniform(6, 16)
    blobs = np.asarray(blobs.filter(ImageFilter.GaussianBlur(blur)), float)
    alpha = np.asarray(mask.filter(ImageFilter.GaussianBlur(blur)), float)[..., None] / 255
    img = img * (1 - alpha) + blobs * alpha
    # thin lines: texture such as cables or floor boards
    lines = Image.fromarray(img.astype(np.uint8))
    dl = ImageDraw.Draw(lines)
    for _ in range(rng.randint(0, 6)):
        col = tuple(int(np.clip(v + rng.randint(-50, 50), 0, 255)) for v in c1)
        dl.line([(rng.uniform(0, w), rng.uniform(0, h)), (rng.uniform(0, w), rng.uniform(0, h))],
                fill=col, width=rng.randint(1, 3))
    img = np.asarray(lines, float)
    img += nrng.normal(0, rng.uniform(3, 14), img.shape)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def _polygon(kind: str, cx: float, cy: float, r: float, rot: float) -> list[tuple[float, float]]:
    if kind == "triangle":
        pts = [(math.cos(rot + k * 2 * math.pi / 3), math.sin(rot + k * 2 * math.pi / 3)) for k in range(3)]
    elif kind == "star":
        pts = []
        for k in range(10):
            rr = 1.0 if k % 2 == 0 else 0.45
            a = rot + k * math.pi / 5
            pts.append((rr * math.cos(a), rr * math.sin(a)))
    elif kind == "square":
        pts = [(math.cos(rot + math.pi / 4 + k * math.pi / 2), math.sin(rot + math.pi / 4 + k * math.pi / 2))
               for k in range(4)]
    elif kind == "cross":
        a, b = 1.0, 0.33
        base = [(-b, -a), (b, -a), (b, -b), (a, -b), (a, b), (b, b), (b, a), (-b, a), (-b, b), (-a, b), (-a, -b), (-b, -b)]
        c, s = math.cos(rot), math.sin(rot)
        pts = [(x * c - y * s, x * s + y * c) for x, y in base]
    else:
        raise ValueError(kind)
    return [(cx + r * x, cy + r * y) for x, y in pts]


def _object_color(rng: random.Random, bg: tuple[int, int, int]) -> tuple[int, int, int]:
    # Objects differ from their surroundings, but not always strongly.
    for _ in range(20):
        col = tuple(rng.randint(0, 255) for _ in range(3))
        if sum(abs(a - b) for a, b in zip(col, bg)) > 140:
            return col
    return tuple(255 - v for v in bg)


def _visible_boxes(objects, ids) -> list[tuple[str, float, float, float, float]]:
    """The labels a person would give: `objects` are (kind, x1, y1, x2, y2, pixel area when alone)
    in drawing order, `ids` the index (1-based) of the object each pixel shows, 0 for background.

    Objects drawn later may hide earlier ones. An object hidden for the most part is not labeled
    (nobody can tell what it is); a partly hidden one gets the box of its visible part (COCO's
    convention); an object in full view keeps its exact box.
    """
    boxes = []
    for k, (kind, x1, y1, x2, y2, area) in enumerate(objects, 1):
        ys, xs = np.nonzero(ids == k)
        if len(xs) == 0 or len(xs) < MIN_VISIBLE * area:
            continue
        if len(xs) < area:
            x1, y1 = max(x1, float(xs.min())), max(y1, float(ys.min()))
            x2, y2 = min(x2, float(xs.max() + 1)), min(y2, float(ys.max() + 1))
        boxes.append((kind, x1, y1, x2, y2))
    return boxes


def _scene(rng: random.Random, w: int, h: int) -> tuple[Image.Image, list[tuple[str, float, float, float, float]]]:
    img = _background(rng, w, h)
    draw = ImageDraw.Draw(img)
    # which object each pixel shows (0: background), to label only what a person can see
    shown = Image.new("L", (w, h), 0)
    shown_draw = ImageDraw.Draw(shown)
    n = 0 if rng.random() < 0.08 else rng.randint(1, 6)
    objects: list[tuple[str, float, float, float, float, int]] = []
    for k in range(1, n + 1):
        kind = rng.choice(CLASSES)
        r = rng.uniform(10, min(w, h) * 0.22)
        cx, cy = rng.uniform(r * 0.6, w - r * 0.6), rng.uniform(r * 0.6, h - r * 0.6)
        bg = img.getpixel((int(min(max(cx, 0), w - 1)), int(min(max(cy, 0), h - 1))))
        col = _object_color(rng, bg)
        outline = tuple(int(v * 0.5) for v in col) if rng.random() < 0.5 else None
        alone = Image.new("L", (w, h), 0)
        if kind == "circle":
            ry = r * rng.uniform(0.85, 1.0)
            ellipse = (cx - r, cy - ry, cx + r, cy + ry)
            draw.ellipse(ellipse, fill=col, outline=outline, width=2)
            shown_draw.ellipse(ellipse, fill=k)
            ImageDraw.Draw(alone).ellipse(ellipse, fill=1)
            x1, y1, x2, y2 = ellipse
        else:
            pts = _polygon(kind, cx, cy, r, rng.uniform(0, 2 * math.pi) if kind != "square" else rng.uniform(-0.3, 0.3))
            draw.polygon(pts, fill=col, outline=outline)
            shown_draw.polygon(pts, fill=k)
            ImageDraw.Draw(alone).polygon(pts, fill=1)
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            x1, y1, x2, y2 = min(xs), min(ys), max(xs), max(ys)
        x1, y1, x2, y2 = max(0.0, x1), max(0.0, y1), min(float(w), x2), min(float(h), y2)
        objects.append((kind, x1, y1, x2, y2, int(np.count_nonzero(np.asarray(alone)))))
    boxes = _visible_boxes(objects, np.asarray(shown))
    # lighting: a global brightness/contrast change and a little blur, as from a camera
    arr = np.asarray(img, float)
    gain, bias = rng.uniform(0.7, 1.25), rng.uniform(-30, 30)
    arr = np.clip((arr - 128) * rng.uniform(0.75, 1.15) + 128 * gain + bias - 128 * (gain - 1) * 0.5, 0, 255)
    img = Image.fromarray(arr.astype(np.uint8))
    if rng.random() < 0.3:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.2)))
    return img, boxes


def write_demo(folder: str | os.PathLike, n_images: int = 200, n_reviewed: int = 40, seed: int = 0,
               progress: Callable[[int, int], None] | None = None) -> Path:
    """Write the demo scenes into `folder` and make it a project: classes, and the first
    `n_reviewed` scenes labeled by a "person" and reviewed. Returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    labels = []
    for i in range(n_images):
        w, h = rng.choice(SIZES)
        img, boxes = _scene(rng, w, h)
        name = f"scenes/scene_{i:03d}.{'png' if i % 10 == 9 else 'jpg'}"
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".jpg"):
            atomic_write(path, lambda fh: img.save(fh, format="JPEG", quality=90), durable=False)
        else:
            atomic_write(path, lambda fh: img.save(fh, format="PNG"), durable=False)
        labels.append((name, boxes))
        if progress:
            progress(i + 1, n_images + 1)
    with Project.open(folder) as project:
        project.scan()
        with project.batch():
            cats = {}
            for name, color in zip(CLASSES, CLASS_COLORS):
                existing = project.category_by_name(name)
                cats[name] = existing.id if existing else project.add_category(name, color).id
            for name, boxes in labels[:n_reviewed]:
                image = project.image_by_path(name)
                if project.boxes(image.id):
                    continue  # written before: keep the person's edits
                project.add_boxes(image.id, [(cats[k], x1, y1, x2, y2) for k, x1, y1, x2, y2 in boxes],
                                  skip_degenerate=True)
                project.set_reviewed(image.id, True)
        project.set_setting(DEMO_SETTING, True)
    if progress:
        progress(n_images + 1, n_images + 1)
    return folder


#: project setting that marks the built-in demo (its first screen leads through the loop)
DEMO_SETTING = "demo"


class DemoStep(NamedTuple):
    action: str  # "fine-tune" or "pre-label"
    text: str  # the step in words, for the guide above the canvas


def demo_step(project: Project) -> DemoStep | None:
    """The next step of the loop on the demo, or None when the project is not the demo (or is done).

    The COCO models know none of the demo's shapes (0 of their 80 classes map to them), so the loop
    that works on it starts with fine-tuning from scratch on the 40 labeled scenes, then pre-labels the
    rest with the result."""
    if not project.get_setting(DEMO_SETTING, False):
        return None
    trained = any(r.checkpoint_path is not None and r.best_map50 for r in load_runs(project))
    unlabeled = sum(1 for im in project.images() if im.needs_review)
    if not trained:
        return DemoStep("fine-tune", "Demo: start with Fine-tune (from scratch: mAP@0.5 0.7 takes 3 to 4 minutes "
                        "on a fast 2-core CPU, more than 10 on a slow one), then pre-label the other scenes with the result. The COCO "
                        "models know none of these shapes.")
    if unlabeled:
        return DemoStep("pre-label", f"Demo: a fine-tuned model is ready. Pre-label the {counted(unlabeled, 'scene')} "
                        "not yet reviewed with it (the Pre-label panel's Pre-label button), then correct them (Space accepts "
                        "and goes on) and fine-tune again.")
    return None
