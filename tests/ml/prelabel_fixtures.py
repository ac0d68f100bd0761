"""Tiny models and image folders for the pre-labeling tests (made at run time)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

ARCH = "fasterrcnn_mobilenet_v3_large_320_fpn"
CLASSES = ["cat", "dog"]
MIN_SIZE, MAX_SIZE = 64, 128


def tiny_model(seed: int = 0, num_classes: int = len(CLASSES) + 1, arch: str = ARCH):
    import torch

    from labeler.ml.models import build_model

    torch.manual_seed(seed)
    # a low score threshold: random weights score every class near 1/num_classes
    model = build_model(arch, num_classes, min_size=MIN_SIZE, max_size=MAX_SIZE, box_score_thresh=0.05).eval()
    with torch.no_grad():
        # Freshly initialised heads barely move boxes off their anchors; stronger weights make the
        # output depend on the pixels, so a test comparing outputs sees a different input.
        for head in (model.rpn.head, model.roi_heads.box_predictor):
            for p in head.parameters():
                p.mul_(20)
    return model


def save_tiny_checkpoint(path: Path, seed: int = 0, classes=CLASSES, arch: str = ARCH, model=None) -> Path:
    from labeler.ml.checkpoint import save_checkpoint

    model = model if model is not None else tiny_model(seed, len(classes) + 1)
    return save_checkpoint(path, model.state_dict(), {"architecture": arch, "classes": list(classes),
                                                      "min_size": MIN_SIZE, "max_size": MAX_SIZE})


def textured(size, seed: int = 0) -> Image.Image:
    """A smooth random picture (blobs, not noise) so the detector's proposals vary across it."""
    rng = np.random.default_rng(seed)
    small = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8), "RGB")
    return small.resize(size, Image.Resampling.BICUBIC)


def exif_rotated(path: Path, stored_size=(120, 80), orientation: int = 6, seed: int = 1) -> Path:
    exif = Image.Exif()
    exif[0x0112] = orientation
    textured(stored_size, seed).save(path, exif=exif.tobytes(), quality=95)
    return path


def make_folder(root: Path, big: bool = False) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    textured((100, 80), 2).save(root / "a.jpg", quality=95)
    textured((90, 120), 3).save(root / "b.png")
    exif_rotated(root / "rot.jpg")
    if big:
        textured((4000, 3000), 4).save(root / "big.jpg", quality=85)  # 12 megapixels
    return root
