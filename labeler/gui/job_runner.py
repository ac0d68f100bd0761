"""Runs the window's short background jobs (scan, import, export): one at a time per key, on a
thread pool of its own, with their progress in one status-bar bar.

The runner owns the pool, so closing the window waits for a scan or an export to finish its
write, not for other panels' work. A job's failure is reported through `failed(name, message)`;
the window shows it (a modal warning), so nothing fails silently.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, QThreadPool, Signal
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
        self._pool = QThreadPool(self)
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
        task.start(self._pool)
        return True

    def running(self) -> bool:
        return any(t.running for t in self._tasks.values())

    def wait(self, msecs: int = 30_000) -> bool:
        """Block until the jobs end (at most `msecs`); True if they did. Only for closing."""
        return self._pool.waitForDone(msecs)

    def _on_progressed(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _ended(self) -> None:
        if not self.running():
            self.progress.hide()
