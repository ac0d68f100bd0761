"""The annotation window: keyboard navigation, undo across images, filter, export/import, shortcuts,
persistence, and the launcher. Each test checks the store as well as the window."""

import json

import pytest
from PIL import Image
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QDockWidget, QLabel

from labeler.core import commands
from labeler.core.store import PREDICTED, SOURCE_MODEL, Project
from labeler.gui import main_window as mw
from labeler.gui import settings
from labeler.gui.main_window import MainWindow
from labeler.gui.undo import push
from tests.projects import write_images

N_IMAGES = 6


IMAGES = {f"img_{i}.png": (40, 30) for i in range(N_IMAGES)}


@pytest.fixture
def folder(tmp_path):
    return write_images(tmp_path / "photos", IMAGES)


@pytest.fixture
def project(new_project, folder):
    return new_project(folder=folder, classes=["car"])


@pytest.fixture
def window(qtbot, project, monkeypatch):
    warnings, infos = [], []
    monkeypatch.setattr(mw, "show_warning", lambda parent, title, text: warnings.append(text))
    monkeypatch.setattr(mw, "show_information", lambda parent, title, text: infos.append(text))
    w = MainWindow(project)
    w.warnings, w.infos = warnings, infos
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    w.canvas.setFocus()
    return w


def image_ids(project):
    return [im.id for im in project.images()]


def press(qtbot, window, key, modifier=Qt.KeyboardModifier.NoModifier):
    qtbot.keyClick(window.canvas, key, modifier)


def test_opens_on_the_first_image_with_its_status(qtbot, window, project):
    ids = image_ids(project)
    assert window.current_image_id() == ids[0]
    assert window.canvas.current_image_id() == ids[0]
    assert window.size_label.text() == "40 x 30 px  ·  unlabeled"
    assert window.count_label.text() == f"reviewed 0 / {N_IMAGES}"
    project.add_box(ids[0], project.categories()[0].id, 2, 2, 30, 25)  # a person's box
    qtbot.waitUntil(lambda: window.size_label.text() == "40 x 30 px  ·  in progress", timeout=2000)


def test_navigation_keys(qtbot, window, project):
    ids = image_ids(project)
    seen = []
    window.current_image_changed.connect(seen.append)
    press(qtbot, window, Qt.Key.Key_D)
    assert window.current_image_id() == ids[1]
    press(qtbot, window, Qt.Key.Key_Right)
    assert window.current_image_id() == ids[2]
    press(qtbot, window, Qt.Key.Key_A)
    assert window.current_image_id() == ids[1]
    press(qtbot, window, Qt.Key.Key_Left)
    assert window.current_image_id() == ids[0]
    press(qtbot, window, Qt.Key.Key_Left)  # stays on the first
    assert window.current_image_id() == ids[0]
    press(qtbot, window, Qt.Key.Key_End)
    assert window.current_image_id() == ids[-1]
    press(qtbot, window, Qt.Key.Key_Home)
    assert window.current_image_id() == ids[0]
    project.set_reviewed([ids[1], ids[2]])
    press(qtbot, window, Qt.Key.Key_D, Qt.KeyboardModifier.ShiftModifier)
    assert window.current_image_id() == ids[3]
    assert seen == [ids[1], ids[2], ids[1], ids[0], ids[-1], ids[0], ids[3]]
    assert window.canvas.current_image_id() == ids[3]
    assert window.image_panel.view.currentIndex().row() == 3


