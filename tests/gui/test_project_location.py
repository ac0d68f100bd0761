"""The app's side of a project kept apart from its images: New project for a folder…, Open project…,
a read-only folder's project in the user data folder (asked once), and a gone image folder found again."""

import shutil

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMessageBox

from labeler.core import location
from labeler.core.location import ImagesFolderMissingError
from labeler.core.store import DATA_DIR, Project
from labeler.gui import app, settings
from labeler.gui.dialogs.project_location import NewProjectDialog, ask_images_folder, ask_user_data_store
from tests.gui.launching import opened
from tests.projects import write_images


def _images(tmp_path, name="imgs"):
    return write_images(tmp_path / name, {"a.png": (40, 30), "b.png": (20, 10)})


def _close(launcher):
    if launcher.window is not None:
        launcher.window.close()


def test_new_project_keeps_the_store_apart_and_reopens_from_recent(qtbot, tmp_path):
    images, store = _images(tmp_path), tmp_path / "tasks" / "cars"
    launcher = app.Launcher()
    assert opened(qtbot, launcher.new_project, str(images), str(store), scan=False)
    qtbot.addWidget(launcher.window)
    window = launcher.window
    assert window.project.data_dir == store.resolve() and window.project.root == images.resolve()
    assert not (images / DATA_DIR).exists()
    assert settings.recent_folders()[0] == str(store.resolve())  # the recent entry reopens the store
    window.close()
    assert opened(qtbot, launcher.open_folder, settings.recent_folders()[0], scan=False)
    qtbot.addWidget(launcher.window)
    assert launcher.window.project.data_dir == store.resolve()
    assert launcher.window.project.root == images.resolve()
    _close(launcher)


def test_open_project_refuses_a_folder_without_a_store(qtbot, tmp_path, monkeypatch):
    launcher = app.Launcher()
    failures = []
    monkeypatch.setattr(launcher, "_fail", lambda title, text: failures.append(text))
    assert not launcher.open_store(_images(tmp_path))
    assert "holds no project (no project.sqlite in it)" in failures[0]


def test_a_gone_image_folder_is_found_with_a_dialog_and_relinked(qtbot, tmp_path, monkeypatch):
    images, store = _images(tmp_path), tmp_path / "store"
    with Project.open(images, store=store) as p:
        p.scan()
    moved = tmp_path / "moved"
    shutil.move(str(images), str(moved))
    asked = []
    monkeypatch.setattr(app, "ask_images_folder", lambda parent, exc: asked.append(exc) or str(moved))
    launcher = app.Launcher()
    assert opened(qtbot, launcher.open_store, store, scan=False)
    qtbot.addWidget(launcher.window)
    assert asked[0].folder == images.resolve()
    assert launcher.window.project.root == moved.resolve()
    _close(launcher)


def test_cancelling_the_search_for_the_images_says_which_folder_is_gone(qtbot, tmp_path, monkeypatch):
    images, store = _images(tmp_path), tmp_path / "store"
    with Project.open(images, store=store):
        pass
    shutil.rmtree(images)
    monkeypatch.setattr(app, "ask_images_folder", lambda parent, exc: None)
    launcher = app.Launcher()
    failures = []
    monkeypatch.setattr(launcher, "_fail", lambda title, text: failures.append(text))
    assert not opened(qtbot, launcher.open_store, store, scan=False)
    assert str(images.resolve()) in failures[0] and "is gone" in failures[0]


def test_read_only_folder_asks_once_then_finds_its_project_again(qtbot, tmp_path, monkeypatch):
    images = _images(tmp_path)
    monkeypatch.setenv(location.READONLY_ENV, str(images))
    asked = []
    monkeypatch.setattr(app, "ask_user_data_store", lambda parent, imgs, store: asked.append(store) or True)
    launcher = app.Launcher()
    assert opened(qtbot, launcher.open_folder, images, scan=False)
    qtbot.addWidget(launcher.window)
    where = location.user_store_dir(images)
    assert asked == [where] and launcher.window.project.data_dir == where
    assert settings.recent_folders()[0] == str(images.resolve())  # the folder: locate finds its store
    launcher.window.close()
    assert opened(qtbot, launcher.open_folder, images, scan=False)
    qtbot.addWidget(launcher.window)
    assert asked == [where] and launcher.window.project.data_dir == where  # not asked again
    _close(launcher)


def test_declining_the_user_data_folder_creates_nothing(qtbot, tmp_path, monkeypatch):
    images = _images(tmp_path)
    monkeypatch.setenv(location.READONLY_ENV, str(images))
    monkeypatch.setattr(app, "ask_user_data_store", lambda parent, imgs, store: False)
    launcher = app.Launcher()
    assert not launcher.open_folder(images, scan=False)
    assert launcher.window is None and not location.user_store_dir(images).exists()


