"""What the canvas draws: the image and one item per box.

A BoxItem holds a box id and a copy of what it needs to paint (rect, colour, label); the store
stays the truth and the canvas re-syncs items from it. Items do not handle the mouse: the canvas
does, with the plain functions in canvas.geometry.

Paint cost matters (a view of 1,000 boxes must paint well under 16 ms), so:
- pens, brushes, fonts and label texts (QStaticText) are built once and cached by colour/text;
- a box paints in screen pixels (world transform reset), so lines and labels keep their size at
  any zoom without cosmetic-pen work, and handles are drawn only on selected boxes;
- the bounding rect is computed when the rect or the zoom changes, not on every query.

Labels ("star 0.76") are placed by LabelPlacer so crowded boxes' labels do not cover each other
(above the box, inside its top, below, inside its bottom; the first free spot), up to
PLACE_LABELS_UP_TO boxes an image.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QImage, QPainter, QPen, QStaticText, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem

from shiboken6 import isValid

from labeler.core.store import PREDICTED, Box

#: handle squares, screen pixels (side)
HANDLE_PX = 7.0
#: how near (screen pixels) a press must be to a handle to grab it
HANDLE_GRAB_PX = 6.0
LINE_PX = 2.0

_IDENTITY = QTransform()
_ONE_PX = QTransform.fromTranslate(1, 1)
_NO_BRUSH = QBrush(Qt.BrushStyle.NoBrush)
_NO_PEN = QPen(Qt.PenStyle.NoPen)
_HANDLE_BRUSH = QBrush(QColor("white"))


def label_font() -> QFont:
    f = QFont()
    f.setPixelSize(11)
    return f


class BoxStyle:
    """Pens and brushes for one class colour and kind (prediction or not), built once."""

    _cache: dict[tuple[str, bool], "BoxStyle"] = {}

    def __init__(self, color: str, predicted: bool):
        c = QColor(color)
        if not c.isValid():
            c = QColor("#ff00ff")  # a bad colour in the store must not hide boxes
        dash = Qt.PenStyle.DashLine if predicted else Qt.PenStyle.SolidLine
        # the 2 px border is two 1 px rects: 1 px pens take the raster engine's fast path, a
        # 2 px dashed pen goes through the stroker at three times the cost
        self.pen = QPen(c, 1, Qt.PenStyle.SolidLine)
        if predicted:
            self.pen.setDashPattern([5, 3])
        self.pen_selected = QPen(c, LINE_PX + 1, dash)
        self.pen_selected.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
        fill = QColor(c)
        fill.setAlpha(48)
        self.fill = QBrush(fill)
        label = QColor(c)
        label.setAlpha(150 if predicted else 210)
        self.label_brush = QBrush(label)
        dark = 0.299 * c.red() + 0.587 * c.green() + 0.114 * c.blue() > 150
        self.text_pen = QPen(QColor("black") if dark else QColor("white"))
        self.handle_pen = QPen(c, 1)

    @classmethod
    def get(cls, color: str, predicted: bool) -> "BoxStyle":
        key = (color, predicted)
        style = cls._cache.get(key)
        if style is None:
            style = cls._cache[key] = cls(color, predicted)
        return style


class Labels:
    """QStaticText per label string: laid out once, drawn many times."""

    def __init__(self):
        self.font = label_font()
        self._metrics = QFontMetricsF(self.font)
        self.height = self._metrics.height() + 2
        self._texts: dict[str, tuple[QStaticText, float]] = {}

    def get(self, text: str) -> tuple[QStaticText, float]:
        hit = self._texts.get(text)
        if hit is None:
            if len(self._texts) > 4096:  # scores make many distinct strings; keep memory bounded
                self._texts.clear()
            st = QStaticText(text)
            st.setTextFormat(Qt.TextFormat.PlainText)
            st.prepare(QTransform(), self.font)
            hit = self._texts[text] = (st, self._metrics.horizontalAdvance(text) + 6)
        return hit


#: above this many boxes on an image, labels take the plain rule (above, else inside) without
#: avoiding each other: placing 1,000 costs ~15 ms a frame, and at that density none would read
PLACE_LABELS_UP_TO = 300


class LabelPlacer:
    """Places box labels (screen pixels) so labels of crowded boxes do not cover each other.

    Each label tries, in order: above the box's top-left corner, inside its top, below it, inside
    its bottom; the first spot no earlier label overlaps wins (all taken: above, or inside when
    above is off screen). Placed rects are kept in a coarse grid, so each try checks a few
    neighbours, not every label."""

    CELL = 64.0

    def __init__(self, height: float, plain: bool = False):
        self.h, self.plain = height, plain
        self._grid: dict[tuple[int, int], list[tuple[float, float, float, float]]] = {}

    def _cells(self, x1: float, y1: float, x2: float, y2: float):
        c = self.CELL
        for gx in range(int(x1 // c), int(x2 // c) + 1):
            for gy in range(int(y1 // c), int(y2 // c) + 1):
                yield gx, gy

    def _free(self, x1: float, y1: float, x2: float, y2: float) -> bool:
        for cell in self._cells(x1, y1, x2, y2):
            for a1, b1, a2, b2 in self._grid.get(cell, ()):
                if x1 < a2 and a1 < x2 and y1 < b2 and b1 < y2:
                    return False
        return True

    def place(self, left: float, top: float, bottom: float, width: float) -> tuple[float, float]:
        """The label's top-left corner for a box with these screen edges and a label this wide."""
        h, x = self.h, left - 1
        if self.plain:
            return x, (top - h - 1 if top >= h + 1 else top + 1)
        spots = [top + 1, bottom + 1, bottom - h - 1]
        if top >= h + 1:
            spots.insert(0, top - h - 1)
        y = next((y for y in spots if self._free(x, y, x + width, y + h)), spots[0])
        rect = (x, y, x + width, y + h)
        for cell in self._cells(*rect):
            self._grid.setdefault(cell, []).append(rect)
        return x, y


