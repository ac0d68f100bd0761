"""Python's cyclic garbage collector, run only on the GUI thread.

CPython runs a collection in whichever thread happens to allocate past the threshold. In this app
that is most often a worker (the fine-tuning thread building a model, the pre-labeling loader, the
image decoder), and a collection there finalizes whatever cyclic garbage exists at that moment,
including closed dialogs and widgets whose Python wrappers sit in a reference cycle. Destroying a
QWidget off the GUI thread hangs or crashes Qt: seen as a segmentation fault in CI while a training
thread built its model, and reproduced by tests/gui/test_gc_guard.py.

So, while the app runs, automatic collection is off and a timer on the GUI thread applies the same
generational thresholds that CPython would (the approach pyqtgraph's GarbageCollector takes).
Reference counting, which frees almost everything, is untouched; only cycles wait for the next tick.

A full collection walks every object: ~130 ms on this CPU once torch and torchvision are imported,
a stall of its own, and even the young generations hold tens of thousands of objects while a worker
imports them (collections of 25-100 ms measured). So a worker about to import them calls
`import_torch_in_worker()`: the collector pauses while the import runs, and on its first tick after
it moves every object that exists then (nearly all module-level objects that live as long as the
process) to the permanent generation with `gc.freeze()`, without walking them. Later collections only
walk what came after. Cyclic garbage that existed at that moment is never collected (the app makes
very little); it is never finalized on a worker thread either.
"""

from __future__ import annotations

import gc
import sys
import threading

from PySide6.QtCore import QCoreApplication, QObject, QTimer

#: how often the GUI thread looks at the collector's counts
INTERVAL_MS = 100

_installed: "GuiThreadCollector | None" = None
_freeze_requested = threading.Event()
_paused = threading.Event()


def pause() -> None:
    """Stop collecting until `request_freeze` (any thread): a big import is about to run."""
    _paused.set()


def request_freeze() -> None:
    """Ask the collector to freeze the objects that exist now, and to go on (any thread)."""
    _freeze_requested.set()


class GuiThreadCollector(QObject):
    """While installed, only the GUI thread collects cycles; `uninstall` restores automatic GC."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS):
        super().__init__(parent)
        self._was_enabled = gc.isenabled()
        self._thresholds = gc.get_threshold()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.collect_due)
        self._timer.start()

    def collect_due(self) -> int:
        """Collect the generations whose counts passed their thresholds; returns objects freed."""
        if _freeze_requested.is_set():
            _freeze_requested.clear()
            _paused.clear()
            gc.freeze()
            return 0
        if _paused.is_set():
            return 0
        t0, t1, t2 = self._thresholds
        c0, c1, c2 = gc.get_count()
        if t0 <= 0 or c0 <= t0:
            return 0
        if c1 <= t1:
            return gc.collect(0)
        if c2 <= t2:
            return gc.collect(1)
        return gc.collect(2)

    def uninstall(self) -> None:
        """Stop the timer, collect once here, and give collection back to CPython."""
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()


def import_torch_in_worker() -> None:
    """For a worker thread about to use a model: import torch and torchvision with the GIL held as
    little as possible (labeler.ml.preload), then have the GUI thread freeze what they created."""
    if "torchvision.models.detection" in sys.modules:
        return
    from labeler.ml import preload

    pause()
    try:
        preload.import_torch()
    finally:
        request_freeze()


def install(app: QCoreApplication | None = None) -> GuiThreadCollector:
    """Install the collector on the application (once; later calls return the same one).

    Call it on the GUI thread, after the QApplication exists.
    """
    global _installed
    app = app or QCoreApplication.instance()
    if app is None:
        raise RuntimeError("gc_guard.install needs a QApplication")
    if _installed is None:
        _installed = GuiThreadCollector(app)
    return _installed


def uninstall() -> None:
    """Undo `install` (tests do this between test functions)."""
    global _installed
    if _installed is not None:
        collector, _installed = _installed, None
        collector.uninstall()
        collector.deleteLater()
