"""One worker shape: run a plain generator on its own thread and hear about it through signals
(the shape of superqt's GeneratorWorker, as napari uses it).

The generator never touches widgets. Each value it yields arrives in `yielded`, its return value in
`returned`; an exception's message arrives in `errored` (the traceback goes to the log, nothing is
swallowed). `quit()` (any thread) asks it to stop: the flag is checked between yields, the generator
is closed there (so its `finally` blocks and cleanups run on the worker thread) and `aborted` is
emitted. Exactly one of `returned`, `errored`, `aborted` comes, then `finished`.

The worker is a QObject of the GUI thread; its signals are emitted from the worker thread, so Qt
queues them and the slots run on the GUI thread. The worker thread makes no widgets, and Python's
cyclic collector does not run on it (labeler.gui.gc_guard collects on the GUI thread only), so no
widget is ever destroyed off the GUI thread.
"""

from __future__ import annotations

import logging
import threading
import traceback
from typing import Callable, Generator

from PySide6.QtCore import QObject, QThread, Signal

log = logging.getLogger(__name__)


class GeneratorWorker(QObject):
    #: each value the generator yields
    yielded = Signal(object)
    #: the generator's return value
    returned = Signal(object)
    #: the exception's message, for the user (the traceback is logged)
    errored = Signal(str)
    #: the generator was closed after quit()
    aborted = Signal()
    #: after returned, errored or aborted
    finished = Signal()

    def __init__(self, name: str, fn: Callable[..., Generator], *args, parent: QObject | None = None, **kwargs):
        super().__init__(parent)
        self.name = name
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self._abort = threading.Event()
        self._thread = _Thread(self)

    def start(self) -> None:
        self._thread.start()

    def quit(self) -> None:
        """Ask the generator to stop at its next yield (it then emits `aborted`)."""
        self._abort.set()

    @property
    def abort_requested(self) -> bool:
        return self._abort.is_set()

    def is_running(self) -> bool:
        return self._thread.isRunning()

    def wait(self, ms: int | None = None) -> bool:
        """Block until the worker thread ends (for a dialog closing after its worker's last signal)."""
        return self._thread.wait() if ms is None else self._thread.wait(ms)

    def _work(self) -> None:
        try:
            gen = self._fn(*self._args, **self._kwargs)
            while True:
                if self._abort.is_set():
                    gen.close()
                    self.aborted.emit()
                    break
                try:
                    value = next(gen)
                except StopIteration as stop:
                    self.returned.emit(stop.value)
                    break
                self.yielded.emit(value)
        except Exception as exc:  # reported to the user, never swallowed
            log.error("%s failed:\n%s", self.name, traceback.format_exc())
            self.errored.emit(str(exc) or type(exc).__name__)
        self.finished.emit()


class _Thread(QThread):
    def __init__(self, worker: GeneratorWorker):
        super().__init__(worker)
        self._worker = worker

    def run(self) -> None:
        self._worker._work()
