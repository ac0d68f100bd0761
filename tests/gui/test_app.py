"""run_app: opens the folder given, else the last one, else the start screen; logs to the user's log folder."""

from PIL import Image
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from labeler.gui import app, errors, settings
from labeler.gui.main_window import MainWindow
from labeler.gui.dialogs.start_screen import StartScreen


def run_and_capture(qtbot, **kwargs):
    """Run the app; once its event loop is up, note the top-level windows and close them."""
    seen = []

    def shown():
        return [w for w in QApplication.topLevelWidgets() if w.isVisible() and isinstance(w, (MainWindow, StartScreen))]

    def inspect():
        qtbot.waitUntil(lambda: bool(shown()), timeout=10000)  # the store opens on a worker first
        tops = shown()
        seen.extend(tops)
        if tops and isinstance(tops[0], MainWindow):
            # wait for the opening scan, as a user would
            qtbot.waitUntil(lambda: not tops[0].tasks_running(), timeout=10000)
            seen.append(tops[0].image_model.total())
        for w in tops:
            w.close()

    QTimer.singleShot(0, inspect)
    QTimer.singleShot(15000, QApplication.quit)  # never hang the suite
    code = app.run_app(**kwargs)
    return code, seen


def test_run_app_opens_the_folder_and_scans_it(qtbot, tmp_path):
    folder = tmp_path / "pics"
    folder.mkdir()
    for i in range(3):
        Image.new("RGB", (20, 10)).save(folder / f"{i}.png")
    code, seen = run_and_capture(qtbot, folder=str(folder))
    assert code == 0
    assert isinstance(seen[0], MainWindow) and seen[1] == 3
    assert settings.last_folder() == str(folder.resolve())
    assert errors.log_path().exists() and "Opened" in errors.log_path().read_text()
    # without a folder it reopens the last one
    code, seen = run_and_capture(qtbot)
    assert isinstance(seen[0], MainWindow) and seen[0].project.root == folder.resolve()


def test_run_app_without_a_last_folder_shows_the_start_screen(qtbot):
    assert settings.last_folder() is None
    code, seen = run_and_capture(qtbot)
    assert len(seen) == 1 and isinstance(seen[0], StartScreen)


def test_demo_is_written_once_in_a_worker_then_opened(qtbot, monkeypatch):
    import functools

    from labeler.core import demo

    calls = []
    real = demo.write_demo

    def small_demo(folder, **kwargs):
        calls.append(folder)
        return functools.partial(real, n_images=6, n_reviewed=2)(folder, **kwargs)

    monkeypatch.setattr(demo, "write_demo", small_demo)
    folder = app.demo_folder()
    assert folder.parts[-2:] == ("labeler", "demo") and not folder.exists()
    launcher = app.Launcher()
    launcher.open_demo()
    qtbot.waitUntil(lambda: launcher.window is not None, timeout=20000)
    window = launcher.window
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: not window.tasks_running(), timeout=10000)
    assert window.project.root == folder.resolve() and calls == [folder]
    assert window.image_model.total() == 6 and window.image_model.counts["reviewed"] == 2
    window.close()
    with qtbot.waitSignal(launcher.opened, timeout=10000):
        launcher.open_demo()  # already there: opened as it is, not written again
    qtbot.addWidget(launcher.window)
    assert launcher.window is not window and calls == [folder]
    launcher.window.close()


def test_sigterm_closes_the_app_as_its_close_button_does(tmp_path):
    """A logout or `kill` (SIGTERM) closes the window properly: exit code 0, the image shown is
    remembered for next time, the project lock is released. Without a handler the process just dies."""
    import json
    import os
    import signal
    import subprocess
    import sys

    from labeler.core.store import Project
    from labeler.gui.main_window import LAST_IMAGE_KEY

    folder = tmp_path / "pics"
    folder.mkdir()
    for i in range(3):
        Image.new("RGB", (20, 10), (80 * i, 0, 0)).save(folder / f"{i}.png")
    script = f"""
import json, os, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from labeler.gui.app import run_app
from labeler.gui.main_window import MainWindow

def step_then_wait():
    windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
    if not windows or windows[0].tasks_running() or windows[0].image_model.total() < 3:
        QTimer.singleShot(50, step_then_wait)
        return
    windows[0].step(1)
    print("READY", windows[0].current_image_id(), flush=True)  # now idle, until the test's signal

QTimer.singleShot(0, step_then_wait)
QTimer.singleShot(30000, lambda: os._exit(3))  # never hang the suite
code = run_app(folder={str(folder)!r})
print("EXIT", code, flush=True)
"""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        ready = proc.stdout.readline().split()
        assert ready[:1] == ["READY"], (ready, proc.stderr.read()[-2000:] if proc.poll() is not None else "")
        shown = int(ready[1])
        proc.send_signal(signal.SIGTERM)  # as `kill PID` or a logout does
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, (proc.returncode, err[-2000:])
    assert "EXIT 0" in out
    with Project.open(folder) as p:  # the lock is free: the window closed its project
        assert p.get_setting(LAST_IMAGE_KEY) == shown != p.images()[0].id
    assert "Closing on signal SIGTERM" in errors.log_path().read_text()
