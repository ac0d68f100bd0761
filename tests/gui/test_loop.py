"""The loop in the window: active seconds, the Review order and "Next image to review", the
Progress panel, and edits counted through the undo stack."""

import dataclasses

import pytest
from PIL import Image
from PySide6.QtCore import Qt

from labeler.core import commands
from labeler.core import history as H
from labeler.core.rounds import derive_rounds
from labeler.core.store import Project
from labeler.gui import loop
from labeler.gui.docks.progress import pace_text, round_rows
from labeler.gui.main_window import MainWindow
from labeler.gui.undo import push


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_active_time_counts_input_gaps_up_to_a_minute(tmp_path):
    with Project.open(tmp_path) as p:
        p.add_image_records([("a.jpg", 10, 10), ("b.jpg", 10, 10)])
        a, b = (im.id for im in p.images())
        clock = Clock()
        timer = loop.ActiveTime(p, clock=clock)
        timer.show_image(a)
        for t in (10, 20, 100, 110):  # 10 + 10, then an 80 s pause (not counted), then 10
            clock.t = t
            timer.input()
        clock.t = 500  # time after the last input does not count
        timer.show_image(b)
        assert H.activity(p)[a].seconds == 30
        clock.t = 530
        timer.input()
        timer.flush()
        assert H.activity(p)[b].seconds == 30


@pytest.fixture
def window(qtbot, tmp_path):
    d = tmp_path / "photos"
    d.mkdir()
    for name in ("a.png", "b.png", "c.png", "d.png"):
        Image.new("RGB", (40, 30), (80, 80, 120)).save(d / name)
    p = Project.open(d)
    p.scan()
    car = p.add_category("car").id
    ids = {im.path: im.id for im in p.images()}
    p.replace_predictions(ids["b.png"], [(car, 1, 1, 20, 20, 0.99)], model="coco:m")
    p.replace_predictions(ids["c.png"], [(car, 1, 1, 20, 20, 0.55), (car, 20, 5, 35, 25, 0.45)], model="coco:m")
    w = MainWindow(p)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.ids = ids
    yield w
    w.close()


def test_next_image_to_review_follows_the_review_order(qtbot, window):
    ids = window.ids
    assert window.current_image_id() == ids["a.png"]
    window.review_loop.next_action.trigger()  # file order by default
    assert window.current_image_id() == ids["b.png"]
    window.review_loop.order_actions["informative"].trigger()
    assert window.project.get_setting("review.order") == "informative"
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_D, Qt.KeyboardModifier.ShiftModifier)  # Shift+D follows the queue now
    assert window.current_image_id() == ids["c.png"]  # borderline scores first
    qtbot.keyClick(window.canvas, Qt.Key.Key_N)
    assert window.current_image_id() == ids["b.png"]  # then the sure one
    assert window.actions_by_name["next_unreviewed"].shortcuts() == []
    window.review_loop.order_actions["file"].trigger()
    assert window.actions_by_name["next_unreviewed"].shortcut().toString() == "Shift+D"
    assert window.actions_by_name["next_to_review"].shortcut().toString() == "N"
    model = window.image_model
    tip = model.data(model.index(model.row_of(ids["c.png"])), Qt.ItemDataRole.ToolTipRole)
    assert "Informativeness 1.80" in tip  # 0.55 and 0.45 around 0.5: 0.9 each
    assert "Informativeness" not in model.data(model.index(model.row_of(ids["a.png"])), Qt.ItemDataRole.ToolTipRole)


def test_edits_through_the_undo_stack_count_and_progress_shows_the_round(qtbot, window):
    p, ids = window.project, window.ids
    c = ids["c.png"]
    window.go_to_image(c)
    low = [b for b in p.boxes(c) if b.score < 0.5][0]
    assert push(window.undo_stack, p, commands.DeleteBoxes([low.id], image_id=c))
    assert push(window.undo_stack, p, commands.ReviewImage(c, 0.5))
    window.undo_stack.undo()
    window.undo_stack.redo()
    assert H.activity(p)[c].edits == 4  # two commands, an undo and a redo
    panel = window.review_loop.progress
    panel.refresh()  # on a worker thread
    qtbot.waitUntil(lambda: panel.progress is not None and len(panel.progress.rounds) == 1)
    progress = derive_rounds(p)
    (r,) = progress.rounds
    assert (r.model, r.images_reviewed, r.accepted_unchanged, r.rejected) == ("m", 1, 1, 1)
    window.review_loop.progress.show_progress(progress)
    table = window.review_loop.progress.table
    assert table.rowCount() == 2
    assert [table.item(0, k).text() for k in range(3)] == ["m", "1", "50 %"]
    assert table.item(1, 0).text() == "by hand"
    assert "1 of 4 images reviewed" in window.review_loop.progress.summary.text()
    assert round_rows(progress)[0][3] == "1.0"  # one rejection on one image
    assert "Progress" in window.docks
    (line,) = [x for x in window.review_loop.progress.timeline.series()]
    assert line.count() == 1 and line.at(0).y() == 1.0  # one image reviewed so far
    # the legend wraps in a narrow dock: a label of its own, each entry in its series' colour
    panel = window.review_loop.progress
    assert not panel.chart.legend().isVisible()
    legend = panel.legend.text()
    bars = next(x for x in panel.chart.series() if not hasattr(x, "points"))
    for bar in bars.barSets():
        assert f'color:{bar.color().name()}">&#9632;</span>&nbsp;{bar.label()}' in legend
    assert "corrections&nbsp;/&nbsp;image" in legend and "(left axis)" in legend
    panel.show_progress(dataclasses.replace(progress, rounds=[]))
    assert panel.legend.text() == ""  # no round, no chart: no legend


