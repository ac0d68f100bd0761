"""The box canvas driven with a real mouse and keyboard; every test checks the store as well as the
scene."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QColor

from labeler.core.store import ACCEPTED, HUMAN, PREDICTED, SOURCE_MODEL

from .helpers import canvas, click, close, drag, folder, ids_by_path, key, project, show  # noqa: F401


@pytest.fixture
def ids(project):
    return ids_by_path(project)


@pytest.fixture
def car(project):
    return project.add_category("car", "#3cb44b")


def rects(project, image_id):
    return [b.rect for b in project.boxes(image_id)]


def scene_rects(canvas):
    return sorted(it.image_rect() for it in canvas.box_items().values())


def test_shows_the_image_decoded_off_the_gui_thread(qtbot, canvas, project, ids):
    show(qtbot, canvas, ids["a.png"])
    assert canvas.current_image_id() == ids["a.png"]
    assert canvas.has_pixels() and canvas.error_text() is None
    assert canvas._image_item.image().pixelColor(5, 5) == QColor(30, 90, 160)
    assert canvas.zoom() == pytest.approx(min((400 - 48) / 200, (300 - 48) / 150))
    show(qtbot, canvas, ids["c.jpg"])
    assert canvas._image_item.boundingRect().width() == 120
    # back to a cached image: shown at once
    with qtbot.waitSignal(canvas.image_shown, timeout=1000):
        canvas.show_image(ids["a.png"])
    assert canvas.has_pixels()


def test_draw_a_box_then_undo_and_redo(qtbot, canvas, project, ids, car):
    show(qtbot, canvas, ids["a.png"])
    key(qtbot, canvas, Qt.Key.Key_W)
    assert canvas.draw_mode() and canvas.edit_actions["draw"].isChecked()
    drag(canvas, (20, 30), (120, 100))
    [box] = project.boxes(ids["a.png"])
    assert close(box.rect, (20, 30, 120, 100)) and box.category_id == car.id and box.state == HUMAN
    assert list(canvas.box_items()) == [box.id] and canvas.selected_box_ids() == [box.id]
    assert close(canvas.box_items()[box.id].image_rect(), box.rect, 0.01)
    # a drag past the edge stops at the edge
    drag(canvas, (150, 100), (260, 190))
    assert close(project.boxes(ids["a.png"])[1].rect, (150, 100, 200, 150))
    key(qtbot, canvas, Qt.Key.Key_Escape)
    assert not canvas.draw_mode()
    stack = canvas.undo_stack
    assert stack.count() == 2
    stack.undo()
    stack.undo()
    assert project.boxes(ids["a.png"]) == [] and canvas.box_items() == {}
    stack.redo()
    assert [b.id for b in project.boxes(ids["a.png"])] == [box.id] and list(canvas.box_items()) == [box.id]


def test_a_click_in_draw_mode_makes_no_sliver(qtbot, canvas, project, ids, car):
    show(qtbot, canvas, ids["a.png"])
    canvas.set_draw_mode(True)
    drag(canvas, (50, 50), (50.5, 80))  # under 4 screen pixels wide
    assert project.boxes(ids["a.png"]) == [] and canvas.box_items() == {}
    assert canvas.undo_stack.count() == 0
    assert "Too small" in canvas.messages[-1]
    # the rule is clip_box's, in image pixels: 2 px wide is a box even where it spans < 4 screen pixels
    assert 2 * canvas.zoom() < 4
    drag(canvas, (50, 50), (52, 80))
    assert [close(b.rect, (50, 50, 52, 80)) for b in project.boxes(ids["a.png"])] == [True]


def test_first_box_in_a_project_without_classes_creates_object(qtbot, canvas, project, ids):
    show(qtbot, canvas, ids["a.png"])
    canvas.set_draw_mode(True)
    drag(canvas, (10, 10), (60, 60))
    [cat] = project.categories()
    assert cat.name == "object"
    [box] = project.boxes(ids["a.png"])
    assert box.category_id == cat.id
    assert canvas.undo_stack.count() == 1  # box and class are one step
    canvas.undo_stack.undo()
    assert project.categories() == [] and project.boxes(ids["a.png"]) == [] and canvas.box_items() == {}


def test_move_a_box_by_dragging_it_stays_inside(qtbot, canvas, project, ids, car):
    image = ids["a.png"]
    box = project.add_box(image, car.id, 20, 20, 60, 50)
    show(qtbot, canvas, image)
    drag(canvas, (40, 35), (70, 55))
    assert close(project.box(box.id).rect, (50, 40, 90, 70))
    assert close(canvas.box_items()[box.id].image_rect(), project.box(box.id).rect, 0.01)
    drag(canvas, (70, 55), (400, 55))  # far past the right edge
    assert close(project.box(box.id).rect, (160, 40, 200, 70))
    assert canvas.undo_stack.count() == 2
    canvas.undo_stack.undo()
    canvas.undo_stack.undo()
    assert project.box(box.id).rect == (20, 20, 60, 50)
    assert canvas.box_items()[box.id].image_rect() == (20, 20, 60, 50)


def test_resize_by_a_handle_never_flips_or_slivers(qtbot, canvas, project, ids, car):
    image = ids["a.png"]
    box = project.add_box(image, car.id, 20, 20, 60, 50)
    show(qtbot, canvas, image)
    click(canvas, 40, 35)
    assert canvas.selected_box_ids() == [box.id]
    drag(canvas, (60, 50), (100, 90))  # bottom-right handle
    assert close(project.box(box.id).rect, (20, 20, 100, 90))
    drag(canvas, (60, 20), (60, 5))  # top edge handle
    assert close(project.box(box.id).rect, (20, 5, 100, 90))
    drag(canvas, (20, 5), (190, 140))  # top-left dragged past the opposite corner
    x1, y1, x2, y2 = project.box(box.id).rect
    assert close((x2, y2), (100, 90)) and 1 <= x2 - x1 <= 4 and 1 <= y2 - y1 <= 4
    assert canvas.undo_stack.count() == 3
    for _ in range(3):
        canvas.undo_stack.undo()
    assert project.box(box.id).rect == (20, 20, 60, 50)


def test_rubber_band_and_ctrl_click_select(qtbot, canvas, project, ids, car):
    image = ids["a.png"]
    b1 = project.add_box(image, car.id, 10, 10, 40, 40)
    b2 = project.add_box(image, car.id, 50, 10, 80, 40)
    b3 = project.add_box(image, car.id, 150, 100, 190, 140)
    show(qtbot, canvas, image)
    with qtbot.waitSignal(canvas.selection_changed):
        drag(canvas, (5, 5), (90, 60))
    assert canvas.selected_box_ids() == [b1.id, b2.id]
    click(canvas, 170, 120, Qt.KeyboardModifier.ControlModifier)
    assert canvas.selected_box_ids() == [b1.id, b2.id, b3.id]
    click(canvas, 20, 20, Qt.KeyboardModifier.ControlModifier)
    assert canvas.selected_box_ids() == [b2.id, b3.id]
    click(canvas, 120, 60)  # empty image: clears
    assert canvas.selected_box_ids() == []
    assert len(project.boxes(image)) == 3 and canvas.undo_stack.count() == 0


def test_delete_and_backspace(qtbot, canvas, project, ids, car):
    image = ids["a.png"]
    b1 = project.add_box(image, car.id, 10, 10, 40, 40)
    b2 = project.add_box(image, car.id, 50, 10, 80, 40)
    show(qtbot, canvas, image)
    click(canvas, 20, 20)
    key(qtbot, canvas, Qt.Key.Key_Delete)
    assert [b.id for b in project.boxes(image)] == [b2.id] and list(canvas.box_items()) == [b2.id]
    click(canvas, 60, 20)
    key(qtbot, canvas, Qt.Key.Key_Backspace)
    assert project.boxes(image) == [] and canvas.box_items() == {}
    canvas.undo_stack.undo()
    canvas.undo_stack.undo()
    assert sorted(b.id for b in project.boxes(image)) == [b1.id, b2.id] == sorted(canvas.box_items())


def test_digits_set_the_class_and_1_zooms_without_selection(qtbot, canvas, project, ids, car):
    bus = project.add_category("bus", "#4363d8")
    image = ids["a.png"]
    box = project.add_box(image, car.id, 10, 10, 40, 40, source=SOURCE_MODEL, score=0.8, state=PREDICTED)
    show(qtbot, canvas, image)
    click(canvas, 20, 20)
    key(qtbot, canvas, Qt.Key.Key_2)
    assert project.box(box.id).category_id == bus.id
    assert project.box(box.id).state == HUMAN  # re-classing a prediction is a person's decision
    assert canvas.box_items()[box.id].style.pen.color() == QColor("#4363d8")
    key(qtbot, canvas, Qt.Key.Key_7)
    assert project.box(box.id).category_id == bus.id and "no class 7" in canvas.messages[-1]
    key(qtbot, canvas, Qt.Key.Key_1)
    assert project.box(box.id).category_id == car.id
    canvas.undo_stack.undo()
    assert project.box(box.id).category_id == bus.id
    key(qtbot, canvas, Qt.Key.Key_Escape)  # clears the selection
    assert canvas.selected_box_ids() == []
    key(qtbot, canvas, Qt.Key.Key_1)
    assert canvas.zoom() == pytest.approx(1.0)
    assert project.box(box.id).category_id == bus.id


def test_enter_accepts_selected_predictions(qtbot, canvas, project, ids, car):
    image = ids["a.png"]
    p1, p2 = project.add_boxes(image, [(car.id, 10, 10, 40, 40, 0.9), (car.id, 50, 10, 80, 40, 0.7)],
                               source=SOURCE_MODEL, state=PREDICTED)
    show(qtbot, canvas, image)
    assert canvas.box_items()[p1.id].predicted
    assert canvas.box_items()[p1.id].style.pen.style() == Qt.PenStyle.CustomDashLine
    click(canvas, 20, 20)
    key(qtbot, canvas, Qt.Key.Key_Return)
    assert project.box(p1.id).state == ACCEPTED and project.box(p2.id).state == PREDICTED
    assert canvas.box_items()[p1.id].style.pen.style() == Qt.PenStyle.SolidLine
    assert not project.image(image).reviewed
    canvas.undo_stack.undo()
    assert project.box(p1.id).state == PREDICTED and canvas.box_items()[p1.id].predicted


def test_ctrl_enter_reviews_the_image_with_the_threshold(qtbot, canvas, project, ids, car):
    image = ids["a.png"]
    high, low = project.add_boxes(image, [(car.id, 10, 10, 40, 40, 0.9), (car.id, 50, 10, 80, 40, 0.3)],
                                  source=SOURCE_MODEL, state=PREDICTED)
    human = project.add_box(image, car.id, 100, 100, 150, 140)
    show(qtbot, canvas, image)
    canvas.set_score_threshold(0.5)
    assert canvas.box_items()[high.id].isVisible() and not canvas.box_items()[low.id].isVisible()
    drag(canvas, (5, 5), (90, 60))  # the band does not pick up the hidden prediction
    assert canvas.selected_box_ids() == [high.id]
    key(qtbot, canvas, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert {b.id: b.state for b in project.boxes(image)} == {high.id: ACCEPTED, human.id: HUMAN}
    assert project.image(image).reviewed
    assert sorted(canvas.box_items()) == [high.id, human.id]
    canvas.undo_stack.undo()
    assert {b.id: b.state for b in project.boxes(image)} == {high.id: PREDICTED, low.id: PREDICTED, human.id: HUMAN}
    assert not project.image(image).reviewed and low.id in canvas.box_items()


def test_arrow_nudges_merge_into_one_undo_step_and_override_navigation(qtbot, canvas, project, ids, car):
    image = ids["a.png"]
    box = project.add_box(image, car.id, 20, 20, 60, 50)
    navigated = []
    nav = QAction("next", canvas)
    nav.setShortcut("Right")
    nav.triggered.connect(lambda: navigated.append(1))
    canvas.addAction(nav)
    show(qtbot, canvas, image)
    key(qtbot, canvas, Qt.Key.Key_Right)  # nothing selected: the window's navigation fires
    assert navigated == [1] and project.box(box.id).rect == (20, 20, 60, 50)
    click(canvas, 40, 30)
    for _ in range(3):
        key(qtbot, canvas, Qt.Key.Key_Right)
    key(qtbot, canvas, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    key(qtbot, canvas, Qt.Key.Key_Left)
    assert navigated == [1]
    assert project.box(box.id).rect == (22, 30, 62, 60)
    assert canvas.box_items()[box.id].image_rect() == (22, 30, 62, 60)
    assert canvas.undo_stack.count() == 1 and canvas.undo_stack.text(0) == "Nudge boxes"
    for _ in range(20):  # at the bottom edge the group stops, keeping its size
        key(qtbot, canvas, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    assert project.box(box.id).rect == (22, 120, 62, 150)
    canvas.undo_stack.undo()
    assert project.box(box.id).rect == (20, 20, 60, 50)
    canvas.undo_stack.redo()
    assert project.box(box.id).rect == (22, 120, 62, 150)


def test_copy_paste_onto_another_image_and_copy_from_previous(qtbot, canvas, project, ids, car):
    a, b, c = ids["a.png"], ids["b.png"], ids["c.jpg"]
    project.add_box(a, car.id, 10, 10, 40, 40)
    project.add_box(a, car.id, 150, 60, 190, 100)
    show(qtbot, canvas, a)
    drag(canvas, (5, 5), (195, 120))
    key(qtbot, canvas, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    show(qtbot, canvas, b)
    key(qtbot, canvas, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert sorted(rects(project, b)) == [(10, 10, 40, 40), (150, 60, 190, 100)]
    assert sorted(canvas.selected_box_ids()) == sorted(x.id for x in project.boxes(b))
    assert scene_rects(canvas) == sorted(rects(project, b))
    # pasted on a smaller image: clipped, the box that falls outside is left out
    show(qtbot, canvas, c)
    key(qtbot, canvas, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert rects(project, c) == [(10, 10, 40, 40)] and "outside" in canvas.messages[-1]
    # pasted back onto its own image: offset so the copies show
    show(qtbot, canvas, a)
    key(qtbot, canvas, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert sorted(rects(project, a))[1] == (20, 20, 50, 50)
    canvas.undo_stack.undo()
    assert len(project.boxes(a)) == 2
    show(qtbot, canvas, c)
    canvas.undo_stack.undo()
    assert project.boxes(c) == [] and canvas.box_items() == {}
    project.delete_boxes([x.id for x in project.boxes(b)])
    show(qtbot, canvas, b)
    canvas.copy_from_image(a)
    assert sorted(rects(project, b)) == sorted(rects(project, a)) and len(canvas.box_items()) == 2
    assert canvas.undo_stack.undoText() == "Copy 2 boxes from the previous image"


def test_unreadable_images_show_the_reason(qtbot, canvas, project, ids, folder):
    broken = ids["d_broken.jpg"]
    show(qtbot, canvas, broken)
    assert "cannot be read" in canvas.error_text() and "d_broken.jpg" in canvas.error_text()
    assert project.image(broken).error in canvas.error_text()
    canvas.set_draw_mode(True)
    drag(canvas, (10, 10), (50, 50))
    assert project.boxes(broken) == []
    # a file that passes the header scan but fails to decode: the worker's error, recorded in the store
    (folder / "a.png").write_bytes((folder / "a.png").read_bytes()[:120] + b"\0" * 40 + b"IEND")
    show(qtbot, canvas, ids["a.png"])
    assert canvas.error_text() and not canvas.has_pixels()
    assert project.image(ids["a.png"]).error and project.image(ids["a.png"]).error in canvas.error_text()
    show(qtbot, canvas, ids["b.png"])  # navigation goes on
    assert canvas.error_text() is None and canvas.has_pixels()


def test_items_follow_the_store(qtbot, canvas, project, ids, car):
    image = ids["a.png"]
    show(qtbot, canvas, image)
    box = project.add_box(image, car.id, 10, 10, 40, 40)  # e.g. a pre-labeling worker
    assert list(canvas.box_items()) == [box.id]
    project.set_box_rect(box.id, 20, 20, 50, 50)
    assert canvas.box_items()[box.id].image_rect() == (20, 20, 50, 50)
    project.recolor_category(car.id, "#123456")
    assert canvas.box_items()[box.id].style.pen.color() == QColor("#123456")
    project.add_box(ids["b.png"], car.id, 1, 1, 9, 9)  # another image: not shown here
    assert list(canvas.box_items()) == [box.id]
    project.delete_boxes([box.id])
    assert canvas.box_items() == {}


def test_class_picker_filters_as_you_type(qtbot, canvas, project, ids, car):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from labeler.gui.dialogs.class_picker import ClassPicker

    project.add_category("bicycle")
    truck = project.add_category("truck")
    image = ids["a.png"]
    box = project.add_box(image, car.id, 10, 10, 40, 40)
    show(qtbot, canvas, image)
    click(canvas, 20, 20)
    seen = []

    def drive():
        dlg = QApplication.activeModalWidget()
        assert isinstance(dlg, ClassPicker)
        qtbot.keyClicks(dlg.filter_box, "ruc")
        seen.append([dlg.list.item(r).text() for r in range(dlg.list.count()) if not dlg.list.item(r).isHidden()])
        qtbot.keyClick(dlg.filter_box, Qt.Key.Key_Return)

    QTimer.singleShot(0, drive)
    key(qtbot, canvas, Qt.Key.Key_E)
    assert seen == [["3  truck", 'Create class "ruc"']]  # a new name is offered last
    assert project.box(box.id).category_id == truck.id
    assert canvas.box_items()[box.id].label is not None
