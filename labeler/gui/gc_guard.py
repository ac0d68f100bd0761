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

`IdleWarmUp` does that import once after the window opens, at the first second without input
(labeler.gui.app): the part of it that no preloading avoids (`torch._C._initExtension` holds the
GIL; a stall of ~30 ms idle, ~150 ms while images are being stepped through, on 2 cores) then falls
where nobody is interacting, and not at the first Fine-tune or Pre-label click.
"""

from __future__ import annotations

import gc
import logging
import threading
import time

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer

from labeler.ml.preload import torch_ready as _torch_ready

#: how often the GUI thread looks at the collector's counts
INTERVAL_MS = 100
#: the background import of torch waits for this long without input from the user
IDLE_MS = 1000
#: a key bound to a shortcut (D, Right...) arrives as ShortcutOverride and Shortcut, not KeyPress
_INPUT_EVENTS = frozenset({QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride, QEvent.Type.Shortcut,
                           QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove, QEvent.Type.Wheel})

log = logging.getLogger(__name__)

_installed: "GuiThreadCollector | None" = None
_freeze_requested = threading.Event()
_paused = threading.Event()
_import_lock = threading.Lock()


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
    little as possible (labeler.ml.preload), then have the GUI thread freeze what they created.

    Threads that call it together wait for one import (the warm-up's, usually)."""
    if _torch_ready():
        return
    with _import_lock:
        if _torch_ready():
            return
        from labeler.ml import preload  # looked up at call time: tests replace import_torch

        pause()
        try:
            preload.import_torch()
        finally:
            request_freeze()


def _warm_up() -> None:
    started = time.perf_counter()
    try:
        import_torch_in_worker()
        log.info("torch ready for model work (background import: %.1f s)", time.perf_counter() - started)
    except Exception as e:  # noqa: BLE001 - annotation works without torch; model work reports it
        log.info("torch was not imported in the background (%s); model work will say why", e)


def warm_up_in_background() -> threading.Thread:
    """Import torch on a worker thread now, while the user looks at the window.

    Even with the libraries preloaded, one C call of torch's import (`torch._C._initExtension`,
    ~100 ms on the 2-core CI machine) holds the GIL; done at start it does not land in the middle
    of a first Fine-tune or Pre-label click. Not a daemon: leaving during the import waits for it.
    """
    thread = threading.Thread(target=_warm_up, name="labeler-torch-import")
    thread.start()
    return thread


class IdleWarmUp(QObject):
    """Runs `warm_up_in_background` once the user has not typed, clicked, moved the mouse or
    scrolled for `idle_ms`: the import then does not compete with someone stepping through images.
    A model worker started before that imports torch itself (and the warm-up finds it done)."""

    def __init__(self, app: QCoreApplication, idle_ms: int = IDLE_MS):
        super().__init__(app)
        self.thread: threading.Thread | None = None
        self._app = app
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(idle_ms)
        self._timer.timeout.connect(self._start)
        app.installEventFilter(self)
        self._timer.start()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() in _INPUT_EVENTS:
            self._timer.start()
        return False

    def _start(self) -> None:
        self._app.removeEventFilter(self)
        self.thread = warm_up_in_background()


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
