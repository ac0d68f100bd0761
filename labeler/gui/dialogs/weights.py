"""Download a model's COCO weights with a progress bar and Cancel; the transfer (a generator in
labeler.ml.weights) runs on a labeler.gui.workers.GeneratorWorker, and this dialog only relays."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextOption
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFrame, QLabel, QProgressBar, QPushButton, QTextEdit,
                               QVBoxLayout, QWidget)

from labeler.gui.workers import GeneratorWorker
from labeler.ml import weights


def download_steps(architecture: str, url: str | None = None):
    """labeler.ml.weights.download_coco_weights_steps, thinned to one (done, total) per percent (per
    MiB when the size is unknown), so the GUI thread gets a signal per step, not per 64 KiB chunk.
    Closing it closes the download, which removes the partial file."""
    steps = weights.download_coco_weights_steps(architecture, url=url)
    last = -1
    try:
        while True:
            try:
                done, total = next(steps)
            except StopIteration as stop:
                return stop.value
            step = done * 100 // total if total else done >> 20
            if step != last or done == total:
                last = step
                yield done, total
    finally:
        steps.close()


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
        #: the transfer, on its own thread (labeler.gui.workers)
        self.worker = GeneratorWorker(f"Download of the {architecture} weights", download_steps, architecture, url,
                                      parent=self)
        self.worker.yielded.connect(self._on_worker_yielded)
        self.worker.returned.connect(self._on_worker_returned)
        self.worker.errored.connect(self._on_worker_errored)
        self.worker.aborted.connect(self._on_worker_aborted)
        self.worker.start()

    def _on_worker_yielded(self, step: tuple[int, int]) -> None:
        done, total = step
        if total:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(done * 1000 / total))
            self.size_label.setText(f"{done / 1e6:.1f} of {total / 1e6:.1f} MB")
        else:
            self.size_label.setText(f"{done / 1e6:.1f} MB")

    def _on_worker_returned(self, path) -> None:
        self.path = str(path)
        self.accept()

    def _on_worker_errored(self, message: str) -> None:
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

    def _on_worker_aborted(self) -> None:
        self.worker.wait()  # the worker is past its last line; the partial file is gone
        super().reject()

    def cancel(self) -> None:
        """Stops the transfer; the dialog closes once the worker has removed the partial file."""
        self.cancel_button.setEnabled(False)
        self.worker.quit()

    def reject(self) -> None:
        if self.worker.is_running():
            self.cancel()
            return  # closed by the worker's `cancelled`
        super().reject()

    def done(self, result: int) -> None:
        self.worker.wait()
        super().done(result)
