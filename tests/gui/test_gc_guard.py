"""Cyclic garbage holding widgets is collected on the GUI thread, never by a worker thread."""

import gc
import threading

from PySide6.QtCore import QThread
from PySide6.QtWidgets import QLabel, QWidget

from labeler.gui import gc_guard


class _CyclicWidget(QWidget):
    def __init__(self, destroyed_in: list):
        super().__init__()
        self.me = self  # a reference cycle: only the cyclic collector frees it
        self.label = QLabel("x", self)
        self.destroyed.connect(lambda: destroyed_in.append(threading.current_thread().name))


class _Allocator(QThread):
    """Allocates like a worker building a model: far past gen-0's threshold."""

    def run(self):
        junk = [[i] for i in range(300_000)]
        self.total = len(junk)


def test_worker_threads_never_collect_widgets(qtbot):
    assert not gc.isenabled()  # the conftest installed the guard, as run_app does
    destroyed_in: list = []
    for _ in range(50):
        widget = _CyclicWidget(destroyed_in)
        widget.show()
        del widget
    worker = _Allocator()
    worker.start()
    assert worker.wait(60_000), "the worker hung collecting widgets"
    assert worker.total == 300_000
    assert destroyed_in == []  # nothing was finalized off the GUI thread
    # the worker's objects died by reference counting; the GUI thread allocates past gen 0's threshold
    keep = [[i] for i in range(gc.get_threshold()[0] + 10)]
    qtbot.waitUntil(lambda: len(destroyed_in) == 50, timeout=5_000)  # the timer collected them
    assert set(destroyed_in) == {threading.main_thread().name}
    del keep


def test_collection_follows_cpythons_thresholds(qtbot):
    collector = gc_guard.install()
    assert gc_guard.install() is collector  # installed once
    gc.collect()
    assert collector.collect_due() == 0  # under the gen-0 threshold: nothing to do
    garbage = []
    for _ in range(gc.get_threshold()[0] + 10):
        node: dict = {}
        node["self"] = node
        garbage.append(node)
    del garbage, node
    assert collector.collect_due() >= gc.get_threshold()[0]


def test_uninstall_gives_collection_back_to_cpython(qtbot):
    gc_guard.uninstall()
    assert gc.isenabled()
    collector = gc_guard.install()
    assert not gc.isenabled() and gc_guard.install() is collector


def test_a_freeze_request_is_carried_out_on_the_gui_thread(qtbot):
    gc.unfreeze()
    before = gc.get_freeze_count()
    worker = threading.Thread(target=gc_guard.request_freeze)  # as a model worker does after its imports
    worker.start()
    worker.join()
    assert gc.get_freeze_count() == before  # nothing happens off the GUI thread
    qtbot.waitUntil(lambda: gc.get_freeze_count() > before, timeout=2_000)
    gc.unfreeze()


def test_collection_pauses_while_a_worker_imports(qtbot):
    collector = gc_guard.install()
    gc_guard.pause()
    garbage = [{} for _ in range(gc.get_threshold()[0] * 3)]
    for node in garbage:
        node["self"] = node
    del garbage, node
    assert collector.collect_due() == 0  # paused: nothing is walked while the import runs
    gc.unfreeze()
    gc_guard.request_freeze()  # the import is done
    collector.collect_due()
    assert gc.get_freeze_count() > 0
    gc.unfreeze()
    assert not gc_guard._paused.is_set()  # the freeze ends the pause


def test_the_warm_up_imports_torch_once_on_a_worker_thread(qtbot, monkeypatch):
    from labeler.ml import preload

    calls, ready = [], threading.Event()

    def slow_import():
        calls.append(threading.current_thread().name)
        threading.Event().wait(0.2)
        ready.set()

    monkeypatch.setattr(gc_guard, "_torch_ready", ready.is_set)
    monkeypatch.setattr(preload, "import_torch", slow_import)
    gc_guard.install()
    threads = [gc_guard.warm_up_in_background(), gc_guard.warm_up_in_background()]
    clicked = threading.Thread(target=gc_guard.import_torch_in_worker)  # a Fine-tune click meanwhile
    clicked.start()
    for thread in threads + [clicked]:
        thread.join(5)
    assert calls == ["labeler-torch-import"]  # the others waited for it instead of importing again
    qtbot.waitUntil(lambda: not gc_guard._paused.is_set(), timeout=2_000)  # frozen; collecting again
    gc.unfreeze()


def test_a_warm_up_without_torch_is_logged_and_changes_nothing(qtbot, monkeypatch, caplog):
    from labeler.ml import preload

    def no_torch():
        raise ImportError("No module named 'torch'")

    monkeypatch.setattr(gc_guard, "_torch_ready", lambda: False)
    monkeypatch.setattr(preload, "import_torch", no_torch)
    gc_guard.install()
    with caplog.at_level("INFO", logger="labeler.gui.gc_guard"):
        gc_guard.warm_up_in_background().join(5)
    assert "No module named 'torch'" in caplog.text
    qtbot.waitUntil(lambda: not gc_guard._paused.is_set(), timeout=2_000)
    gc.unfreeze()


def test_the_warm_up_waits_for_a_pause_in_the_users_input(qtbot, monkeypatch):
    from PySide6.QtCore import QElapsedTimer, Qt
    from PySide6.QtGui import QAction, QKeySequence
    from PySide6.QtWidgets import QApplication

    started = []
    monkeypatch.setattr(gc_guard, "warm_up_in_background", lambda: started.append(1) or threading.Thread())
    widget = QLabel("typing here")
    qtbot.addWidget(widget)
    steps = []
    step = QAction("Next image", widget, shortcut=QKeySequence("D"), triggered=lambda: steps.append(1))
    widget.addAction(step)  # like the window's D: the key arrives as a shortcut, not a key press
    widget.show()
    qtbot.waitExposed(widget)
    widget.activateWindow()
    warm_up = gc_guard.IdleWarmUp(QApplication.instance(), idle_ms=300)
    clock = QElapsedTimer()
    clock.start()
    while clock.elapsed() < 900:  # a key every 100 ms: never idle for 300 ms
        qtbot.keyClick(widget, Qt.Key.Key_D)
        qtbot.wait(100)
    assert started == [] and len(steps) >= 8
    qtbot.waitUntil(lambda: started == [1], timeout=2_000)  # the user paused
    qtbot.keyClick(widget, Qt.Key.Key_D)
    qtbot.wait(500)
    assert started == [1] and warm_up.thread is not None  # once only
