"""Opening a damaged project in the app offers its newest good backup; restoring opens it."""

from labeler.core.backup import list_backups
from labeler.core.store import DB_NAME, Project
from labeler.gui import app
from labeler.gui.main_window import MainWindow
from tests.projects import write_images


def _damaged_project(tmp_path):
    folder = write_images(tmp_path / "imgs", {"a.png": (40, 30)})
    with Project.open(folder) as p:
        p.scan()
        car = p.add_category("car")
        p.add_box(p.images()[0].id, car.id, 1, 1, 9, 9)
        p.backups.now()
    with open(folder / ".labeler" / DB_NAME, "r+b") as fh:
        fh.write(b"\0" * 3000)
    return folder


def test_restore_offered_and_project_opens(qtbot, tmp_path, monkeypatch):
    folder = _damaged_project(tmp_path)
    asked = []
    monkeypatch.setattr(app, "ask_restore", lambda parent, exc: asked.append(exc) or True)
    launcher = app.Launcher()
    with qtbot.waitSignal(launcher.opened, timeout=10000) as opened:
        assert launcher.open_folder(folder, scan=False)
    assert opened.args == [True]
    qtbot.addWidget(launcher.window)
    assert isinstance(launcher.window, MainWindow)
    assert len(asked) == 1 and asked[0].backup.name in str(asked[0])
    assert sum(1 for _ in launcher.window.project.all_boxes()) == 1
    assert list((folder / ".labeler").glob(DB_NAME + ".damaged-*"))
    launcher.window.close()


def test_cancel_keeps_the_damaged_store(qtbot, tmp_path, monkeypatch):
    folder = _damaged_project(tmp_path)
    monkeypatch.setattr(app, "ask_restore", lambda parent, exc: False)
    failures = []
    launcher = app.Launcher()
    monkeypatch.setattr(launcher, "_fail", lambda title, text: failures.append((title, text)))
    with qtbot.waitSignal(launcher.opened, timeout=10000) as opened:
        launcher.open_folder(folder, scan=False)
    assert opened.args == [False]
    assert failures and "damaged" in failures[0][1]
    assert not list((folder / ".labeler").glob(DB_NAME + ".damaged-*"))
    assert list_backups(folder / ".labeler")


def test_the_question_names_the_backup_age_and_returns_the_choice(qtbot, tmp_path):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from labeler.core.backup import DamagedStoreError
    from labeler.gui.dialogs.restore import ask_restore

    folder = _damaged_project(tmp_path)
    try:
        Project.open(folder)
    except DamagedStoreError as exc:
        err = exc
    seen = []

    def click(label_start):
        box = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible())
        button = next(b for b in box.buttons() if b.text().startswith(label_start))
        seen.append(button.text())
        button.click()

    QTimer.singleShot(0, lambda: click("Restore the backup from"))
    assert ask_restore(None, err) is True
    assert seen == ["Restore the backup from just now"]
    QTimer.singleShot(0, lambda: click("Cancel"))
    assert ask_restore(None, err) is False