def box_label(name: str, box: Box) -> str:
    if box.state == PREDICTED and box.score is not None:
        return f"{name} {box.score:.2f}"
    return name


class BoxItem(QGraphicsRectItem):
    """One box on the canvas: a box id, and a copy of its rect, class and state to draw.

    It is found by clicks and rubber bands (its shape is its rect) and can be selected, but it
    paints nothing itself (ItemHasNoContents): its BoxLayer paints all boxes in one pass, so every
    change that shows (rect, style, selection, visibility) marks its area dirty on the layer.
    Geometry queries stay in C++ (QGraphicsRectItem): the scene asks every item for its bounding
    rect on every frame, and 1,000 Python calls would cost milliseconds."""

    def __init__(self, box: Box, color: str, name: str, layer: "BoxLayer"):
        super().__init__()
        self.box_id = box.id
        self.layer = layer
        self.setPen(_NO_PEN)  # shape == rect: clicks inside the box hit it, labels do not
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # the canvas handles the mouse
        self.selected, self.shown = False, True
        self._rect = QRectF()
        self.bounds = QRectF()  # rect plus label and handles, where the layer paints this box
        self.label_at: tuple[float, float] | None = None  # where the layer last put the label (screen)
        self.set_box(box, color, name)

    # -- data
    def set_box(self, box: Box, color: str, name: str) -> None:
        self.box = box
        self.predicted = box.state == PREDICTED
        self.style = BoxStyle.get(color, self.predicted)
        self.label, self.label_width = self.layer.labels.get(box_label(name, box))
        self.set_rect(box.rect)
        self.dirty()
        self._update_bounds()
        self.dirty()

    def image_rect(self) -> tuple[float, float, float, float]:
        """The rect as drawn now (a drag in progress shows here before it reaches the store)."""
        r = self._rect
        return (r.left(), r.top(), r.right(), r.bottom())

    def set_rect(self, rect: tuple[float, float, float, float]) -> None:
        x1, y1, x2, y2 = rect
        r = QRectF(x1, y1, x2 - x1, y2 - y1)
        if r != self._rect:
            self.dirty()
            self._rect = r
            self.setRect(r)
            self._update_bounds()
            # smaller boxes on top, so a box inside another stays clickable
            self.setZValue(-r.width() * r.height())
            self.dirty()

    def zoom_changed(self) -> None:
        self._update_bounds()

    def _update_bounds(self) -> None:
        px = self.layer.screen_px
        pad = (HANDLE_PX + LINE_PX) * px
        top = max(pad, (self.layer.labels.height + LINE_PX) * px)
        right = max(pad, self.label_width * px - self._rect.width()) if self.label is not None else pad
        self.bounds = self._rect.adjusted(-pad, -top, right, top)  # the label may sit below the box

    def dirty(self) -> None:
        if not self.bounds.isNull():
            self.layer.update(self.bounds)

    def itemChange(self, change, value):
        # mirrored in plain attributes: the layer reads them for every box on every frame
        if change == QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged:
            self.selected = bool(value)
            self.dirty()
        elif change == QGraphicsItem.GraphicsItemChange.ItemVisibleHasChanged:
            self.shown = bool(value)
            self.dirty()
        return super().itemChange(change, value)


