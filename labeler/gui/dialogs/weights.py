"""Download a model's COCO weights with a progress bar and Cancel; the transfer runs on a worker
thread (labeler.ml.weights does the work, this only relays)."""

from __future__ import annotations

import threading

from PySide6.QtCore import QThread, Qt, Signal
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QLabel, QProgressBar, QPushButton, QVBoxLayout,
                               QWidget)

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

    def _fit_message(self) -> None:
        """Grow the dialog to the message: its URL and path cannot wrap, so the label gets the widest
        line's width (at most 90 % of the screen) and the dialog the height the wrapped text needs."""
        fm = self.label.fontMetrics()
        widest = max((fm.horizontalAdvance(line) for line in self.label.text().splitlines()), default=0)
        screen = self.screen().availableGeometry().width() if self.screen() is not None else 1280
        self.label.setMinimumWidth(min(widest + 2 * fm.averageCharWidth(), int(screen * 0.9)))
        self.label.setMinimumHeight(self.label.heightForWidth(self.label.minimumWidth()))
        self.adjustSize()

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
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.size_label = QLabel("")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.buttons = QDialogButtonBox()
        self.buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        lay = QVBoxLayout(self)
        lay.addWidget(self.label)
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
