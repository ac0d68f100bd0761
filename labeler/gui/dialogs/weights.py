"""Download a model's COCO weights with a progress bar and Cancel; the transfer runs on a worker
thread (labeler.ml.weights does the work, this only relays)."""

from __future__ import annotations

import threading

from PySide6.QtCore import QThread, Qt, Signal
from PySide6.QtGui import QTextOption
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFrame, QLabel, QProgressBar, QPushButton, QTextEdit,
                               QVBoxLayout, QWidget)

from labeler.ml import weights


class DownloadThread(QThread):
    #: (bytes done, bytes total; 0 when unknown)
    progressed = Signal(int, int)
    #: the saved file's path
    downloaded = Signal(str)
    #: a message for the user (offline, hash mismatch, broken transfer)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, architecture: str, url: str | None = None, parent=None):
        super().__init__(parent)
        self.architecture, self.url = architecture, url
        self._cancel = threading.Event()
        self._last = -1

    def _on_thread_cancelled(self) -> None:
        self.thread.wait()  # the worker is past its last line; the partial file is gone
        super().reject()

    def cancel(self) -> None:
        self._cancel.set()

    def _progress(self, done: int, total: int) -> None:
        # a signal per percent, not per 64 KiB chunk: the GUI thread stays idle
        step = done * 100 // total if total else done >> 20
        if step != self._last or done == total:
            self._last = step
            self.progressed.emit(done, total)

    def run(self) -> None:
        try:
            path = weights.download_coco_weights(self.architecture, progress=self._progress,
                                                 cancelled=self._cancel.is_set, url=self.url)
        except weights.DownloadCancelled:
            self.cancelled.emit()
        except Exception as exc:  # shown to the user, never swallowed
            self.failed.emit(str(exc) or type(exc).__name__)
        else:
            self.downloaded.emit(str(path))


class WeightsDialog(QDialog):
    """Starts the download when shown; closes itself when the file is in place."""

    def __init__(self, architecture: str, parent: QWidget | None = None, url: str | None = None):
        super().__init__(parent)
        self.architecture = architecture
        w = weights.coco_weights(architecture)
        self.setWindowTitle("Download weights")
        self.label = QLabel(f"Downloading the COCO weights for {architecture}\nfrom {url or w.url}\nto {w.path}")
        self.label.setWordWrap(True)
        #: the failure's message, shown in full (see _fit_message)
        self.message_view = QTextEdit(readOnly=True, visible=False)
        self.message_view.setFrameShape(QFrame.Shape.NoFrame)
        self.message_view.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.message_view.viewport().setAutoFillBackground(False)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.size_label = QLabel("")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.buttons = QDialogButtonBox()
        self.buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        lay = QVBoxLayout(self)
        lay.addWidget(self.label)
        lay.addWidget(self.message_view)
        lay.addWidget(self.bar)
        lay.addWidget(self.size_label)
        lay.addWidget(self.buttons)
        self.path: str | None = None
        self.error: str | None = None
        self.thread = DownloadThread(architecture, url, self)
        self.thread.progressed.connect(self._on_thread_progressed)
        self.thread.downloaded.connect(self._on_thread_downloaded)
        self.thread.failed.connect(self._on_thread_failed)
        self.thread.cancelled.connect(self._on_thread_cancelled)
        self.thread.start()

    def _on_thread_progressed(self, done: int, total: int) -> None:
        if total:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(done * 1000 / total))
            self.size_label.setText(f"{done / 1e6:.1f} of {total / 1e6:.1f} MB")
        else:
            self.size_label.setText(f"{done / 1e6:.1f} MB")

    def _on_thread_downloaded(self, path: str) -> None:
        self.path = path
        self.accept()

    def _on_thread_failed(self, message: str) -> None:
        self.error = message
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.label.setText(message)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._fit_message()
        self.cancel_button.setText("Close")
        self.cancel_button.clicked.disconnect()
        self.cancel_button.clicked.connect(self.reject)

    def _fit_message(self) -> None:
        """Show the message whole: prose wraps between words, the URL and the path (which have no
        spaces) anywhere, at most 90 % of the screen wide, as tall as the wrapped text needs. It
        stays selectable, and copies without added characters."""
        text = self.label.text()
        view = self.message_view
        view.setPlainText(text)
        fm = view.fontMetrics()
        widest = max((fm.horizontalAdvance("    " + w) for w in text.split()), default=0)
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        width = min(widest + 4 * fm.averageCharWidth(), int((screen.width() if screen else 1280) * 0.9))
        margin = 2 * (view.frameWidth() + int(view.document().documentMargin()))
        view.document().setTextWidth(width - margin)
        height = int(view.document().size().height()) + margin
        view.setMinimumSize(width, min(height, int((screen.height() if screen else 800) * 0.7)))
        self.label.hide()
        view.show()
        self.adjustSize()

    def _on_thread_cancelled(self) -> None:
        self.thread.wait()  # the worker is past its last line; the partial file is gone
        super().reject()

    def cancel(self) -> None:
        """Stops the transfer; the dialog closes once the worker has removed the partial file."""
        self.cancel_button.setEnabled(False)
        self.thread.cancel()

    def reject(self) -> None:
        if self.thread.isRunning():
            self.cancel()
            return  # closed by the worker's `cancelled`
        super().reject()

    def done(self, result: int) -> None:
        self.thread.wait()
        super().done(result)