class BoxLayer(QGraphicsItem):
    """Paints every box of the image in one pass, in screen pixels.

    One Python call per frame instead of one per box, rectangles batched per pen and label
    backgrounds per brush: 1,000 boxes cost a few milliseconds. Lines and labels keep their screen
    size at any zoom because they are drawn after resetting the world transform."""

    def __init__(self):
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.labels = Labels()
        #: screen pixels -> scene units (1 / view scale); the canvas sets it when the zoom changes
        self.screen_px = 1.0
        self._items: list[BoxItem] = []
        self._area = QRectF()

    def set_area(self, rect: QRectF) -> None:
        """Where boxes (and their labels) can be: the scene rect."""
        self.prepareGeometryChange()
        self._area = QRectF(rect)

    def set_items(self, items: list[BoxItem]) -> None:
        """The boxes to paint, bottom first (large boxes under small ones)."""
        self._items = sorted(items, key=lambda it: -it._rect.width() * it._rect.height())
        self.update()

    def boundingRect(self) -> QRectF:
        return self._area

    def paint(self, painter: QPainter, option, widget=None) -> None:
        # the per-box loop is the paint cost: plain attribute reads, few Qt calls per box
        exposed = option.exposedRect
        world = painter.worldTransform()
        map_rect = world.mapRect
        h = self.labels.height
        groups: dict[BoxStyle, tuple[list, list, list]] = {}
        selected = []
        # labels are placed among every box in view (not only the exposed ones), so a partial
        # repaint puts each label where a full one would
        placer = LabelPlacer(h, plain=len(self._items) > PLACE_LABELS_UP_TO)
        visible = world.inverted()[0].mapRect(QRectF(widget.rect())) if widget is not None else exposed
        moved: list[QRectF] = []
        for it in self._items:
            if not it.shown or not it.bounds.intersects(visible):
                continue
            r = map_rect(it._rect)
            if r.width() >= 4:
                at = placer.place(r.left(), r.top(), r.bottom(), it.label_width)
                if at != it.label_at:
                    if it.label_at is not None:  # it moved because a neighbour did: repaint both spots
                        moved.append(QRectF(it.label_at[0], it.label_at[1], it.label_width, h))
                        moved.append(QRectF(at[0], at[1], it.label_width, h))
                    it.label_at = at
            else:
                at = None
            if not it.bounds.intersects(exposed):
                continue
            st = it.style
            g = groups.get(st)
            if g is None:
                g = groups[st] = ([], [], [])  # border rects, label rects, label texts
            g[0].append(r)
            if at is not None:
                x, y = at
                g[1].append(QRectF(x, y, it.label_width, h))
                g[2].append((int(x + 3), int(y + 1), it.label))
            if it.selected:
                selected.append((it, r))
        if moved:
            back = world.inverted()[0]
            area = back.mapRect(moved[0])
            for m in moved[1:]:
                area = area.united(back.mapRect(m))
            QTimer.singleShot(0, lambda: isValid(self) and self.update(area))
        if not groups:
            return
        painter.setBrush(_NO_BRUSH)
        # a 2 px border as the same 1 px rects drawn twice, one pixel apart: 1 px pens take the
        # raster engine's fast path, a 2 px (dashed) pen the stroker at several times the cost
        for shift in (_IDENTITY, _ONE_PX):
            painter.setWorldTransform(shift)
            for st, (rects, _labels, _texts) in groups.items():
                painter.setPen(st.pen)
                painter.drawRects(rects)
        painter.setWorldTransform(_IDENTITY)  # from here on, screen pixels
        painter.setFont(self.labels.font)
        for st, (_rects, label_rects, texts) in groups.items():
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(st.label_brush)
            painter.drawRects(label_rects)
            painter.setPen(st.text_pen)
            for x, y, text in texts:
                painter.drawStaticText(x, y, text)
        s = HANDLE_PX
        for it, r in selected:
            st = it.style
            painter.setPen(st.pen_selected)
            painter.setBrush(st.fill)
            painter.drawRect(r)
            painter.setPen(st.handle_pen)
            painter.setBrush(_HANDLE_BRUSH)
            x1, y1, x2, y2 = r.left(), r.top(), r.right(), r.bottom()
            xm, ym = (x1 + x2) / 2, (y1 + y2) / 2
            painter.drawRects([QRectF(x - s / 2, y - s / 2, s, s)
                               for x, y in ((x1, y1), (xm, y1), (x2, y1), (x2, ym), (x2, y2), (xm, y2), (x1, y2), (x1, ym))])
        painter.setWorldTransform(world)


