"""The window through a full disk: a refused edit is said in the status bar, the canvas and lists show
what the store holds, the undo stack keeps no edit that did not land, and edits work again after.

The disk fails for real, through SQLite's own limits on the window's connection: `max_page_count`
(the next write that needs a page fails with SQLITE_FULL) and `query_only` (every write is refused).
"""

import pytest

from labeler.core.store import StoreWriteError
from labeler.gui import main_window as mw
from labeler.gui.main_window import MainWindow
from tests.gui.canvas.helpers import drag
from tests.projects import write_images


@pytest.fixture
def window(qtbot, new_project, tmp_path, monkeypatch):
    project = new_project(folder=write_images(tmp_path / "photos", {"a.png": (200, 150), "b.png": (200, 150)}),
                          classes=["car"])
    monkeypatch.setattr(mw, "show_warning", lambda *a: pytest.fail(f"unexpected dialog {a}"))
    w = MainWindow(project)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.canvas.setFocus()
    qtbot.waitUntil(lambda: w.canvas.image_size() == (200, 150), timeout=10_000)
    w.canvas.set_draw_mode(True)
    return w


def _fill_the_disk(project):
    """Fill the store to its page limit with boxes on the other image: the next new row fails."""
    project._conn.execute(f"PRAGMA max_page_count = {project._conn.execute('PRAGMA page_count').fetchone()[0]}")
    other = project.images()[1].id
    car = project.category_by_name("car").id
    with pytest.raises(StoreWriteError):
        for _ in range(10_000):
            project.add_box(other, car, 1, 1, 50, 50)


def _canvas_ids(w):
    return sorted(w.canvas.box_items())


def test_a_draw_on_a_full_disk_is_refused_and_drawing_works_again(qtbot, window):
    w, project = window, window.project
    image = w.current_image_id()
    drag(w.canvas, (20, 20), (80, 70))
    assert len(project.boxes(image)) == 1 and w.undo_stack.count() == 1
    _fill_the_disk(project)
    drag(w.canvas, (100, 40), (180, 120))
    assert "disk is full" in w.statusBar().currentMessage() and "not saved" in w.statusBar().currentMessage()
    assert len(project.boxes(image)) == 1
    assert _canvas_ids(w) == [b.id for b in project.boxes(image)]
    assert w.box_list.tree.topLevelItemCount() == 1
    assert w.undo_stack.count() == 1  # the refused draw is not on the stack
    w.undo_stack.undo()  # the first box goes: deleting needs no new page
    assert project.boxes(image) == [] and _canvas_ids(w) == []
    project._conn.execute("PRAGMA max_page_count = 1073741823")  # space freed
    drag(w.canvas, (100, 40), (180, 120))
    assert len(project.boxes(image)) == 1 and _canvas_ids(w) == [project.boxes(image)[0].id]


def test_a_delete_and_a_move_the_disk_refuses_leave_the_boxes_where_the_store_has_them(qtbot, window):
    w, project = window, window.project
    image = w.current_image_id()
    drag(w.canvas, (20, 20), (80, 70))
    (box,) = project.boxes(image)
    project._conn.execute("PRAGMA query_only = ON")  # the disk refuses every write from here on
    w.canvas.select_boxes([box.id])
    w.canvas.editor.delete(image, [box.id])
    assert "cannot be written" in w.statusBar().currentMessage()
    assert project.boxes(image) == [box] and _canvas_ids(w) == [box.id]
    w.canvas.set_draw_mode(False)
    drag(w.canvas, (50, 45), (120, 100))  # drag the box: the items move, the store refuses
    assert project.box(box.id) == box
    item = w.canvas.box_items()[box.id]
    assert item.sceneBoundingRect().center().x() < 60  # back where the store has it
    assert w.undo_stack.count() == 1
    w.undo_stack.undo()  # an undo the disk refuses leaves the stack too: it did not happen
    assert project.boxes(image) == [box] and w.undo_stack.count() == 0
    project._conn.execute("PRAGMA query_only = OFF")
    w.canvas.editor.delete(image, [box.id])
    assert project.boxes(image) == [] and _canvas_ids(w) == []
