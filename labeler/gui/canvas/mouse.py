"""Mouse gestures of the canvas: draw, move, resize by a handle, rubber band, pan; cursor feedback.

An object owned by Canvas (`canvas.gestures`); the canvas forwards its mouse events here. Its only
way to the canvas is the small `CanvasSurface` interface below, public methods of Canvas, so the
gestures never read the canvas's private fields. A gesture starts on press, shows its effect on
the items while the mouse moves (nothing is written yet), and becomes one core command on release,
so one drag is one undo step. The rules of where a box may go are the plain functions in
canvas.geometry; this module only converts between screen and image pixels.

Left-drag on a box moves the selection, on a handle of a selected box resizes it, on empty image
draws a rubber band (Ctrl adds to the selection); Ctrl+click toggles a box. In draw mode (W) a
drag draws a box of the default class. Middle-drag or Space+drag pans; the wheel zooms around the cursor.
A drawn box that core.geometry.clip_box refuses (under 1 image pixel: a click) makes no box, and
no box can be resized below MIN_DRAW_PX screen pixels (or store.MIN_BOX_SIZE image pixels), so
slivers do not happen by accident.
"""

from __future__ import annotations

from typing import Any, Protocol

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen, QTransform
from PySide6.QtWidgets import QApplication, QGraphicsRectItem, QWidget

from labeler.core.geometry import clip_box
from labeler.core.store import MIN_BOX_SIZE
from labeler.gui.canvas import geometry as geo
from labeler.gui.canvas.items import HANDLE_GRAB_PX, BoxItem

#: a drawn box must be at least this many screen pixels wide and high (less is a click)
MIN_DRAW_PX = 4.0


