"""Box geometry for the canvas as plain functions over (x1, y1, x2, y2) tuples in image pixels.

No Qt here: the canvas turns mouse positions into numbers, these functions decide where a box may
go (inside the image, at least a minimum size), and the result becomes a core command. Keeping the
rules here makes them testable without a display and keeps the Qt items dumb.
"""

from __future__ import annotations

from labeler.core.geometry import clip_box

Rect = tuple[float, float, float, float]

#: the eight resize handles, clockwise from the top-left corner; a handle is its index here
HANDLES = ("top-left", "top", "top-right", "right", "bottom-right", "bottom", "bottom-left", "left")

# which edges a handle drags: (x1, y1, x2, y2)
_EDGES = (
    (1, 1, 0, 0), (0, 1, 0, 0), (0, 1, 1, 0), (0, 0, 1, 0),
    (0, 0, 1, 1), (0, 0, 0, 1), (1, 0, 0, 1), (1, 0, 0, 0),
)


def _clamp(v: float, lo: float, hi: float) -> float:
    return lo if v < lo else hi if v > hi else v


def normalized(x1: float, y1: float, x2: float, y2: float) -> Rect:
    """The same rectangle with x1 <= x2 and y1 <= y2 (a drag may go up or left)."""
    return (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))


def clamp_point(x: float, y: float, width: float, height: float) -> tuple[float, float]:
    return _clamp(x, 0.0, width), _clamp(y, 0.0, height)


def handle_points(rect: Rect) -> list[tuple[float, float]]:
    """Centres of the eight handles, in HANDLES order."""
    x1, y1, x2, y2 = rect
    xm, ym = (x1 + x2) / 2, (y1 + y2) / 2
    return [(x1, y1), (xm, y1), (x2, y1), (x2, ym), (x2, y2), (xm, y2), (x1, y2), (x1, ym)]


def handle_at(rect: Rect, x: float, y: float, tolerance: float) -> int | None:
    """The handle of `rect` within `tolerance` of (x, y), corners first; all in one coordinate
    system (the canvas uses screen pixels so handles keep their size at any zoom)."""
    best, best_d = None, tolerance
    for i in (0, 2, 4, 6, 1, 3, 5, 7):
        hx, hy = handle_points(rect)[i]
        d = max(abs(hx - x), abs(hy - y))
        if d <= best_d:
            best, best_d = i, d
    return best


def resize(rect: Rect, handle: int, x: float, y: float, width: float, height: float, min_size: float) -> Rect:
    """`rect` with the edges of `handle` dragged to (x, y): kept inside the image and at least
    `min_size` wide and high. Dragging an edge past the opposite one stops at `min_size` instead of
    flipping the box, so a resize can never produce a sliver."""
    x, y = clamp_point(x, y, width, height)
    x1, y1, x2, y2 = rect
    m = _EDGES[handle]
    min_w, min_h = min(min_size, width), min(min_size, height)
    if m[0]:
        x1 = min(x, x2 - min_w)
    if m[2]:
        x2 = max(x, x1 + min_w)
    if m[1]:
        y1 = min(y, y2 - min_h)
    if m[3]:
        y2 = max(y, y1 + min_h)
    # the minimum may have pushed the dragged edge out of the image: slide the box back in
    if x1 < 0:
        x1, x2 = 0.0, max(x2, min_w)
    if x2 > width:
        x1, x2 = min(x1, width - min_w), float(width)
    if y1 < 0:
        y1, y2 = 0.0, max(y2, min_h)
    if y2 > height:
        y1, y2 = min(y1, height - min_h), float(height)
    return (x1, y1, x2, y2)


def group_delta(rects: list[Rect], dx: float, dy: float, width: float, height: float) -> tuple[float, float]:
    """The part of a (dx, dy) move that keeps every box of a selection whole inside the image.

    The selection moves as a group, so its shape never changes at an edge. Because each step is
    feasible on its own, consecutive nudges add up exactly (the undo stack merges them by summing).
    """
    if not rects:
        return 0.0, 0.0
    lo_x = -min(r[0] for r in rects)
    hi_x = width - max(r[2] for r in rects)
    lo_y = -min(r[1] for r in rects)
    hi_y = height - max(r[3] for r in rects)
    return _clamp(dx, min(lo_x, 0.0), max(hi_x, 0.0)), _clamp(dy, min(lo_y, 0.0), max(hi_y, 0.0))


def moved(rect: Rect, dx: float, dy: float) -> Rect:
    return (rect[0] + dx, rect[1] + dy, rect[2] + dx, rect[3] + dy)


def fit_into(rects: list[Rect], width: float, height: float, min_size: float) -> list[Rect | None]:
    """Boxes copied from another image, clipped to this one; None where too little is left."""
    return [clip_box(*r, width, height, min_size) for r in rects]
