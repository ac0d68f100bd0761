"""The canvas's keyboard: a mixin of Canvas (the mouse is an object: canvas.mouse.MouseGestures).

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

_ARROWS = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0), Qt.Key.Key_Up: (0, -1), Qt.Key.Key_Down: (0, 1)}


class KeyboardMixin:
    """Key handling for Canvas (uses its items, selection, actions and edits)."""

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            mods = event.modifiers() & ~(Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier)
            if event.key() in _ARROWS and not mods and self.selected_items():
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
        return super().event(event)

    def select_next_box(self, step: int = 1) -> None:
        """Select the box after (step 1) or before (-1) the selected one, in reading order."""
        shown = sorted((it for it in self._items.values() if it.isVisible()),
                       key=lambda it: (round(it.image_rect()[1]), round(it.image_rect()[0]), it.box_id))
        if not shown:
            self.message.emit("This image has no boxes to select.")
            return
        selected = [i for i, it in enumerate(shown) if it.isSelected()]
        if not selected:
            index = 0 if step > 0 else len(shown) - 1
        else:
            index = ((selected[-1] if step > 0 else selected[0]) + step) % len(shown)
        self.select_boxes([shown[index].box_id])

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key, mods = event.key(), event.modifiers()
        plain = not (mods & ~(Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier))
        if key in _ARROWS and plain and self.selected_items():
            step = 10.0 if mods & Qt.KeyboardModifier.ShiftModifier else 1.0
            dx, dy = _ARROWS[key]
            self.nudge_selected(dx * step, dy * step)
        elif key == Qt.Key.Key_Space and not event.isAutoRepeat():
            self.gestures.space_down()
        elif key == Qt.Key.Key_Space:
            pass
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            if self.gestures.space_up():
                self.edit_actions["review_next"].trigger()
            self.gestures.update_hover_cursor(QPointF(self.viewport().mapFromGlobal(self.cursor().pos())))
            event.accept()
            return
        super().keyReleaseEvent(event)

    def focusOutEvent(self, event) -> None:
        self.gestures.space_reset()  # a Space held when focus left neither pans nor accepts
        super().focusOutEvent(event)

    def take_focus(self) -> None:
        """Focus the canvas, activating its window (a closed dialog may leave none active)."""
        if self.isVisible():
            self.window().activateWindow()
            self.setFocus(Qt.FocusReason.OtherFocusReason)

    def review_and_next(self) -> None:
        """Space: Ctrl+Enter, then on to the next image to review (Shift+D)."""
        if self.accept_image():
            self.next_requested.emit()

    def class_key(self, n: int) -> None:
        """Digit n: the selection gets the n-th class; with nothing selected, 1 zooms to 100 %."""
        if not self.selected_box_ids():
            if n == 1:
                self.zoom_100()
            else:
                self.message.emit(f"Select boxes first, then press {n} to give them class {n}.")
        elif n > len(self._category_order):
            self.message.emit(f"There is no class {n}: the project has {len(self._category_order)}.")
        else:
            self.set_selected_category(self._category_order[n - 1])
