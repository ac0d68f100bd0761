"""Mouse gestures of the canvas: draw, move, resize by a handle, rubber band, pan; cursor feedback.

A mixin of Canvas, kept apart so each module has one job. A gesture starts on press, shows its
effect on the items while the mouse moves (nothing is written yet), and becomes one core command on
release, so one drag is one undo step. The rules of where a box may go are the plain functions in
canvas.geometry; this module only converts between screen and image pixels.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QMouseEvent, QPen
from PySide6.QtWidgets import QApplication

from labeler.core.geometry import clip_box
from labeler.core.store import MIN_BOX_SIZE
from labeler.gui.canvas import geometry as geo
from labeler.gui.canvas.items import HANDLE_GRAB_PX, BoxItem

#: a drawn box must be at least this many screen pixels wide and high (less is a click)
MIN_DRAW_PX = 4.0


class _Gesture:
    """A mouse drag in progress: kind is draw, move, resize, band or pan."""

    def __init__(self, kind: str, start: QPointF, view_pos: QPointF):
        self.kind, self.start, self.view_start, self.last_view = kind, start, view_pos, view_pos
        self.active = kind in ("draw", "pan")  # move/resize/band wait for the drag distance
        self.items: list[BoxItem] = []
        self.before: list[tuple] = []
        self.handle: int | None = None
        self.rect: tuple | None = None
        self.delta = (0.0, 0.0)
        self.additive = False



class MouseGestures:
    """Mouse handling for Canvas (uses its scene, items, editor and image size)."""

    def _scene_pos(self, view_pos: QPointF) -> QPointF:
        inverse, _ok = self.viewportTransform().inverted()  # sub-pixel: precise when zoomed in
        return inverse.map(view_pos)

    def _image_size(self) -> tuple[int, int]:
        rec = self._record
        return (rec.width, rec.height) if rec is not None and not self._error else (0, 0)

    def _box_at(self, view_pos: QPointF) -> BoxItem | None:
        for item in self.items(view_pos.toPoint()):
            if isinstance(item, BoxItem) and item.isVisible():
                return item
        return None

    def _handle_at(self, view_pos: QPointF) -> tuple[BoxItem, int] | None:
        selected = self._selected_items()
        if len(selected) > 50:  # handles are only drawn (and only useful) on a few boxes
            return None
        for item in selected:
            x1, y1, x2, y2 = item.image_rect()
            a, b = self.mapFromScene(QPointF(x1, y1)), self.mapFromScene(QPointF(x2, y2))
            h = geo.handle_at((a.x(), a.y(), b.x(), b.y()), view_pos.x(), view_pos.y(), HANDLE_GRAB_PX)
            if h is not None:
                return item, h
        return None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        if self._gesture is not None:
            event.accept()
            return
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (button == Qt.MouseButton.LeftButton and self._space):
            self._gesture = _Gesture("pan", self._scene_pos(pos), pos)
            self._space_panned = self._space_panned or self._space  # its release is not accept-and-next
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        if button != Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        w, h = self._image_size()
        scene = self._scene_pos(pos)
        if self._draw_mode:
            if not w:
                self.message.emit("This image cannot be shown, so no boxes can be drawn on it.")
                return
            x, y = geo.clamp_point(scene.x(), scene.y(), w, h)
            self._gesture = g = _Gesture("draw", QPointF(x, y), pos)
            g.rect = (x, y, x, y)
            self._show_preview(g.rect, dashed=False)
            event.accept()
            return
        ctrl = bool(event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier))
        grab = None if ctrl else self._handle_at(pos)
        if grab is not None:
            item, handle = grab
            self._gesture = g = _Gesture("resize", scene, pos)
            g.items, g.handle, g.before = [item], handle, [item.image_rect()]
            g.rect = item.image_rect()
        else:
            item = self._box_at(pos)
            if item is not None and ctrl:
                item.setSelected(not item.isSelected())
            elif item is not None:
                if not item.isSelected():
                    self._scene.clearSelection()
                    item.setSelected(True)
                self._gesture = g = _Gesture("move", scene, pos)
                g.items = self._selected_items()
                g.before = [i.image_rect() for i in g.items]
            else:
                self._gesture = g = _Gesture("band", scene, pos)
                g.additive = ctrl
                if not ctrl:
                    self._scene.clearSelection()
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        scene = self._scene_pos(pos)
        self._report_cursor(pos, scene)
        g = self._gesture
        if g is None:
            self._update_hover_cursor(pos)
            return
        if not g.active:
            if (pos - g.view_start).manhattanLength() < QApplication.startDragDistance():
                return
            g.active = True
        w, h = self._image_size()
        if g.kind == "pan":
            d = pos - g.last_view
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - round(d.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - round(d.y()))
        elif g.kind == "draw":
            x, y = geo.clamp_point(scene.x(), scene.y(), w, h)
            g.rect = geo.normalized(g.start.x(), g.start.y(), x, y)
            self._show_preview(g.rect, dashed=False)
        elif g.kind == "move":
            g.delta = geo.group_delta(g.before, scene.x() - g.start.x(), scene.y() - g.start.y(), w, h)
            for item, r in zip(g.items, g.before):
                item.set_rect(geo.moved(r, *g.delta))
        elif g.kind == "resize":
            g.rect = geo.resize(g.before[0], g.handle, scene.x(), scene.y(), w, h, self._min_box_size())
            g.items[0].set_rect(g.rect)
        elif g.kind == "band":
            g.rect = geo.normalized(g.start.x(), g.start.y(), scene.x(), scene.y())
            self._show_preview(g.rect, dashed=True)
        g.last_view = pos
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        g = self._gesture
        if g is None:
            super().mouseReleaseEvent(event)
            return
        self._gesture = None
        self._preview.hide()
        if g.kind == "pan":
            self._update_hover_cursor(event.position())
        elif g.active:
            self._finish(g)
        if self._sync_pending or g.kind in ("move", "resize"):
            self._sync_boxes()  # the store decides what the items show
        event.accept()

    def _finish(self, g: _Gesture) -> None:
        image_id = self._image_id
        if g.kind == "draw":
            r = clip_box(*g.rect, *self._image_size())  # the store's rule, in image pixels
            if r is None:
                self.message.emit("Too small for a box: drag further to draw one.")
                return
            ids = self.editor.add_boxes(image_id, [r], self._default_category)
            if ids:
                self.select_boxes(ids)
        elif g.kind == "move":
            if g.delta != (0.0, 0.0):
                self.editor.move(image_id, [i.box_id for i in g.items], *g.delta)
        elif g.kind == "resize":
            if g.rect != g.before[0]:
                self.editor.resize(image_id, g.items[0].box_id, g.rect)
        elif g.kind == "band" and g.rect is not None:
            band = QRectF(QPointF(g.rect[0], g.rect[1]), QPointF(g.rect[2], g.rect[3]))
            for item in self._scene.items(band, Qt.ItemSelectionMode.IntersectsItemShape):
                if isinstance(item, BoxItem) and item.isVisible():
                    item.setSelected(True)

    def _min_box_size(self) -> float:
        return max(MIN_BOX_SIZE, MIN_DRAW_PX / max(self.transform().m11(), 1e-9))

    def _show_preview(self, rect: tuple, dashed: bool) -> None:
        cat = self._categories.get(self.editor.category_for_new_boxes(self._default_category) if not dashed else -1)
        pen = QPen(QColor(cat.color if cat else "#ffffff"), 1.5,
                   Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
        pen.setCosmetic(True)
        self._preview.setPen(pen)
        self._preview.setBrush(QColor(255, 255, 255, 30) if dashed else Qt.BrushStyle.NoBrush)
        self._preview.setRect(QRectF(QPointF(rect[0], rect[1]), QPointF(rect[2], rect[3])))
        self._preview.show()

    def _cancel_gesture(self) -> bool:
        g, self._gesture = self._gesture, None
        self._preview.hide()
        if g is None:
            return False
        for item, r in zip(g.items, g.before):
            item.set_rect(r)
        if self._sync_pending:
            self._sync_boxes()
        return True

    def _report_cursor(self, pos: QPointF, scene: QPointF) -> None:
        w, h = self._image_size()
        inside = 0 <= scene.x() < w and 0 <= scene.y() < h
        self.cursor_moved.emit(scene.x() if inside else -1.0, scene.y() if inside else -1.0)
        if self._draw_mode:
            old, self._cursor_vp = self._cursor_vp, pos
            width, height = self.viewport().width(), self.viewport().height()
            for p in (old, pos):  # repaint only the strips under the old and new crosshair lines
                if p is not None:
                    self.viewport().update(QRect(0, round(p.y()) - 2, width, 5))
                    self.viewport().update(QRect(round(p.x()) - 2, 0, 5, height))

    def _update_hover_cursor(self, pos: QPointF) -> None:
        if self._draw_mode:
            shape = Qt.CursorShape.CrossCursor
        elif self._space:
            shape = Qt.CursorShape.OpenHandCursor
        elif (grab := self._handle_at(pos)) is not None:
            shape = (Qt.CursorShape.SizeFDiagCursor, Qt.CursorShape.SizeVerCursor, Qt.CursorShape.SizeBDiagCursor,
                     Qt.CursorShape.SizeHorCursor)[grab[1] % 4]
        elif (item := self._box_at(pos)) is not None and item.isSelected():
            shape = Qt.CursorShape.SizeAllCursor
        else:
            shape = Qt.CursorShape.ArrowCursor
        if self.viewport().cursor().shape() != shape:
            self.viewport().setCursor(shape)

    def leaveEvent(self, event) -> None:
        self.cursor_moved.emit(-1.0, -1.0)
        if self._cursor_vp is not None:
            self._cursor_vp = None
            self.viewport().update()
        super().leaveEvent(event)
