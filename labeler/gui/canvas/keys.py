"""The canvas's keyboard: `CanvasKeys`, an object owned by Canvas (`canvas.keys`) that the canvas
forwards event/keyPress/keyRelease/focusOut to; it uses only public methods of Canvas.

Keyboard conflicts with the main window, resolved here:
- Arrow keys nudge the selection by one image pixel (Shift: 10) while boxes are selected and the
  canvas has focus: the canvas accepts QEvent.ShortcutOverride for them, so the window's Left/Right
  navigation actions do not fire. With nothing selected the override is not accepted and the
  window's actions navigate.
- Digits 1-9 (window shortcuts, so they work from the Boxes list too) set the class of the
  selection to the n-th class in project order; with nothing selected, "1" zooms to 100 %.
- Space: press and release without dragging accepts the image and goes to the next one to review
  (labelImg's "verify"); held while dragging it pans. The canvas takes Space before any shortcut.
- Tab / Shift+Tab select the next / previous box in reading order (top to bottom, left to right),
  so the lower of two overlapping boxes can be reached; focus stays on the canvas.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QKeyEvent

from labeler.gui.canvas import geometry as geo

_ARROWS = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0), Qt.Key.Key_Up: (0, -1), Qt.Key.Key_Down: (0, 1)}


class CanvasKeys:
    """Key handling for Canvas; each handler returns True when it took the event."""

    def __init__(self, canvas) -> None:
        self.canvas = canvas

    def event(self, event) -> bool:
        c = self.canvas
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            mods = event.modifiers() & ~(Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier)
            if event.key() in _ARROWS and not mods and c.selected_items():
                event.accept()  # nudge instead of the window's Left/Right navigation
                return True
            if event.key() == Qt.Key.Key_Space and not mods:
                event.accept()  # press/release decide between pan and accept-and-next
                return True
        if event.type() == QEvent.Type.KeyPress and event.key() in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab):
            mods = event.modifiers() & ~Qt.KeyboardModifier.ShiftModifier
            if not mods:  # Tab cycles boxes here instead of moving focus to the next widget
                back = event.key() == Qt.Key.Key_Backtab or bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
                self.select_next_box(-1 if back else 1)
                event.accept()
                return True
        return False

    def select_next_box(self, step: int = 1) -> None:
        """Select the box after (step 1) or before (-1) the selected one, in reading order."""
        shown = sorted((it for it in self.canvas.box_items().values() if it.isVisible()),
                       key=lambda it: (round(it.image_rect()[1]), round(it.image_rect()[0]), it.box_id))
        if not shown:
            self.canvas.message.emit("This image has no boxes to select.")
            return
        selected = [i for i, it in enumerate(shown) if it.isSelected()]
        if not selected:
            index = 0 if step > 0 else len(shown) - 1
        else:
            index = ((selected[-1] if step > 0 else selected[0]) + step) % len(shown)
        self.canvas.select_boxes([shown[index].box_id])

    def press(self, event: QKeyEvent) -> bool:
        key, mods = event.key(), event.modifiers()
        plain = not (mods & ~(Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier))
        if key in _ARROWS and plain and self.canvas.selected_items():
            step = 10.0 if mods & Qt.KeyboardModifier.ShiftModifier else 1.0
            dx, dy = _ARROWS[key]
            self.nudge_selected(dx * step, dy * step)
        elif key == Qt.Key.Key_Space and not event.isAutoRepeat():
            self.canvas.gestures.space_down()
        elif key != Qt.Key.Key_Space:
            return False
        event.accept()
        return True

    def release(self, event: QKeyEvent) -> bool:
        if event.key() != Qt.Key.Key_Space or event.isAutoRepeat():
            return False
        c = self.canvas
        if c.gestures.space_up():
            c.edit_actions["review_next"].trigger()
        c.gestures.update_hover_cursor(QPointF(c.viewport().mapFromGlobal(c.cursor().pos())))
        event.accept()
        return True

    def focus_out(self) -> None:
        self.canvas.gestures.space_reset()  # a Space held when focus left neither pans nor accepts

    def nudge_selected(self, dx: float, dy: float) -> None:
        """Move the selection by (dx, dy) image pixels as a group, stopping at the image edges;
        consecutive nudges of one selection merge into one undo step."""
        c = self.canvas
        items = c.selected_items()
        if not items or not c.editable():
            return
        w, h = c.image_size()
        delta = geo.group_delta([i.image_rect() for i in items], dx, dy, w, h)
        if delta == (0.0, 0.0):
            c.message.emit("The selection is at the edge of the image.")
            return
        c.editor.move(c.current_image_id(), [i.box_id for i in items], *delta, nudge=True)

    def review_and_next(self) -> None:
        """Space: Ctrl+Enter, then on to the next image to review (Shift+D)."""
        if self.canvas.accept_image():
            self.canvas.next_requested.emit()

    def class_key(self, n: int) -> None:
        """Digit n: the selection gets the n-th class; with nothing selected, 1 zooms to 100 %."""
        c = self.canvas
        order = c.category_ids()
        if not c.selected_box_ids():
            if n == 1:
                c.zoom_100()
            else:
                c.message.emit(f"Select boxes first, then press {n} to give them class {n}.")
        elif n > len(order):
            c.message.emit(f"There is no class {n}: the project has {len(order)}.")
        else:
            c.set_selected_category(order[n - 1])