class ImageItem(QGraphicsItem):
    """The image, drawn into its full-resolution rect whatever size it was decoded at. Until the
    pixels arrive (or when there are none) it paints a plain placeholder."""

    def __init__(self):
        super().__init__()
        self.setZValue(-1e18)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)
        self._rect = QRectF()
        self._image = QImage()
        self._placeholder = QBrush(QColor(60, 60, 60))

    def set_size(self, width: int, height: int) -> None:
        self.prepareGeometryChange()
        self._rect = QRectF(0, 0, width, height)
        self._image = QImage()
        self.update()

    def set_image(self, image: QImage) -> None:
        self._image = image
        self.update()

    def has_pixels(self) -> bool:
        return not self._image.isNull()

    def image(self) -> QImage:
        return self._image

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if self._image.isNull():
            painter.fillRect(self._rect, self._placeholder)
            return
        # smooth when shrinking (readable), nearest when magnifying (pixels stay crisp for precise boxes)
        scale = painter.worldTransform().m11() * self._rect.width() / self._image.width()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, scale < 1.0)
        # only the exposed part: moving a box repaints a small region of a big image
        exposed = option.exposedRect.intersected(self._rect)
        if exposed.isEmpty():
            return
        # snap to whole source pixels, so neighbouring repaints sample the same pixels (no seams)
        sx = self._image.width() / self._rect.width()
        sy = self._image.height() / self._rect.height()
        left, top = math.floor(exposed.left() * sx), math.floor(exposed.top() * sy)
        right = min(math.ceil(exposed.right() * sx), self._image.width())
        bottom = min(math.ceil(exposed.bottom() * sy), self._image.height())
        source = QRectF(left, top, right - left, bottom - top)
        target = QRectF(left / sx, top / sy, (right - left) / sx, (bottom - top) / sy)
        painter.drawImage(target, self._image, source)
