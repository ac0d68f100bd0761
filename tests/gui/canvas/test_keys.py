"""Keys on the canvas: Tab cycling, Space (accept-and-next vs pan), the class picker creating a
class, focus after the picker, and label placement of crowded boxes. Real key events throughout."""

from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from labeler.core.store import PREDICTED, SOURCE_MODEL
from labeler.gui.canvas.items import LabelPlacer
from labeler.gui.dialogs.class_picker import ClassPicker

from .helpers import LEFT, NO_MOD, _move, canvas, click, folder, key, project, show, vp  # noqa: F401


def _ids(project):
    return {im.path: im.id for im in project.images()}


def test_tab_and_shift_tab_cycle_boxes_and_reach_the_lower_of_two(qtbot, canvas, project):
    car = project.add_category("car")
    image = _ids(project)["a.png"]
    big = project.add_box(image, car.id, 10, 10, 120, 100)
    small = project.add_box(image, car.id, 30, 30, 60, 60)  # on top of big
    other = project.add_box(image, car.id, 140, 110, 180, 140)
    show(qtbot, canvas, image)
    click(canvas, 40, 40)
    assert canvas.selected_box_ids() == [small.id]  # a click reaches only the top box
    key(qtbot, canvas, Qt.Key.Key_Tab)
    assert canvas.selected_box_ids() == [other.id]
    key(qtbot, canvas, Qt.Key.Key_Tab)
    assert canvas.selected_box_ids() == [big.id]  # wraps round: the lower box is reached
    assert canvas.hasFocus()  # Tab did not move focus to another widget
    key(qtbot, canvas, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    assert canvas.selected_box_ids() == [other.id]
    key(qtbot, canvas, Qt.Key.Key_Delete)
    assert [b.id for b in project.boxes(image)] == [big.id, small.id]


def test_space_press_and_release_reviews_and_asks_for_the_next_image(qtbot, canvas, project):
    car = project.add_category("car")
    image = _ids(project)["a.png"]
    kept, dropped = project.add_boxes(image, [(car.id, 10, 10, 40, 40, 0.9), (car.id, 50, 10, 80, 40, 0.2)],
                                      source=SOURCE_MODEL, state=PREDICTED)
    show(qtbot, canvas, image)
    canvas.set_score_threshold(0.5)
    with qtbot.waitSignal(canvas.next_requested, timeout=2000):
        key(qtbot, canvas, Qt.Key.Key_Space)
    assert project.image(image).reviewed
    assert project.box(kept.id).state != PREDICTED and dropped.id not in [b.id for b in project.boxes(image)]
    canvas.undo_stack.undo()  # one undo step, as Ctrl+Enter
    assert not project.image(image).reviewed


def test_space_held_while_dragging_pans_and_does_not_review(qtbot, canvas, project):
    image = _ids(project)["a.png"]
    show(qtbot, canvas, image)
    canvas.set_zoom(4.0)
    requested = []
    canvas.next_requested.connect(lambda: requested.append(True))
    h0 = canvas.horizontalScrollBar().value()
    QTest.keyPress(canvas, Qt.Key.Key_Space)
    a, b = vp(canvas, 100, 75), vp(canvas, 80, 75)
    QTest.mousePress(canvas.viewport(), LEFT, NO_MOD, a)
    for i in range(1, 6):
        _move(canvas, a + (b - a) * (i / 5), LEFT)
    QTest.mouseRelease(canvas.viewport(), LEFT, NO_MOD, b)
    QTest.keyRelease(canvas, Qt.Key.Key_Space)
    assert canvas.horizontalScrollBar().value() != h0
    assert requested == [] and not project.image(image).reviewed


def test_class_picker_creates_the_typed_class_undoably_and_gives_focus_back(qtbot, canvas, project):
    car = project.add_category("car")
    image = _ids(project)["a.png"]
    box = project.add_box(image, car.id, 10, 10, 40, 40)
    show(qtbot, canvas, image)
    click(canvas, 20, 20)
    seen = []

    def drive():
        dlg = QApplication.activeModalWidget()
        assert isinstance(dlg, ClassPicker)
        qtbot.keyClicks(dlg.filter_box, "dog")
        seen.append([dlg.list.item(r).text() for r in range(dlg.list.count()) if not dlg.list.item(r).isHidden()])
        qtbot.keyClick(dlg.filter_box, Qt.Key.Key_Return)

    QTimer.singleShot(0, drive)
    key(qtbot, canvas, Qt.Key.Key_E)
    assert seen == [['Create class "dog"']]
    names = {c.id: c.name for c in project.categories()}
    assert names[project.box(box.id).category_id] == "dog"
    qtbot.waitUntil(canvas.hasFocus, timeout=3000)
    key(qtbot, canvas, Qt.Key.Key_1)  # keys work at once, no click needed
    assert project.box(box.id).category_id == car.id
    canvas.undo_stack.undo()
    canvas.undo_stack.undo()  # class and its use are one step
    assert [c.name for c in project.categories()] == ["car"] and project.box(box.id).category_id == car.id


def test_picker_offers_create_only_for_a_new_name(qtbot):
    from labeler.core.store import Category

    dlg = ClassPicker([Category(1, "car", "#ff0000", 0), Category(2, "cart", "#00ff00", 1)])
    qtbot.addWidget(dlg)
    qtbot.keyClicks(dlg.filter_box, "car")
    assert dlg.create_item.isHidden() and dlg.chosen_id() == 1
    qtbot.keyClicks(dlg.filter_box, "s")  # "cars": no class, so offer it
    assert not dlg.create_item.isHidden() and dlg.chosen_id() == "cars"
    qtbot.keyClick(dlg.filter_box, Qt.Key.Key_Escape)
    assert dlg.result() == 0


def test_labels_of_two_near_identical_boxes_do_not_overlap():
    placer = LabelPlacer(14.0)
    a = placer.place(100, 100, 200, 70)
    b = placer.place(101, 102, 201, 70)
    c = placer.place(102, 101, 199, 70)
    rects = [QRectF(x, y, 70, 14) for x, y in (a, b, c)]
    assert not rects[0].intersects(rects[1]) and not rects[0].intersects(rects[2]) and not rects[1].intersects(rects[2])
    assert a == (99, 100 - 14 - 1)  # the first label sits above its box, as before


def test_crowded_labels_on_the_canvas_do_not_overlap(qtbot, canvas, project):
    car = project.add_category("car")
    image = _ids(project)["a.png"]
    b1, b2 = project.add_boxes(image, [(car.id, 40, 40, 120, 100, 0.76), (car.id, 41, 41, 121, 101, 0.83)],
                               source=SOURCE_MODEL, state=PREDICTED)
    show(qtbot, canvas, image)
    canvas.viewport().repaint()
    items = canvas.box_items()
    h = canvas._layer.labels.height
    r1, r2 = (QRectF(*items[i].label_at, items[i].label_width, h) for i in (b1.id, b2.id))
    assert not r1.intersects(r2)


def test_label_placer_falls_back_to_the_plain_rule_when_asked():
    placer = LabelPlacer(14.0, plain=True)
    assert placer.place(100, 100, 200, 70) == placer.place(100, 100, 200, 70) == (99, 85)
    assert placer.place(100, 5, 200, 70) == (99, 6)  # no room above: inside the top
