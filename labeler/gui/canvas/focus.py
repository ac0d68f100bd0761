"""Keys go back to the canvas when a dialog closes.

After a dialog (a message box, a file dialog, the class picker, Help > Keyboard shortcuts) closed,
Qt gave focus back to whatever had it in the window before, often a toolbar or dock button, and
under a window manager sometimes nothing: the canvas's keys did nothing until a click. This
watches QApplication.focusChanged (no per-event filter): once focus has been in a dialog of the
canvas's window and comes back to that window after the dialog is gone, the canvas takes it.
A click into another panel while a non-modal dialog stays open is left alone.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication, QDialog, QWidget
from shiboken6 import isValid


class FocusReturn(QObject):
    def __init__(self, canvas: QWidget):
        super().__init__(canvas)
        self.canvas = canvas
        self._dialog: QDialog | None = None
        app = QApplication.instance()
        if app is not None:
            app.focusChanged.connect(self._on_focus_changed)

    def _on_focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        if not isValid(self.canvas):
            return
        if new is None:
            return
        top = new.window()
        if isinstance(top, QDialog):
            if top.parentWidget() is not None and top.parentWidget().window() is self.canvas.window():
                self._dialog = top
            return
        if top is not self.canvas.window() or self._dialog is None:
            return
        dialog, self._dialog = self._dialog, None
        if isValid(dialog) and dialog.isVisible():
            return  # a non-modal dialog is still open: the user chose where to type
        if new is not self.canvas:
            self.canvas.take_focus()
