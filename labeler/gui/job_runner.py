"""Runs the window's short background jobs (scan, import, export): one at a time per key, each on
its own worker thread (labeler.gui.background), with their progress in one status-bar bar.

Closing the window waits for the runner's scan or export to finish its write, not for other
panels' work. A job's failure is reported through `failed(name, message)`;
the window shows it (a modal warning), so nothing fails silently.
"""

from __future__ import annotations

from typing import Any, Callable

import time

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QProgressBar

from labeler.gui.background import BackgroundTask


class JobRunner(QObject):
    #: (job name, the user's message) when a job fails
    failed = Signal(str, str)
    #: a short status line, e.g. "Exporting COCO is already running."
    message = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._tasks: dict[str, BackgroundTask] = {}
        self.progress = QProgressBar(maximumWidth=180, visible=False)

    def run(self, key: str, task: BackgroundTask, done: Callable[[Any], None] | None = None) -> bool:
        """Start `task` unless the job called `key` is running (then False and a message)."""
        if key in self._tasks and self._tasks[key].running:
            self.message.emit(f"{task.name} is already running.")
            return False
        self._tasks[key] = task
        self.progress.setRange(0, 0)
        self.progress.setFormat(task.name)
        self.progress.show()
        task.progressed.connect(self._on_progressed)
        task.failed.connect(lambda msg: (self._ended(), self.failed.emit(task.name, f"{task.name} failed: {msg}")))
        task.finished.connect(lambda result: (self._ended(), done and done(result)))
        task.start()
        return True

    def running(self) -> bool:
        return any(t.running for t in self._tasks.values())

    def wait(self, msecs: int = 30_000) -> bool:
        """Block until the jobs end (at most `msecs`); True if they did. Only for closing."""
        deadline = time.monotonic() + msecs / 1000
        for task in list(self._tasks.values()):
            if not task.wait(max(0, int((deadline - time.monotonic()) * 1000))):
                return False
        return True

    def _on_progressed(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _ended(self) -> None:
        if not self.running():
            self.progress.hide()
