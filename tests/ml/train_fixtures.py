"""Tiny projects for the training tests: 64-px images of coloured squares, made at run time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from labeler.core.store import Project

SIZE = 64


def tiny_settings(**kw):
    from labeler.ml.train import TrainSettings

    base = dict(architecture="fasterrcnn_small_fpn", epochs=1, start="scratch", device="cpu", batch_size=2,
                repeat=1, min_size=SIZE, max_size=SIZE, workers=0)
    base.update(kw)
    return TrainSettings(**base)


def picture(path: Path, squares, seed: int = 0, size=(SIZE, SIZE)) -> None:
    """A noisy grey picture with filled squares (x1, y1, x2, y2, rgb)."""
    rng = np.random.default_rng(seed)
    arr = rng.integers(90, 140, (size[1], size[0], 3)).astype(np.uint8)
    for x1, y1, x2, y2, rgb in squares:
        arr[y1:y2, x1:x2] = rgb
    Image.fromarray(arr).save(path)


def make_project(root: Path, n_images: int = 5, classes=("red", "blue"), reviewed: int | None = None,
                 boxes: bool = True) -> Path:
    """`n_images` pictures, each with one square per class; the first `reviewed` (default all) are
    labeled and reviewed."""
    root.mkdir(parents=True, exist_ok=True)
    colors = [(220, 30, 30), (30, 30, 220), (30, 200, 30)]
    reviewed = n_images if reviewed is None else reviewed
    specs = []
    for i in range(n_images):
        squares = []
        for k, _ in enumerate(classes):
            x = 4 + (i * 7 + k * 30) % 36
            y = 6 + (i * 11 + k * 23) % 34
            squares.append((x, y, x + 18, y + 18, colors[k % 3]))
        picture(root / f"img_{i}.png", squares, seed=i)
        specs.append(squares)
    with Project.open(root) as p:
        p.scan()
        cats = [p.add_category(name) for name in classes]
        for i, im in enumerate(p.images()):
            if i >= reviewed:
                break
            if boxes:
                p.add_boxes(im.id, [(cats[k].id, *sq[:4]) for k, sq in enumerate(specs[i])])
            p.set_reviewed(im.id)
    return root
