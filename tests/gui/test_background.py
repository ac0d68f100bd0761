"""labeler.gui.background.BackgroundTask: the progress-callback adapter over GeneratorWorker."""

import threading

from labeler.gui.background import BackgroundTask


def test_progress_and_result_arrive_on_the_gui_thread_and_running_clears_first(qtbot):
    ran_on = []

    def work(n, progress):
        ran_on.append(threading.current_thread())
        for i in range(n):
            progress(i + 1, n)
        return n * 10

    task = BackgroundTask("work", work, 3)
    steps, results, running_seen, slot_threads = [], [], [], []
    task.progressed.connect(lambda done, total: (steps.append((done, total)),
                                                 slot_threads.append(threading.current_thread())))
    task.finished.connect(lambda r: (results.append(r), running_seen.append(task.running)))
    with qtbot.waitSignal(task.finished, timeout=10_000):
        task.start()
        assert task.running
    assert task.wait(5_000)
    assert steps == [(1, 3), (2, 3), (3, 3)] and results == [30] and running_seen == [False]
    assert threading.main_thread() not in ran_on and set(slot_threads) == {threading.main_thread()}


def test_a_failure_is_emitted_and_its_traceback_logged(qtbot, caplog):
    def work(progress):
        raise ValueError("bad input")

    task = BackgroundTask("Exporting", work)
    failures = []
    task.failed.connect(failures.append)
    with caplog.at_level("ERROR", logger="labeler.gui.workers"):
        with qtbot.waitSignal(task.failed, timeout=10_000):
            task.start()
        task.wait(5_000)
    assert failures == ["bad input"] and not task.running
    assert "Exporting failed" in caplog.text and "Traceback" in caplog.text and "ValueError" in caplog.text
