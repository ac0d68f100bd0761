"""Run a plain function on a worker thread and hear about it through signals: a thin adapter over
labeler.gui.workers.GeneratorWorker (the one worker shape) for functions that report progress by
callback rather than by yielding.

The function gets a `progress(done, total)` callback and must not touch widgets; its return value
arrives in `finished`, an exception's message in `failed` (GeneratorWorker logs the traceback).
Signals are delivered queued, so the slots run on the GUI thread.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from labeler.gui.workers import GeneratorWorker


def _call(fn: Callable[..., Any], args: tuple, kwargs: dict, progress: Callable[[int, int], None]):
    """A generator that yields nothing: calls `fn` and returns its result (GeneratorWorker's shape)."""
    return fn(*args, progress=progress, **kwargs)
    yield  # pragma: no cover  (makes this a generator)


class BackgroundTask(QObject):
    #: (done, total) as reported by the function
    progressed = Signal(int, int)
    #: the function's return value
    finished = Signal(object)
    #: the exception's message, for the user
    failed = Signal(str)

    def __init__(self, name: str, fn: Callable[..., Any], *args, parent: QObject | None = None, **kwargs):
        super().__init__(parent)
        self.name = name
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self._worker: GeneratorWorker | None = None
        self.running = False
        # connected first, so `running` is already False in every slot others connect
        self.finished.connect(self._stopped)
        self.failed.connect(self._stopped)

    def start(self) -> None:
        worker = self._worker = GeneratorWorker(self.name, _call, self._fn, self._args, self._kwargs,
                                                self.progressed.emit, parent=self)
        worker.returned.connect(self.finished)  # signal to signal: re-emitted on the GUI thread
        worker.errored.connect(self.failed)
        worker.finished.connect(self._worker_ended)
        self.running = True
        worker.start()

    def wait(self, msecs: int | None = None) -> bool:
        """Block until the function's thread ends (at most `msecs`); True if it did. Only for closing."""
        return self._worker is None or self._worker.wait(msecs)

    def _stopped(self, *_):
        self.running = False

    def _worker_ended(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.wait()  # `finished` is its thread's last act; then it goes, on this (the GUI) thread
            worker.deleteLater()
