"""Class panel operations go through undoable commands and land in the store."""

import pytest
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QMessageBox

from labeler.gui.docks.boxes import BoxList
from labeler.gui.docks.classes import DEFAULT_CATEGORY_KEY, ClassPanel
from labeler.gui.project_signals import ProjectSignals
from labeler.gui.undo import UndoReporter


@pytest.fixture
def env(qtbot, new_project):
    p = new_project(folder=".", records=[("a.jpg", 100, 80), ("b.jpg", 100, 80)])
    signals = ProjectSignals(p)
    stack, reporter = QUndoStack(), UndoReporter()
    panel = ClassPanel(p, signals, stack, reporter)
    qtbot.addWidget(panel)
    yield p, panel, stack, reporter
    p.close()


def names(p):
    return [c.name for c in p.categories()]


def test_add_rename_recolour_with_undo(qtbot, env):
    p, panel, stack, _ = env
    cid = panel.add_class("car")
    assert names(p) == ["car"]
    assert panel.tree.topLevelItem(0).text(0) == "car"
    assert panel.default_category() == cid  # the first class becomes the default
    assert p.get_setting(DEFAULT_CATEGORY_KEY) == cid
    assert panel.rename_class(cid, "truck")
    assert names(p) == ["truck"] and panel.tree.topLevelItem(0).text(0) == "truck"
    assert panel.recolor_class(cid, "#123456")
    assert p.category(cid).color == "#123456"
    stack.undo()
    assert p.category(cid).color != "#123456"
    stack.undo()
    assert names(p) == ["car"]
    stack.undo()
    assert names(p) == [] and panel.tree.topLevelItemCount() == 0
    stack.redo()
    assert names(p) == ["car"] and p.categories()[0].id == cid


def test_refused_edits_are_reported_and_change_nothing(qtbot, env):
    p, panel, stack, reporter = env
    panel.add_class("car")
    with qtbot.waitSignal(reporter.failed) as blocker:
        assert panel.add_class("car") is None
    assert "already exists" in blocker.args[0]
    assert names(p) == ["car"] and stack.count() == 1
    with qtbot.waitSignal(reporter.failed):
        assert not panel.recolor_class(p.categories()[0].id, "not a colour")


def test_delete_asks_and_takes_the_boxes_undo_restores_them(qtbot, env, monkeypatch):
    p, panel, stack, _ = env
    car, dog = panel.add_class("car"), panel.add_class("dog")
    img = p.images()[0].id
    p.add_box(img, car, 1, 1, 30, 30)
    p.add_box(img, dog, 5, 5, 40, 40)
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.No))
    assert not panel.delete_class(car)
    assert names(p) == ["car", "dog"]
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes))
    assert panel.delete_class(car)
    assert names(p) == ["dog"] and [b.category_id for b in p.boxes(img)] == [dog]
    assert panel.default_category() == dog  # the default moved off the deleted class
    stack.undo()
    assert names(p) == ["car", "dog"] and sorted(b.category_id for b in p.boxes(img)) == sorted([car, dog])


def test_merge_moves_boxes_and_undo_splits_them_again(qtbot, env):
    p, panel, stack, _ = env
    car, truck = panel.add_class("car"), panel.add_class("truck")
    img = p.images()[0].id
    b = p.add_box(img, truck, 1, 1, 30, 30)
    assert panel.merge_class(truck, car)
    assert names(p) == ["car"] and p.box(b.id).category_id == car
    qtbot.waitUntil(lambda: panel.tree.topLevelItem(0).text(1) == "1", timeout=2000)
    stack.undo()
    assert names(p) == ["car", "truck"] and p.box(b.id).category_id == truck


def test_reorder_and_default_class(qtbot, env):
    p, panel, stack, _ = env
    a, b, c = (panel.add_class(n) for n in "abc")
    assert panel.move_class(c, -1)
    assert names(p) == ["a", "c", "b"]
    assert not panel.move_class(a, -1)  # already first
    stack.undo()
    assert names(p) == ["a", "b", "c"]
    # a drag in the list: the tree emits the new order, the store takes it
    panel.tree.reordered.emit([c, a, b])
    assert names(p) == ["c", "a", "b"]
    assert [panel.tree.topLevelItem(i).text(0) for i in range(3)] == ["c", "a", "b"]
    stack.undo()
    assert names(p) == ["a", "b", "c"]
    with qtbot.waitSignal(panel.default_category_changed) as blocker:
        panel.set_default_category(b)
    assert blocker.args == [b] and p.get_setting(DEFAULT_CATEGORY_KEY) == b
    assert panel.default_box.currentText().endswith("b")


def test_box_list_follows_the_store_and_forwards_selection(qtbot, env):
    p, panel, stack, _ = env
    car = panel.add_class("car")
    img = p.images()[0].id
    signals = ProjectSignals(p)
    boxes = BoxList(p, signals)
    qtbot.addWidget(boxes)
    boxes.show_image(img)
    assert boxes.tree.topLevelItemCount() == 0
    with qtbot.waitSignal(signals.boxes_changed):
        b1 = p.add_box(img, car, 1, 1, 30, 30)
        b2 = p.add_boxes(img, [(car, 40, 40, 60, 60, 0.42)], state="predicted", source="model")[0]
    assert boxes.box_ids() == [b1.id, b2.id]
    row = boxes.tree.topLevelItem(1)
    assert [row.text(i) for i in range(3)] == ["car", "predicted", "0.42"]
    with qtbot.waitSignal(boxes.selection_requested) as blocker:
        row.setSelected(True)
    assert blocker.args == [[b2.id]]
    boxes.set_score_threshold(0.5)  # the 0.42 prediction is hidden on the canvas: greyed here
    assert boxes.hidden_box_ids() == [b2.id] and boxes.box_ids() == [b1.id, b2.id]
    with qtbot.assertNotEmitted(boxes.selection_requested):
        boxes.select_boxes([b1.id])  # mirroring the canvas does not echo back
    assert boxes.selected_box_ids() == [b1.id]


def test_a_count_refresh_after_the_project_closed_does_nothing(qtbot, env):
    p, panel, _, _ = env
    panel.add_class("car")
    panel._count_timer.start()  # as after an edit: counts refresh once edits pause
    p.close()
    qtbot.wait(panel._count_timer.interval() + 100)  # an error in the slot would fail this test
    assert not panel._count_timer.isActive()


def test_people_s_boxes_and_predictions_are_counted_apart(qtbot, env):
    """Issue 15 item 13: pre-labeling must not make 21 circles look like 184."""
    from labeler.core.store import ACCEPTED, PREDICTED, SOURCE_MODEL

    p, panel, _, _ = env
    circle = panel.add_class("circle")
    img = p.images()[0].id
    p.add_box(img, circle, 1, 1, 30, 30)
    p.add_box(img, circle, 2, 2, 20, 20, source=SOURCE_MODEL, score=0.9, state=ACCEPTED)
    for k in range(3):
        p.add_box(img, circle, 5 + k, 5, 40, 40, source=SOURCE_MODEL, score=0.5, state=PREDICTED)
    panel.reload()
    header = panel.tree.headerItem()
    assert [header.text(c) for c in range(3)] == ["Class", "Boxes", "Predicted"]
    item = panel.tree.topLevelItem(0)
    assert (item.text(1), item.text(2)) == ("2", "3")  # drawn + accepted; predictions not yet reviewed
    assert "3 predicted" in item.toolTip(2) and "1 accepted" in item.toolTip(1)
