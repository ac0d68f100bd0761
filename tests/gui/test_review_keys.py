"""Review keys in the whole window, through real key events on the widget that has focus:
class digits, Enter and Delete from the Boxes list, Space to accept and go on, Esc closing
dialogs, and focus back on the canvas after a dialog closes."""

import pytest
from PIL import Image
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from labeler.core.store import ACCEPTED, PREDICTED, SOURCE_MODEL, Project
from labeler.gui import main_window as mw
from labeler.gui.dialogs.shortcuts import ShortcutsDialog, shortcut_rows
from labeler.gui.main_window import MainWindow


@pytest.fixture
def project(tmp_path):
    d = tmp_path / "photos"
    d.mkdir()
    for i in range(4):
        Image.new("RGB", (80, 60), (50 * i, 80, 120)).save(d / f"img_{i}.png")
    p = Project.open(d)
    p.scan()
    p.add_category("car")
    p.add_category("bus")
    yield p
    p.close()


@pytest.fixture
def window(qtbot, project, monkeypatch):
    monkeypatch.setattr(mw, "show_warning", lambda *a: None)
    monkeypatch.setattr(mw, "show_information", lambda *a: None)
    w = MainWindow(project)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    w.canvas.setFocus()
    qtbot.waitUntil(w.canvas.hasFocus, timeout=3000)
    return w


def _select_in_list(qtbot, window, row):
    tree = window.box_list.tree
    tree.setFocus()
    qtbot.waitUntil(tree.hasFocus, timeout=3000)
    tree.setCurrentItem(tree.topLevelItem(row))
    tree.topLevelItem(row).setSelected(True)
    return tree


def test_digits_enter_and_delete_work_from_the_boxes_list(qtbot, window, project):
    car, bus = project.categories()
    image = window.current_image_id()
    lower, upper = project.add_boxes(image, [(car.id, 5, 5, 70, 50, 0.9), (car.id, 10, 10, 40, 40, 0.8)],
                                     source=SOURCE_MODEL, state=PREDICTED)
    tree = _select_in_list(qtbot, window, 0)
    assert window.canvas.selected_box_ids() == [lower.id]
    qtbot.keyClick(tree, Qt.Key.Key_2)
    assert project.box(lower.id).category_id == bus.id
    _select_in_list(qtbot, window, 1)
    qtbot.keyClick(tree, Qt.Key.Key_Return)
    assert project.box(upper.id).state == ACCEPTED
    assert tree.hasFocus()
    _select_in_list(qtbot, window, 0)
    qtbot.keyClick(tree, Qt.Key.Key_Delete)
    assert [b.id for b in project.boxes(image)] == [upper.id]


def test_space_accepts_the_image_and_goes_to_the_next_to_review(qtbot, window, project):
    car = project.categories()[0]
    first, second, third, _ = [im.id for im in project.images()]
    project.set_reviewed(second, True)
    window.go_to_image(first)
    pred = project.add_box(first, car.id, 5, 5, 30, 30, source=SOURCE_MODEL, score=0.9, state=PREDICTED)
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Space)
    assert project.image(first).reviewed and project.box(pred.id).state == ACCEPTED
    assert window.current_image_id() == third  # the reviewed one in between is skipped
    # the two separate keys still work
    qtbot.keyClick(window.canvas, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert project.image(third).reviewed and window.current_image_id() == third
    qtbot.keyClick(window.canvas, Qt.Key.Key_D, Qt.KeyboardModifier.ShiftModifier)
    assert window.current_image_id() not in (first, second, third)


def test_space_on_an_image_without_boxes_says_it_is_a_negative_and_undo_takes_it_back(qtbot, window, project):
    first, second, *_ = [im.id for im in project.images()]
    window.go_to_image(first)
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Space)
    assert project.image(first).reviewed and window.current_image_id() == second
    assert window.statusBar().currentMessage() == ("Marked reviewed with no boxes: a negative example "
                                                   "(Ctrl+Z to undo).")
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not project.image(first).reviewed
    # a prediction hidden by the threshold is removed, and the message says so too
    window.go_to_image(second)
    car = project.categories()[0]
    low = project.add_box(second, car.id, 5, 5, 30, 30, source=SOURCE_MODEL, score=0.01, state=PREDICTED)
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Space)
    assert project.image(second).reviewed and project.boxes(second) == []
    assert "a negative example; 1 hidden prediction (below" in window.statusBar().currentMessage()
    window.undo_stack.undo()
    assert not project.image(second).reviewed and [b.id for b in project.boxes(second)] == [low.id]


def test_shortcuts_dialog_lists_space_and_tab_and_esc_closes_it_focus_back_on_canvas(qtbot, window):
    qtbot.keyClick(window.canvas, Qt.Key.Key_F1)
    dlg = next(w for w in QApplication.topLevelWidgets() if isinstance(w, ShortcutsDialog) and w.isVisible())
    rows = dict((k, v) for v, k in
                [(dlg.table.item(r, 0).text(), dlg.table.item(r, 1).text()) for r in range(dlg.table.rowCount())])
    assert "Space" in rows and "Accept image" in rows["Space"]
    assert "Tab, Shift+Tab" in rows
    dlg.activateWindow()
    dlg.table.setFocus()
    qtbot.waitUntil(dlg.table.hasFocus, timeout=3000)
    qtbot.keyClick(dlg.table, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dlg.isVisible(), timeout=3000)
    qtbot.waitUntil(window.canvas.hasFocus, timeout=3000)


def test_focus_returns_to_the_canvas_after_a_message_box(qtbot, window):
    button = window.toolbar.widgetForAction(window.actions_by_name["export"])
    button.setFocus()  # as after clicking a toolbar button that opened the dialog
    closed = []

    def close_it():
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        box.activateWindow()  # as a window manager does
        qtbot.waitUntil(lambda: QApplication.focusWidget() is not None and QApplication.focusWidget().window() is box,
                        timeout=3000)
        qtbot.keyClick(box, Qt.Key.Key_Escape)  # Esc closes it
        closed.append(True)

    QTimer.singleShot(0, close_it)
    QMessageBox.information(window, "Note", "Something happened.")
    assert closed == [True]
    qtbot.waitUntil(window.canvas.hasFocus, timeout=3000)


def test_shortcut_rows_show_space_for_the_review_key(window):
    rows = dict(shortcut_rows(window.all_actions()))
    assert rows["Accept image and go to the next to review"] == "Space"


def test_shortcuts_dialog_shows_every_line_whole(qtbot, window):
    dlg = window.show_shortcuts()
    qtbot.waitExposed(dlg)
    fm = dlg.table.fontMetrics()
    for r in range(dlg.table.rowCount()):
        for c in range(2):
            text = dlg.table.item(r, c).text()
            assert fm.horizontalAdvance(text) <= dlg.table.columnWidth(c), text
    dlg.close()