class CanvasSurface(Protocol):
    """What the gestures need from the canvas (Canvas implements it)."""

    editor: Any  # canvas.actions.BoxEditor: turns a finished gesture into one undo step
    message: Any  # Signal(str): why a gesture made nothing
    cursor_moved: Any  # Signal(float, float): image pixels under the cursor, (-1, -1) outside

    def viewport(self) -> QWidget: ...
    def to_image(self, view_pos: QPointF) -> QPointF: ...
    def to_view(self, x: float, y: float) -> QPointF: ...
    def image_size(self) -> tuple[int, int]: ...
    def screen_px(self) -> float: ...
    def scroll_by(self, dx: int, dy: int) -> None: ...
    def box_item_at(self, view_pos: QPointF) -> BoxItem | None: ...
    def box_items_in(self, rect: QRectF) -> list[BoxItem]: ...
    def selected_items(self) -> list[BoxItem]: ...
    def clear_selection(self) -> None: ...
    def select_boxes(self, ids: list[int]) -> None: ...
    def current_image_id(self) -> int | None: ...
    def default_category(self) -> int | None: ...
    def category_color(self, category_id: int | None) -> str | None: ...
    def draw_mode(self) -> bool: ...
    def zoom(self) -> float: ...
    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None: ...
    def gesture_ended(self, edited_items: bool) -> None: ...


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
    """The canvas's mouse: press/move/release/leave return True when they handled the event."""

    def __init__(self, canvas: CanvasSurface, scene) -> None:
        self.canvas = canvas
        self._gesture: _Gesture | None = None
        self._space = False
        self._space_panned = False  # Space+drag panned: its release is not accept-and-next
        self._cursor_vp: QPointF | None = None
        self._preview = QGraphicsRectItem()
        self._preview.setZValue(1e18)
        self._preview.hide()
        scene.addItem(self._preview)

    # ------------------------------------------------------------------ state the canvas asks about
    def in_progress(self) -> bool:
        return self._gesture is not None

    def holds_items(self) -> bool:
        """A drag that shows its effect on the items (the store must not re-sync them now)."""
        return self._gesture is not None and self._gesture.kind != "pan"

    def crosshair(self) -> QPointF | None:
        """The viewport point of the draw-mode crosshair, or None."""
        return self._cursor_vp

    def space_down(self) -> None:
        self._space, self._space_panned = True, False
        self.canvas.viewport().setCursor(Qt.CursorShape.OpenHandCursor)

    def space_up(self) -> bool:
        """Space released: True if it was a plain press (no pan, no drag): accept-and-next."""
        was_held, self._space = self._space, False
        return was_held and not self._space_panned and self._gesture is None

    def space_reset(self) -> None:
        self._space = False
        self._space_panned = False

    # ------------------------------------------------------------------ hit tests
    def _handle_at(self, view_pos: QPointF) -> tuple[BoxItem, int] | None:
        selected = self.canvas.selected_items()
        if len(selected) > 50:  # handles are only drawn (and only useful) on a few boxes
            return None
        for item in selected:
            x1, y1, x2, y2 = item.image_rect()
            a, b = self.canvas.to_view(x1, y1), self.canvas.to_view(x2, y2)
            h = geo.handle_at((a.x(), a.y(), b.x(), b.y()), view_pos.x(), view_pos.y(), HANDLE_GRAB_PX)
            if h is not None:
                return item, h
        return None

    # ------------------------------------------------------------------ events
    def press(self, event: QMouseEvent) -> bool:
        c = self.canvas
        pos = event.position()
        if self._gesture is not None:
            event.accept()
            return True
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (button == Qt.MouseButton.LeftButton and self._space):
            self._gesture = _Gesture("pan", c.to_image(pos), pos)
            self._space_panned = self._space_panned or self._space  # its release is not accept-and-next
            c.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return True
        if button != Qt.MouseButton.LeftButton:
            return False
        w, h = c.image_size()
        scene = c.to_image(pos)
        if c.draw_mode():
            if not w:
                c.message.emit("This image cannot be shown, so no boxes can be drawn on it.")
                return True
            x, y = geo.clamp_point(scene.x(), scene.y(), w, h)
            self._gesture = g = _Gesture("draw", QPointF(x, y), pos)
            g.rect = (x, y, x, y)
            self._show_preview(g.rect, dashed=False)
            event.accept()
            return True
        ctrl = bool(event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier))
        grab = None if ctrl else self._handle_at(pos)
        if grab is not None:
            item, handle = grab
            self._gesture = g = _Gesture("resize", scene, pos)
            g.items, g.handle, g.before = [item], handle, [item.image_rect()]
            g.rect = item.image_rect()
        else:
            item = c.box_item_at(pos)
            if item is not None and ctrl:
                item.setSelected(not item.isSelected())
            elif item is not None:
                if not item.isSelected():
                    c.clear_selection()
                    item.setSelected(True)
                self._gesture = g = _Gesture("move", scene, pos)
                g.items = c.selected_items()
                g.before = [i.image_rect() for i in g.items]
            else:
                self._gesture = g = _Gesture("band", scene, pos)
                g.additive = ctrl
                if not ctrl:
                    c.clear_selection()
        event.accept()
        return True

    def move(self, event: QMouseEvent) -> bool:
        c = self.canvas
        pos = event.position()
        scene = c.to_image(pos)
        self._report_cursor(pos, scene)
        g = self._gesture
        if g is None:
            self.update_hover_cursor(pos)
            return False
        if not g.active:
            if (pos - g.view_start).manhattanLength() < QApplication.startDragDistance():
                return False
            g.active = True
        w, h = c.image_size()
        if g.kind == "pan":
            d = pos - g.last_view
            c.scroll_by(-round(d.x()), -round(d.y()))
        elif g.kind == "draw":
            x, y = geo.clamp_point(scene.x(), scene.y(), w, h)
            g.rect = geo.normalized(g.start.x(), g.start.y(), x, y)
            self._show_preview(g.rect, dashed=False)
        elif g.kind == "move":
            g.delta = geo.group_delta(g.before, scene.x() - g.start.x(), scene.y() - g.start.y(), w, h)
            for item, r in zip(g.items, g.before):
                item.set_rect(geo.moved(r, *g.delta))
        elif g.kind == "resize":
            min_size = max(MIN_BOX_SIZE, MIN_DRAW_PX * c.screen_px())
            g.rect = geo.resize(g.before[0], g.handle, scene.x(), scene.y(), w, h, min_size)
            g.items[0].set_rect(g.rect)
        elif g.kind == "band":
            g.rect = geo.normalized(g.start.x(), g.start.y(), scene.x(), scene.y())
            self._show_preview(g.rect, dashed=True)
        g.last_view = pos
        event.accept()
        return True

    def release(self, event: QMouseEvent) -> bool:
        g = self._gesture
        if g is None:
            return False
        self._gesture = None
        self._preview.hide()
        if g.kind == "pan":
            self.update_hover_cursor(event.position())
        elif g.active:
            self._finish(g)
        self.canvas.gesture_ended(edited_items=g.kind in ("move", "resize"))  # the store decides
        event.accept()
        return True

    def wheel(self, event) -> None:
        """The wheel zooms around the cursor."""
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.canvas.set_zoom(self.canvas.zoom() * (1.25 ** steps), event.position())
        event.accept()

    def leave(self) -> None:
        self.canvas.cursor_moved.emit(-1.0, -1.0)
        if self._cursor_vp is not None:
            self._cursor_vp = None
            self.canvas.viewport().update()

    def cancel(self) -> bool:
        """Esc or a new image: undo the drag's look on the items; True if one was in progress."""
        g, self._gesture = self._gesture, None
        self._preview.hide()
        if g is None:
            return False
        for item, r in zip(g.items, g.before):
            item.set_rect(r)
        self.canvas.gesture_ended(edited_items=False)
        return True

    # ------------------------------------------------------------------ helpers
    def _finish(self, g: _Gesture) -> None:
        c = self.canvas
        image_id = c.current_image_id()
        if g.kind == "draw":
            r = clip_box(*g.rect, *c.image_size())  # the store's rule, in image pixels
            if r is None:
                c.message.emit("Too small for a box: drag further to draw one.")
                return
            ids = c.editor.add_boxes(image_id, [r], c.default_category())
            if ids:
                c.select_boxes(ids)
        elif g.kind == "move":
            if g.delta != (0.0, 0.0):
                c.editor.move(image_id, [i.box_id for i in g.items], *g.delta)
        elif g.kind == "resize":
            if g.rect != g.before[0]:
                c.editor.resize(image_id, g.items[0].box_id, g.rect)
        elif g.kind == "band" and g.rect is not None:
            band = QRectF(QPointF(g.rect[0], g.rect[1]), QPointF(g.rect[2], g.rect[3]))
            for item in c.box_items_in(band):
                item.setSelected(True)

    def _show_preview(self, rect: tuple, dashed: bool) -> None:
        c = self.canvas
        color = None if dashed else c.category_color(c.editor.category_for_new_boxes(c.default_category()))
        pen = QPen(QColor(color or "#ffffff"), 1.5, Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
        pen.setCosmetic(True)
        self._preview.setPen(pen)
        self._preview.setBrush(QColor(255, 255, 255, 30) if dashed else Qt.BrushStyle.NoBrush)
        self._preview.setRect(QRectF(QPointF(rect[0], rect[1]), QPointF(rect[2], rect[3])))
        self._preview.show()

    def _report_cursor(self, pos: QPointF, scene: QPointF) -> None:
        c = self.canvas
        w, h = c.image_size()
        inside = 0 <= scene.x() < w and 0 <= scene.y() < h
        c.cursor_moved.emit(scene.x() if inside else -1.0, scene.y() if inside else -1.0)
        if c.draw_mode():
            old, self._cursor_vp = self._cursor_vp, pos
            vp = c.viewport()
            width, height = vp.width(), vp.height()
            for p in (old, pos):  # repaint only the strips under the old and new crosshair lines
                if p is not None:
                    vp.update(QRect(0, round(p.y()) - 2, width, 5))
                    vp.update(QRect(round(p.x()) - 2, 0, 5, height))

    def update_hover_cursor(self, pos: QPointF) -> None:
        c = self.canvas
        if c.draw_mode():
            shape = Qt.CursorShape.CrossCursor
        elif self._space:
            shape = Qt.CursorShape.OpenHandCursor
        elif (grab := self._handle_at(pos)) is not None:
            shape = (Qt.CursorShape.SizeFDiagCursor, Qt.CursorShape.SizeVerCursor, Qt.CursorShape.SizeBDiagCursor,
                     Qt.CursorShape.SizeHorCursor)[grab[1] % 4]
        elif (item := c.box_item_at(pos)) is not None and item.isSelected():
            shape = Qt.CursorShape.SizeAllCursor
        else:
            shape = Qt.CursorShape.ArrowCursor
        if c.viewport().cursor().shape() != shape:
            c.viewport().setCursor(shape)


def paint_overlay(painter: QPainter, vp: QRect, error: str | None, crosshair: QPointF | None) -> None:
    """Paint in viewport pixels over the scene: why the image cannot be shown, the draw crosshair."""
    world = painter.worldTransform()
    painter.setWorldTransform(QTransform())
    if error:
        painter.setPen(QColor(240, 200, 120))
        painter.drawText(vp.adjusted(20, 20, -20, -20), int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap),
                         error)
    if crosshair is not None:
        painter.setPen(QPen(QColor(255, 255, 255, 170), 1, Qt.PenStyle.DashLine))
        x, y = round(crosshair.x()) + 0.5, round(crosshair.y()) + 0.5
        painter.drawLine(QPointF(0, y), QPointF(vp.width(), y))
        painter.drawLine(QPointF(x, 0), QPointF(x, vp.height()))
    painter.setWorldTransform(world)
