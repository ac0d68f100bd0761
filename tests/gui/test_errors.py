"""The exception hook: an error in a slot is logged and shown, and the app keeps running."""

import threading

import pytest
from PySide6.QtCore import QObject, QTimer, Signal

from labeler.gui import errors


class Emitter(QObject):
    fired = Signal()


@pytest.fixture
def hook(qtbot, monkeypatch):
    shown = []
    monkeypatch.setattr(errors, "show_error_dialog", lambda title, text, details: shown.append((title, text, details)))
    errors.setup_logging()
    h = errors.ExceptionHook()
    yield h, shown
    h.restore()


@pytest.mark.qt_no_exception_capture
def test_an_exception_in_a_slot_shows_a_dialog_and_the_app_goes_on(qtbot, hook):
    h, shown = hook
    e = Emitter()

    def broken():
        raise ValueError("the slot broke")

    e.fired.connect(broken)
    e.fired.emit()
    assert len(shown) == 1
    title, text, details = shown[0]
    assert "ValueError: the slot broke" in text
    assert str(errors.log_path()) in text
    assert "Traceback" in details and "broken" in details
    # the event loop still runs
    ticks = []
    QTimer.singleShot(0, lambda: ticks.append(1))
    qtbot.waitUntil(lambda: ticks == [1], timeout=2000)
    assert "the slot broke" in errors.log_path().read_text()


@pytest.mark.qt_no_exception_capture
def test_a_worker_thread_exception_reaches_the_gui_thread(qtbot, hook):
    h, shown = hook

    def work():
        raise RuntimeError("from a thread")

    t = threading.Thread(target=work)
    t.start()
    t.join()
    qtbot.waitUntil(lambda: len(shown) == 1, timeout=2000)
    assert "RuntimeError: from a thread" in shown[0][1]


def test_restore_puts_back_the_previous_hooks(qtbot):
    import sys

    before = sys.excepthook
    h = errors.ExceptionHook()
    assert sys.excepthook != before
    h.restore()
    assert sys.excepthook == before
