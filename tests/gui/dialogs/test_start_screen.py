"""The start screen lists recent folders and hands the chosen one on."""

from PySide6.QtCore import Qt

from labeler.gui import settings
from labeler.gui.dialogs.start_screen import StartScreen


def test_recent_folders_are_listed_and_open_on_activation(qtbot, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    settings.add_recent_folder(str(b))  # b does not exist: listed, but disabled
    settings.add_recent_folder(str(a))
    assert settings.recent_folders() == [str(a), str(b)]
    assert settings.last_folder() == str(a)
    screen = StartScreen()
    qtbot.addWidget(screen)
    assert screen.recent.count() == 2
    assert screen.recent.item(0).text() == str(a)
    assert "not found" in screen.recent.item(1).text()
    assert not screen.recent.item(1).flags() & Qt.ItemFlag.ItemIsEnabled
    with qtbot.waitSignal(screen.folder_chosen) as blocker:
        screen.recent.itemActivated.emit(screen.recent.item(0))
    assert blocker.args == [str(a)]
    with qtbot.assertNotEmitted(screen.folder_chosen):
        screen.recent.itemActivated.emit(screen.recent.item(1))


def test_open_folder_button_uses_the_chosen_folder(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(tmp_path)))
    screen = StartScreen()
    qtbot.addWidget(screen)
    assert screen.recent.count() == 1 and not screen.recent.item(0).flags() & Qt.ItemFlag.ItemIsEnabled
    with qtbot.waitSignal(screen.folder_chosen) as blocker:
        qtbot.mouseClick(screen.open_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [str(tmp_path)]
    with qtbot.waitSignal(screen.demo_requested):
        qtbot.mouseClick(screen.demo_button, Qt.MouseButton.LeftButton)


def test_settings_survive_odd_values(qtbot, tmp_path):
    from labeler.core.store import Project

    with Project.open(tmp_path) as project:
        project.set_setting(settings.SCORE_THRESHOLD, "garbage")
        assert settings.score_threshold(project) == 0.5
        settings.set_score_threshold(project, 0.8)
        assert settings.score_threshold(project) == 0.8
    settings.add_recent_folder("/x")
    settings.remove_recent_folder("/x")
    assert settings.recent_folders() == [] and settings.last_folder() is None
