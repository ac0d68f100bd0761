"""The app's log file and its last line of defence: an uncaught exception becomes a dialog.

A bug in one slot must not take the user's session down: the hook logs the traceback to a rotating
file in the user's log folder, tells the user what happened and where the log is, and returns to
the event loop. Every edit is already in the store, so nothing is lost by carrying on.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import threading
import traceback
from pathlib import Path

import platformdirs
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QMessageBox

log = logging.getLogger("labeler")


def log_path() -> Path:
    return Path(platformdirs.user_log_dir("labeler")) / "labeler.log"


def setup_logging(level: int = logging.INFO) -> Path:
    """Log to a rotating file (1 MB x 3); returns its path. Safe to call twice."""
    path = log_path()
    root = logging.getLogger()
    for h in root.handlers:
        if isinstance(h, logging.handlers.RotatingFileHandler) and Path(h.baseFilename) == path:
            return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
    except OSError as exc:  # a read-only home must not stop the app; log to stderr instead
        logging.basicConfig(level=level)
        log.warning("Cannot write the log file %s: %s", path, exc)
        return path
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(min(root.level or level, level))
    return path


def show_error_dialog(title: str, text: str, details: str) -> None:
    """The dialog the hook shows; tests replace it."""
    box = QMessageBox(QMessageBox.Icon.Critical, title, text, QMessageBox.StandardButton.Ok,
                      QApplication.activeWindow())
    box.setDetailedText(details)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.exec()


class ExceptionHook(QObject):
    """Installs itself as sys.excepthook (and threading.excepthook); `restore()` undoes that."""

    #: (message, traceback text): a worker thread's exception, carried to the GUI thread
    _from_thread = Signal(str, str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._showing = False
        self._old_hook = sys.excepthook
        self._old_thread_hook = threading.excepthook
        self._from_thread.connect(self._report)
        sys.excepthook = self._hook
        threading.excepthook = self._thread_hook

    def restore(self) -> None:
        sys.excepthook = self._old_hook
        threading.excepthook = self._old_thread_hook

    def _hook(self, exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            QApplication.quit()
            return
        details = "".join(traceback.format_exception(exc_type, exc, tb))
        log.error("Uncaught exception:\n%s", details)
        message = f"{exc_type.__name__}: {exc}"
        if threading.current_thread() is threading.main_thread():
            self._report(message, details)
        else:
            self._from_thread.emit(message, details)

    def _thread_hook(self, args) -> None:
        self._hook(args.exc_type, args.exc_value, args.exc_traceback)

    def _report(self, message: str, details: str) -> None:
        if self._showing:  # an error while the dialog is up: logged, not stacked
            return
        self._showing = True
        try:
            show_error_dialog(
                "labeler: unexpected error",
                f"Something went wrong, but your work is saved and the app keeps running.\n\n{message}\n\n"
                f"The details are in the log file:\n{log_path()}",
                details,
            )
        finally:
            self._showing = False