def test_undo_goes_back_to_the_image_it_changes(qtbot, window, project):
    ids = image_ids(project)
    car = project.categories()[0].id
    cmd = commands.AddBoxes(ids[0], [(car, 2, 2, 20, 20)])
    assert push(window.undo_stack, project, cmd, window.reporter)
    assert len(project.boxes(ids[0])) == 1
    press(qtbot, window, Qt.Key.Key_D)
    press(qtbot, window, Qt.Key.Key_D)
    assert window.current_image_id() == ids[2]
    press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert project.boxes(ids[0]) == []
    assert window.current_image_id() == ids[0]
    press(qtbot, window, Qt.Key.Key_End)
    press(qtbot, window, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert len(project.boxes(ids[0])) == 1 and window.current_image_id() == ids[0]
    press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert len(project.boxes(ids[0])) == 1
    qtbot.waitUntil(lambda: window.box_list.box_ids() == [b.id for b in project.boxes(ids[0])], timeout=2000)


def test_filter_limits_navigation_and_the_list(qtbot, window, project):
    ids = image_ids(project)
    car = project.categories()[0].id
    project.add_boxes(ids[2], [(car, 1, 1, 20, 20, 0.9)], source=SOURCE_MODEL, state=PREDICTED)
    project.add_boxes(ids[4], [(car, 1, 1, 20, 20, 0.9)], source=SOURCE_MODEL, state=PREDICTED)
    window.image_panel.set_status_filter("pre-labeled")
    assert window.image_model.rowCount() == 2
    press(qtbot, window, Qt.Key.Key_D)
    assert window.current_image_id() == ids[2]
    press(qtbot, window, Qt.Key.Key_D)
    assert window.current_image_id() == ids[4]
    window.image_panel.set_status_filter("all")
    assert window.image_model.rowCount() == N_IMAGES
    assert window.image_panel.view.currentIndex().row() == 4  # the current image stays selected


def test_export_action_writes_a_valid_coco_file(qtbot, window, project, tmp_path, monkeypatch):
    from pycocotools.coco import COCO
    from PySide6.QtWidgets import QDialog

    from labeler.gui.dialogs.import_export import ExportDialog

    ids = image_ids(project)
    car = project.categories()[0].id
    project.add_box(ids[0], car, 2, 3, 22, 13)
    project.add_box(ids[1], car, 5, 5, 15, 15)  # on an unreviewed image: left out, and said so
    project.set_reviewed(ids[0])
    out = tmp_path / "out" / "labels.json"

    def fill_in(dialog):
        dialog.format_box.setCurrentIndex(dialog.format_box.findData("coco"))
        dialog.path_edit.setText(str(out))
        dialog.accept()
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(ExportDialog, "exec", fill_in)
    window.actions_by_name["export"].trigger()
    qtbot.waitUntil(lambda: len(window.infos) > 0, timeout=10000)
    coco = COCO(str(out))
    assert len(coco.getImgIds()) == 1 and len(coco.getAnnIds()) == 1
    ann = coco.loadAnns(coco.getAnnIds())[0]
    assert ann["bbox"] == [2, 3, 20, 10] and coco.loadCats(ann["category_id"])[0]["name"] == "car"
    assert "Wrote 1 image, 1 box and 1 class" in window.infos[0]
    assert f"Left out {N_IMAGES - 1} unreviewed images and their 1 box" in window.infos[0]
    assert '"Include unreviewed images"' in window.infos[0]
    assert project.get_setting("export.path.coco") == str(out)


def test_export_failure_is_reported(qtbot, window, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    target = blocker / "x.json"
    window.export_to(target)
    qtbot.waitUntil(lambda: len(window.warnings) > 0, timeout=10000)
    assert "failed" in window.warnings[0]
    assert not target.exists()


def test_import_runs_in_a_worker_and_reports(qtbot, window, project, tmp_path):
    ids = image_ids(project)
    data = {
        "images": [{"id": 1, "file_name": "img_1.png", "width": 40, "height": 30}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 7, "bbox": [1, 1, 10, 10], "area": 100, "iscrowd": 0}],
        "categories": [{"id": 7, "name": "bike"}],
    }
    path = tmp_path / "in.json"
    path.write_text(json.dumps(data))
    assert window.import_from(path)
    qtbot.waitUntil(lambda: len(window.infos) > 0, timeout=10000)
    assert [c.name for c in project.categories()] == ["car", "bike"]
    assert len(project.boxes(ids[1])) == 1 and project.image(ids[1]).reviewed
    qtbot.waitUntil(lambda: window.count_label.text() == f"reviewed 1 / {N_IMAGES}", timeout=2000)


def test_rescan_finds_new_images(qtbot, window, folder, project):
    Image.new("RGB", (10, 10)).save(folder / "zzz_new.png")
    shown = window.current_image_id()
    qtbot.waitUntil(lambda: window.canvas._loader.cached(shown) is not None, timeout=10000)
    window.rescan()
    qtbot.waitUntil(lambda: window.image_model.total() == N_IMAGES + 1, timeout=10000)
    assert project.image_by_path("zzz_new.png") is not None
    qtbot.waitUntil(lambda: window.canvas._loader.cached(shown) is None, timeout=10000)  # decoded afresh next time


def test_shortcuts_dialog_lists_every_action_shortcut(qtbot, window):
    dlg = window.show_shortcuts()
    qtbot.addWidget(dlg)
    rows = {dlg.table.item(r, 0).text(): dlg.table.item(r, 1).text() for r in range(dlg.table.rowCount())}
    assert rows["Next image"] == "D, Right"
    assert rows["Previous image"] == "A, Left"
    assert rows["Next image not reviewed"] == "Shift+D"
    assert "Ctrl+Z" in rows["Undo"] and "Ctrl+Y" in rows["Redo"]
    with_keys = [a for a in window.all_actions() if a.shortcuts()]
    listed = set(rows.values())
    for a in with_keys:
        assert any(k.toString() in " ".join(listed) for k in a.shortcuts()), a.text()
    for key in window.canvas.edit_actions:
        assert window.canvas.edit_actions[key] in window.actions()


def test_extension_points_for_other_panels(qtbot, window):
    model_menu = window.menu("Model")
    assert window.menu("Model") is model_menu
    titles = [a.text() for a in window.menuBar().actions()]
    assert titles.index("Model") == titles.index("Help") - 1
    dock = window.add_dock("Pre-labeling", QLabel("panel"))
    assert isinstance(dock, QDockWidget) and dock.objectName() == "dock_pre-labeling"
    assert dock.toggleViewAction() in window.menu("View").actions()
    assert window.selected_image_ids() == [window.current_image_id()]


def test_threshold_and_layout_persist(qtbot, project, folder, monkeypatch):
    w = MainWindow(project)
    qtbot.addWidget(w)
    w.show()
    w.score_slider.setValue(73)
    assert w.canvas.score_threshold() == pytest.approx(0.73)
    w.image_panel.set_status_filter("unlabeled")
    w.step(1)
    assert settings.score_threshold(project) == pytest.approx(0.73)  # kept in the project
    w.close()
    assert QSettings().value(settings.STATE) is not None
    p2 = Project.open(folder)  # the first window closed the project and released its lock
    w2 = MainWindow(p2)
    qtbot.addWidget(w2)
    w2.show()
    assert w2.score_slider.value() == 73
    assert w2.image_model.filter()[0] == "unlabeled"
    assert w2.current_image_id() == image_ids(p2)[1]  # back on the image we left
    w2.close()


def _open(qtbot, launcher, folder):
    """open_folder, then the outcome (the store opens on a worker)."""
    with qtbot.waitSignal(launcher.opened, timeout=10000) as blocker:
        assert launcher.open_folder(folder)
    return blocker.args[0]


def test_launcher_opens_folders_and_explains_a_locked_project(qtbot, folder, monkeypatch):
    from labeler.gui import app

    warnings = []
    monkeypatch.setattr(app, "show_warning", lambda parent, title, text: warnings.append(text))
    launcher = app.Launcher()
    assert _open(qtbot, launcher, folder)
    first = launcher.window
    qtbot.addWidget(first)
    qtbot.waitUntil(lambda: not first.tasks_running(), timeout=10000)
    assert settings.last_folder() == str(folder.resolve())
    other = app.Launcher()
    assert not _open(qtbot, other, folder)  # the same folder is locked by the first window
    assert other.window is None and "open in another labeler process" in warnings[0]
    assert other.start_screen is not None and other.start_screen.isVisible()
    qtbot.addWidget(other.start_screen)
    assert str(folder.resolve()) in other.start_screen.recent.item(0).text()
    assert not _open(qtbot, launcher, folder / "nope")
    assert launcher.window is first and "is not a folder" in warnings[-1]
    first.close()


def test_the_store_opens_off_the_gui_thread_and_the_window_shows_the_backup(qtbot, folder, monkeypatch):
    import threading

    from labeler.core import store
    from labeler.gui import app

    threads = []
    real = store.backup.check_store
    monkeypatch.setattr(store.backup, "check_store", lambda *a: (threads.append(threading.current_thread()), real(*a)))
    launcher = app.Launcher()
    assert _open(qtbot, launcher, folder)
    w = launcher.window
    qtbot.addWidget(w)
    assert threads and threading.main_thread() not in threads  # quick_check (and the backup after it) ran on the worker
    assert w.project.backups.last is not None  # the backup made on open
    assert w.backup_status.text().startswith("Backed up ") and str(w.project.backups.last.path) in w.backup_status.toolTip()
    w.close()


def test_a_backup_that_fails_is_said_in_the_status_bar(qtbot, window, project):
    backups = project.data_dir / "backups"
    for old in backups.iterdir():
        old.unlink()
    backups.rmdir()
    backups.write_text("a file where the backups folder should be")  # every backup fails from here on, for real
    with qtbot.waitSignal(window.backup_status._reported, timeout=10000):
        threading_backup(project)
    message = window.statusBar().currentMessage()
    assert message.startswith("Backup failed: Could not back up the project store") and str(backups) in message
    assert window.backup_status.text() == "Backup failed" and str(backups) in window.backup_status.toolTip()
    backups.unlink()
    with qtbot.waitSignal(window.backup_status._reported, timeout=10000):
        threading_backup(project)
    assert window.backup_status.text().startswith("Backed up ")


def threading_backup(project):
    """A backup made as after a commit: on the backup's own thread."""
    import threading

    t = threading.Thread(target=project.backups.now)
    t.start()
    t.join()


def test_arrows_nudge_a_selection_and_navigate_without_one(qtbot, window, project):
    ids = image_ids(project)
    car = project.categories()[0].id
    box = project.add_box(ids[0], car, 5, 5, 15, 15)
    qtbot.waitUntil(lambda: window.box_list.box_ids() == [box.id], timeout=2000)
    window.canvas.select_boxes([box.id])
    qtbot.waitUntil(lambda: window.box_list.selected_box_ids() == [box.id], timeout=2000)
    press(qtbot, window, Qt.Key.Key_Right)
    assert window.current_image_id() == ids[0]
    assert project.box(box.id).x1 == 6
    window.box_list.tree.clearSelection()  # selecting in the list selects in the canvas
    qtbot.waitUntil(lambda: window.canvas.selected_box_ids() == [], timeout=2000)
    press(qtbot, window, Qt.Key.Key_Right)
    assert window.current_image_id() == ids[1]


def test_a_bad_import_file_is_explained_and_changes_nothing(qtbot, window, project, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{ not json")
    car = project.categories()[0].id
    box = project.add_box(image_ids(project)[0], car, 1, 1, 10, 10)
    window.import_from(path)
    qtbot.waitUntil(lambda: len(window.warnings) > 0, timeout=10000)
    assert "Importing failed" in window.warnings[0] and "bad.json" in window.warnings[0]
    assert [b.id for b in project.boxes(image_ids(project)[0])] == [box.id]
    assert not window.progress.isVisible()


def test_keys_navigate_from_the_list_but_type_into_the_filter(qtbot, window, project):
    ids = image_ids(project)
    window.image_panel.view.setFocus()
    qtbot.keyClick(window.image_panel.view, Qt.Key.Key_D)
    assert window.current_image_id() == ids[1]
    qtbot.keyClick(window.image_panel.view, Qt.Key.Key_Down)  # moving in the list shows that image
    assert window.current_image_id() == ids[2]
    window.image_panel.text_box.setFocus()
    qtbot.keyClicks(window.image_panel.text_box, "d")
    assert window.image_panel.text_box.text() == "d" and window.current_image_id() == ids[2]


def test_model_panels_are_docked_and_p_prelabels_the_shown_image(qtbot, window, project):
    pytest.importorskip("torch")
    from labeler.ml.predict import ModelChoice
    from tests.ml.prelabel_fixtures import save_tiny_checkpoint

    assert {"Pre-label", "Fine-tune"} <= set(window.docks)
    assert [a.text() for a in window.menu("Model").actions()][:1] == ["Pre-label current image"]
    window.actions_by_name["train_panel"].trigger()
    assert window.docks["Fine-tune"].isVisible()
    panel = window.prelabel_panel
    ckpt = save_tiny_checkpoint(project.root / ".labeler" / "runs" / "1" / "best.pth")
    run = project.add_run("fasterrcnn_mobilenet_v3_large_320_fpn", {}, ["cat", "dog"])
    project.update_run(run, status="done", checkpoint=".labeler/runs/1/best.pth", best_map=0.5)
    qtbot.waitUntil(lambda: panel.model_box.count() == 5)  # the new run joins the model list
    for name in ("cat", "dog"):
        project.add_category(name)
    panel.select_model(ModelChoice.checkpoint(ckpt, project.root))
    panel.score_box.setValue(0.05)  # random weights score every class near 1/3
    panel.device_box.setCurrentText("cpu")
    window.go_to_image(image_ids(project)[2])
    window.canvas.setFocus()
    with qtbot.waitSignal(panel.run_finished, timeout=60_000) as blocker:
        press(qtbot, window, Qt.Key.Key_P)
    assert blocker.args[0].images == 1
    shown = image_ids(project)[2]
    assert [im.id for im in project.images() if im.predicted_count] == [shown]
    # the canvas shows the new predictions without a reload
    qtbot.waitUntil(lambda: len(window.canvas.box_items()) == project.image(shown).predicted_count)


def test_the_canvas_gets_the_room_and_long_model_names_do_not_widen_the_docks(qtbot, window):
    """The default window: side panels as narrow as their controls, the canvas over half the width.
    The model lists have long item texts; their boxes shrink, their drop-down lists stay readable."""
    qtbot.waitUntil(lambda: window.canvas.width() > 0)
    assert window.canvas.width() > window.width() / 2
    for box in (window.prelabel_panel.model_box, window.train_panel.model_box):
        longest = max(box.fontMetrics().horizontalAdvance(box.itemText(i)) for i in range(box.count()))
        assert box.minimumSizeHint().width() < longest
        assert box.view().minimumWidth() >= longest


def test_threshold_is_per_project_and_ctrl_enter_says_what_it_removed(qtbot, window, project, tmp_path):
    ids = image_ids(project)
    car = project.categories()[0].id
    project.add_boxes(ids[0], [(car, 1, 1, 20, 20, 0.9), (car, 2, 2, 30, 25, 0.3), (car, 5, 5, 15, 15, 0.2)],
                      source=SOURCE_MODEL, state=PREDICTED)
    window.go_to_image(ids[0])
    window.score_slider.setValue(84)
    messages = []
    window.canvas.message.connect(messages.append)
    press(qtbot, window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert project.image(ids[0]).reviewed
    assert [b.state for b in project.boxes(ids[0])] == ["accepted"]
    assert "removed 2 hidden predictions (scored below 0.84)" in messages[-1]
    assert "Undo" in messages[-1] and "accepted 1 prediction," in messages[-1]
    press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert sorted(b.score for b in project.boxes(ids[0])) == [0.2, 0.3, 0.9]  # undo restores them
    assert not project.image(ids[0]).reviewed
    # another project does not inherit 0.84
    other = tmp_path / "other"
    other.mkdir()
    Image.new("RGB", (40, 30)).save(other / "x.png")
    p2 = Project.open(other)
    p2.scan()
    assert settings.score_threshold(project) == pytest.approx(0.84)
    assert settings.score_threshold(p2) == 0.5
    w2 = MainWindow(p2)
    qtbot.addWidget(w2)
    assert w2.score_slider.value() == 50
    w2.close()


def test_export_message_names_the_unreadable_files_it_left_out(qtbot, window, project, tmp_path):
    (project.root / "broken.png").write_bytes(b"not a picture")
    project.scan()
    window.export_to(tmp_path / "out.json", all_images=True)
    qtbot.waitUntil(lambda: len(window.infos) > 0, timeout=10000)
    assert "Left out 1 unreadable image:\n  broken.png: " in window.infos[0]
    assert window.count_label.text() == f"reviewed 0 / {N_IMAGES}  ·  {N_IMAGES} to review, 1 unreadable"


def test_p_with_the_prelabel_dock_hidden_says_what_happened_in_the_status_bar(qtbot, window, project):
    window.docks["Pre-label"].hide()
    panel = window.prelabel_panel
    panel._thread = object()  # a run in progress: P is refused, and says why where it can be seen
    try:
        panel.prelabel_current_action.trigger()
    finally:
        panel._thread = None
    assert window.statusBar().currentMessage() == "Pre-label: A pre-labeling run is in progress; cancel it first."
    panel._on_thread_progressed(1, 4, 0)  # progress and the result reach the status bar the same way
    assert window.statusBar().currentMessage().startswith("Pre-label: 1 of 4 images")