def _click(starting, seen):
    box = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible())
    seen.append(box.text())
    next(b for b in box.buttons() if b.text().startswith(starting)).click()


def test_the_questions_show_the_paths_and_return_the_choice(qtbot, tmp_path, monkeypatch):
    images, store = tmp_path / "ro", tmp_path / "data" / "x"
    seen = []
    QTimer.singleShot(0, lambda: _click("Keep it there", seen))
    assert ask_user_data_store(None, images, store) is True
    assert str(images) in seen[0] and str(store) in seen[0]
    QTimer.singleShot(0, lambda: _click("Cancel", seen))
    assert ask_user_data_store(None, images, store) is False
    err = ImagesFolderMissingError(tmp_path / "store", tmp_path / "gone")
    picked = []
    monkeypatch.setattr("labeler.gui.dialogs.project_location.QFileDialog.getExistingDirectory",
                        lambda parent, title, start: picked.append((title, start)) or str(tmp_path))
    QTimer.singleShot(0, lambda: _click("Find the folder", seen))
    assert ask_images_folder(None, err) == str(tmp_path)
    assert str(tmp_path / "gone") in seen[-1] and picked == [("Where is the image folder gone now?", str(tmp_path))]


def test_new_project_dialog_checks_its_fields(qtbot, tmp_path):
    images = _images(tmp_path)
    dialog = NewProjectDialog(None)
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert ok.text() == "Create or open"
    assert not ok.isEnabled() and dialog.message.text() == "Choose the image folder."
    dialog.images_edit.setText(str(tmp_path / "nope"))
    assert "is not a folder" in dialog.message.text() and not ok.isEnabled()
    dialog.images_edit.setText(str(images))
    (tmp_path / "file").write_text("x")
    dialog.store_edit.setText(str(tmp_path / "file"))
    assert "is a file" in dialog.message.text() and not ok.isEnabled()
    dialog.store_edit.setText(str(tmp_path / "task"))
    assert ok.isEnabled() and dialog.values() == (str(images), str(tmp_path / "task"))


def test_new_project_dialog_shows_its_words_whole(qtbot, tmp_path):
    dialog = NewProjectDialog(None, str(tmp_path / "nope"))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    for label in (dialog.intro, dialog.message):  # wrapped, never cut: as tall as the text needs at its width
        assert label.text() and label.height() >= label.heightForWidth(label.width())


def test_file_menu_new_and_open_project_emit_their_requests(qtbot, tmp_path, monkeypatch):
    from labeler.gui import main_window

    images = _images(tmp_path)
    with Project.open(images) as p:
        p.scan()
    launcher = app.Launcher()
    assert opened(qtbot, launcher.open_folder, images, scan=False)
    window = launcher.window
    qtbot.addWidget(window)
    window.new_project_requested.disconnect()  # only what the window asks for, not the launcher's answer
    window.open_store_requested.disconnect()
    file_texts = [a.text() for a in window.menu("File").actions()]
    assert "&New project for a folder…" in file_texts and "Open &project…" in file_texts
    monkeypatch.setattr(main_window.NewProjectDialog, "ask",
                        classmethod(lambda cls, parent, start="": (start, str(tmp_path / "task"))))
    monkeypatch.setattr(main_window, "choose_store", lambda parent, start="": str(tmp_path / "task"))
    with qtbot.waitSignal(window.new_project_requested) as new:
        window.actions_by_name["new_project"].trigger()
    assert new.args == [str(images.resolve()), str(tmp_path / "task")]
    with qtbot.waitSignal(window.open_store_requested) as asked:
        window.actions_by_name["open_project"].trigger()
    assert asked.args == [str(tmp_path / "task")]
    _close(launcher)


def test_labeler_project_path_folder_opens_the_app_on_that_store(qtbot, tmp_path):
    from tests.gui.test_app import run_and_capture

    images, store = _images(tmp_path), tmp_path / "store"
    code, seen = run_and_capture(qtbot, folder=str(images), project=str(store))
    assert code == 0 and seen[0].project.data_dir == store.resolve() and seen[1] == 2
    code, seen = run_and_capture(qtbot, project=str(store))  # the store alone: its recorded images
    assert seen[0].project.root == images.resolve()


def test_start_screen_new_project_opens_it(qtbot, tmp_path, monkeypatch):
    from labeler.gui.dialogs import start_screen

    images, store = _images(tmp_path), tmp_path / "store"
    monkeypatch.setattr(start_screen.NewProjectDialog, "ask",
                        classmethod(lambda cls, parent, start="": (str(images), str(store))))
    launcher = app.Launcher()
    screen = launcher.show_start_screen()
    qtbot.addWidget(screen)
    with qtbot.waitSignal(launcher.opened, timeout=10000):
        screen.new_button.click()
    assert launcher.window is not None and launcher.window.project.data_dir == store.resolve()
    qtbot.addWidget(launcher.window)
    _close(launcher)
