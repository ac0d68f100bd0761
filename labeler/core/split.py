"""The validation split: which reviewed images fine-tuning keeps aside to measure mAP on.

One rule, used by training (labeler.ml.dataset) and by the image list's italic mark, so the mark
shows exactly the images a run validates on. An image's side comes from a hash of its relative
path (stable across runs, machines and edits, so a validation image never leaks into training);
when every image falls on one side, the one whose hash is nearest the boundary moves over.
"""

from __future__ import annotations

import hashlib
from typing import Iterable

DEFAULT_VAL_FRACTION = 0.2


def _unit(path: str) -> float:
    digest = hashlib.sha1(path.replace("\\", "/").encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0 ** 64


def split_of(path: str, val_fraction: float = DEFAULT_VAL_FRACTION) -> str:
    """"train" or "val" for one image by its hash alone (before any boundary move)."""
    return "val" if _unit(path) < val_fraction else "train"


def validation_paths(paths: Iterable[str], val_fraction: float = DEFAULT_VAL_FRACTION) -> set[str]:
    """The paths kept for validation among the images a run trains on: split_of, then at least one
    image on each side when there are two or more."""
    units = {p: _unit(p) for p in paths}
    val = {p for p, u in units.items() if u < val_fraction}
    if len(units) >= 2 and not val:
        val = {min(units, key=units.get)}
    elif len(units) >= 2 and len(val) == len(units):
        val.discard(max(units, key=units.get))
    return val
