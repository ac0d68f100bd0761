"""The one rule for a box's rectangle: how it is put in order, clipped to its image, and when it is
too small to keep. The store, the commands, every importer, the canvas and the training data all
call `clip_box`, so a box one of them accepts is a box all of them accept. `iou` is the overlap the
rounds and the review threshold's estimate match predictions to kept boxes by.
"""

from __future__ import annotations

from .records import MIN_BOX_SIZE


def clip_box(x1: float, y1: float, x2: float, y2: float, width: float, height: float,
             min_size: float = MIN_BOX_SIZE) -> tuple[float, float, float, float] | None:
    """The rectangle put in order (x1 <= x2, y1 <= y2) and clipped to a width x height image, or
    None when what is left inside the image is less than `min_size` pixels wide or high.

    A width or height of 0 (an image whose size is unknown) clips nothing on that axis.
    """
    if x2 < x1:
        x1, x2 = x2, x1
    if y2 < y1:
        y1, y2 = y2, y1
    if width > 0:
        x1, x2 = min(max(x1, 0.0), float(width)), min(max(x2, 0.0), float(width))
    if height > 0:
        y1, y2 = min(max(y1, 0.0), float(height)), min(max(y2, 0.0), float(height))
    if not (x2 - x1 >= min_size and y2 - y1 >= min_size):  # also refuses NaN
        return None
    return float(x1), float(y1), float(x2), float(y2)


def iou(a, b) -> float:
    """Intersection over union of two (x1, y1, x2, y2) rectangles; 0 when they have no area."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
