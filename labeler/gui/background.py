"""Run a plain function on a worker thread and hear about it through signals.

The function gets a `progress(done, total)` callback and must not touch widgets; its return value
arrives in `finished`, an exception's message in `failed` (the traceback goes to the log). Signals
are delivered queued, so the slots run on the GUI thread.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)


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
        self.running = False
        # connected first, so `running` is already False in every slot others connect
        self.finished.connect(self._stopped)
        self.failed.connect(self._stopped)

    def start(self, pool: QThreadPool | None = None) -> None:
        self.running = True
        (pool or QThreadPool.globalInstance()).start(_Runner(self))

    def _stopped(self, *_):
        self.running = False

    def _run(self) -> None:
        try:
            result = self._fn(*self._args, progress=self.progressed.emit, **self._kwargs)
        except Exception as exc:  # reported to the user, never swallowed
            log.error("%s failed:\n%s", self.name, traceback.format_exc())
            self.failed.emit(str(exc) or type(exc).__name__)
        else:
            self.finished.emit(result)


class _Runner(QRunnable):
    def __init__(self, task: BackgroundTask):
        super().__init__()
        self.task = task  # keeps the QObject alive until run() ends

    def run(self) -> None:
        self.task._run()
