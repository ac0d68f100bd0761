"""Keys go back to the canvas when a dialog closes.

After a dialog (a message box, a file dialog, the class picker, Help > Keyboard shortcuts) closed,
Qt gave focus back to whatever had it in the window before, often a toolbar or dock button, or,
with the window left inactive, nothing: the canvas's keys did nothing until a click. This watches
QApplication.focusChanged (no per-event filter): the first time focus enters a dialog of the
canvas's window, the dialog's `finished` is connected, and when it fires the canvas takes focus
(and activates its window) once the dialog is gone, unless another dialog is still in front.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QWidget
from shiboken6 import isValid


class FocusReturn(QObject):
    def __init__(self, canvas: QWidget):
        super().__init__(canvas)
        self.canvas = canvas
        self._watched: set[int] = set()
        app = QApplication.instance()
        if app is not None:
            app.focusChanged.connect(self._on_focus_changed)

    def _on_focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        if new is None or not isValid(self.canvas):
            return
        top = new.window()
        if not isinstance(top, QDialog) or id(top) in self._watched:
            return
        parent = top.parentWidget()
        if parent is None or parent.window() is not self.canvas.window():
            return
        self._watched.add(id(top))
        key = id(top)
        top.finished.connect(lambda _result: self._on_dialog_finished(key))

    def _on_dialog_finished(self, key: int) -> None:
        self._watched.discard(key)
        QTimer.singleShot(0, self, self._give_focus_back)

    def _give_focus_back(self) -> None:
        if not isValid(self.canvas) or QApplication.activeModalWidget() is not None:
            return
        active = QApplication.activeWindow()
        if isinstance(active, QDialog) and active.isVisible():
            return  # another dialog is in front: it keeps the keys
        self.canvas.take_focus()