def test_pace_text_estimates_the_time_left(tmp_path):
    with Project.open(tmp_path) as p:
        p.add_image_records([("a.jpg", 10, 10), ("b.jpg", 10, 10), ("c.jpg", 10, 10)])
        a = p.images()[0].id
        H.perform(p, commands.ReviewImage(a))
        H.add_seconds(p, a, 120)
        assert pace_text(derive_rounds(p)) == "1 of 3 images reviewed; at 120 s an image, about 4 min left for 2 images"


def test_random_order_and_the_image_list_resorts_after_a_run(qtbot, window):
    p, ids = window.project, window.ids
    window.review_loop.order_actions["random"].trigger()
    seen = [window.review_loop.next_to_review() for _ in range(4)]
    assert sorted(seen) == sorted(ids.values())  # each unreviewed image once, then round again
    model = window.image_model
    model.set_sort("informative")
    assert model.id_at(0) == ids["c.png"]
    car = p.categories()[0].id
    p.replace_predictions(ids["d.png"], [(car, 1, 1, 20, 20, 0.5)] * 3, model="coco:m")  # a run's image
    qtbot.waitUntil(lambda: model.score(ids["d.png"]) is not None)
    assert model.id_at(0) == ids["c.png"]
    window.prelabel_panel.run_finished.emit(None)  # the run is over: the order follows
    assert model.id_at(0) == ids["d.png"]


def test_pace_text_leaves_unreadable_files_out_of_the_work(tmp_path):
    with Project.open(tmp_path) as p:
        p.add_image_records([("a.jpg", 10, 10), ("b.jpg", 10, 10), ("c.jpg", 10, 10), ("d.jpg", 10, 10)])
        a, _b, c, d = (im.id for im in p.images())
        p.mark_unreadable(c, "cannot identify image file")
        p.mark_unreadable(d, "the file is truncated")
        H.perform(p, commands.ReviewImage(a))
        assert pace_text(derive_rounds(p)) == "1 of 2 images reviewed (2 unreadable, not counted)"


def test_the_timeline_leaves_room_for_its_date_labels(qtbot, tmp_path):
    from PySide6.QtGui import QFontMetrics

    from labeler.gui.docks.progress import ProgressPanel
    from labeler.gui.project_signals import ProjectSignals

    with Project.open(tmp_path) as p:
        p.add_image_records([("a.jpg", 10, 10), ("b.jpg", 10, 10)])
        for im in p.images():
            H.perform(p, commands.ReviewImage(im.id))
        panel = ProgressPanel(p, ProjectSignals(p))
        qtbot.addWidget(panel)
        panel.resize(300, 600)  # about the dock's width in a 1024 x 700 window
        panel.show()
        panel.show_progress(derive_rounds(p))
        qtbot.waitUntil(lambda: bool(panel.timeline.axes()), timeout=2000)
        (x,) = [a for a in panel.timeline.axes() if a.orientation() == Qt.Orientation.Horizontal]
        assert x.format() == "HH:mm"  # reviews within a day: the time alone, short enough for 4 ticks
        qtbot.waitUntil(lambda: panel.timeline_view.height() >= 150, timeout=2000)
        # Qt elides a date label wider than its tick's share of the axis: each must fit whole
        label = x.min().toString(x.format())
        width = QFontMetrics(x.labelsFont()).horizontalAdvance(label)
        assert width * x.tickCount() < panel.timeline.plotArea().width()


def test_progress_says_which_review_threshold_would_have_needed_fewer_corrections(qtbot, window):
    p, c = window.project, window.ids["c.png"]
    shown = [b for b in p.boxes(c) if b.score > 0.5][0]  # 0.55, over nothing: a person deletes it
    assert push(window.undo_stack, p, commands.DeleteBoxes([shown.id], image_id=c))
    assert push(window.undo_stack, p, commands.ReviewImage(c, 0.5))  # the 0.45 box: not shown
    panel = window.review_loop.progress
    panel.show_progress(derive_rounds(p))
    assert ("Review threshold for m: 0.60 on the score slider would have needed about 0.0 corrections an image on "
            "the 1 image reviewed with its boxes, not 1.0.") in panel.summary.text()
    b = window.ids["b.png"]
    window.undo_stack.undo()
    window.undo_stack.undo()
    assert push(window.undo_stack, p, commands.ReviewImage(b, 0.5))  # its one 0.99 box was right: nothing to say
    panel.show_progress(derive_rounds(p))
    assert "Review threshold" not in panel.summary.text()
