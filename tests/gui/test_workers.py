"""labeler.gui.workers.GeneratorWorker: yields, returns, errors (logged) and aborts between yields."""

import logging
import threading

from labeler.gui.workers import GeneratorWorker


def _record(worker):
    seen = {"yielded": [], "returned": [], "errored": [], "aborted": 0}
    worker.yielded.connect(seen["yielded"].append)
    worker.returned.connect(seen["returned"].append)
    worker.errored.connect(seen["errored"].append)
    worker.aborted.connect(lambda: seen.__setitem__("aborted", seen["aborted"] + 1))
    return seen


def test_yielded_values_then_the_return_value_arrive_on_the_gui_thread(qtbot):
    threads = []

    def count(n):
        for i in range(n):
            threads.append(threading.current_thread())
            yield i
        return "done"

    worker = GeneratorWorker("count", count, 3)
    seen = _record(worker)
    slot_threads = []
    worker.yielded.connect(lambda _: slot_threads.append(threading.current_thread()))
    with qtbot.waitSignal(worker.finished, timeout=10_000):
        worker.start()
    worker.wait()
    assert seen == {"yielded": [0, 1, 2], "returned": ["done"], "errored": [], "aborted": 0}
    assert threading.main_thread() not in threads and set(slot_threads) == {threading.main_thread()}


def test_an_error_is_emitted_and_its_traceback_logged(qtbot, caplog):
    def fails():
        yield 1
        raise ValueError("the disk said no")

    worker = GeneratorWorker("failing job", fails)
    seen = _record(worker)
    with caplog.at_level(logging.ERROR, logger="labeler.gui.workers"):
        with qtbot.waitSignal(worker.finished, timeout=10_000):
            worker.start()
        worker.wait()
    assert seen["errored"] == ["the disk said no"] and seen["returned"] == [] and seen["aborted"] == 0
    assert "failing job failed" in caplog.text and "Traceback" in caplog.text and "ValueError" in caplog.text


def test_quit_closes_the_generator_at_its_next_yield(qtbot):
    cleaned = []

    def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
                threading.Event().wait(0.01)
        finally:
            cleaned.append(threading.current_thread())

    worker = GeneratorWorker("endless", endless)
    seen = _record(worker)
    with qtbot.waitSignal(worker.finished, timeout=10_000):
        with qtbot.waitSignal(worker.yielded, timeout=10_000):
            worker.start()
        worker.quit()
    worker.wait()
    assert seen["aborted"] == 1 and seen["returned"] == [] and seen["errored"] == []
    assert seen["yielded"] and cleaned and cleaned[0] is not threading.main_thread()  # its finally ran there
    assert worker.abort_requested and not worker.is_running()
