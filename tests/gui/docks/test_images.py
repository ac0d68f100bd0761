"""The image list model: virtual rows over the store, filter, counts, navigation, refresh on edits."""

import pytest
from PySide6.QtCore import Qt

from labeler.core.store import PREDICTED
from labeler.gui.docks.images import ALL, NOT_REVIEWED, ImageListModel, ImageListPanel, RecordRole
from labeler.gui.project_signals import ProjectSignals


@pytest.fixture
def project(new_project):
    return new_project(folder=".", records=[(f"img_{i:02d}.jpg", 100, 80) for i in range(10)])


def ids(project):
    return [im.id for im in project.images()]


def test_rows_follow_the_store_in_path_order(qtbot, project):
    model = ImageListModel(project)
    assert model.rowCount() == 10
    assert [model.index(r).data() for r in range(3)] == ["img_00.jpg", "img_01.jpg", "img_02.jpg"]
    assert model.index(0).data(RecordRole).status == "unlabeled"


def test_filter_by_status_and_text(qtbot, project):
    i = ids(project)
    cat = project.add_category("car")
    project.add_box(i[1], cat.id, 1, 1, 20, 20)
    project.set_reviewed(i[2])
    model = ImageListModel(project)
    model.set_filter(status="reviewed")
    assert [model.id_at(r) for r in range(model.rowCount())] == [i[2]]
    model.set_filter(status="in progress")
    assert [model.id_at(r) for r in range(model.rowCount())] == [i[1]]
    model.set_filter(status=NOT_REVIEWED)
    assert model.rowCount() == 9
    model.set_filter(status=ALL, text="IMG_0")
    assert model.rowCount() == 10
    model.set_filter(text="_05")
    assert [model.id_at(r) for r in range(model.rowCount())] == [i[5]]
    with pytest.raises(ValueError):
        model.set_filter(status="bogus")


def test_refresh_updates_rows_and_counts_without_reset(qtbot, project):
    i = ids(project)
    signals = ProjectSignals(project)
    model = ImageListModel(project)
    signals.boxes_changed.connect(model.refresh)
    signals.images_changed.connect(model.refresh)
    resets = []
    model.modelReset.connect(lambda: resets.append(1))
    cat = project.add_category("car")
    with qtbot.waitSignal(model.dataChanged, timeout=2000):
        project.add_boxes(i[3], [(cat.id, 1, 1, 20, 20, 0.9)], state=PREDICTED)
    assert model.record(i[3]).box_count == 1 and model.record(i[3]).status == "pre-labeled"
    with qtbot.waitSignal(model.counts_changed, timeout=2000):
        project.set_reviewed(i[3])
    assert model.counts["reviewed"] == 1
    assert resets == []


def test_a_filtered_out_image_stays_until_the_filter_changes(qtbot, project):
    i = ids(project)
    model = ImageListModel(project)
    model.set_filter(status="unlabeled")
    project.set_reviewed(i[0])
    model.refresh([i[0]])
    model.flush()
    assert model.row_of(i[0]) == 0  # still shown, now with its new status
    assert model.record(i[0]).status == "reviewed"
    model.set_filter(status="unlabeled")
    assert model.row_of(i[0]) is None


def test_navigation(qtbot, project):
    i = ids(project)
    model = ImageListModel(project)
    assert model.step(i[0], 1) == i[1]
    assert model.step(i[0], -1) == i[0]  # clamped
    assert model.step(i[9], 1) == i[9]
    assert model.first() == i[0] and model.last() == i[9]
    assert model.step(None, 1) == i[0]
    project.set_reviewed([i[1], i[2]])
    model.refresh([i[1], i[2]])
    assert model.next_not_reviewed(i[0]) == i[3]  # flushes pending refreshes itself
    assert model.next_not_reviewed(i[9]) == i[0]  # wraps around
    # from an image the filter hides, stepping goes to its neighbours in path order
    model.set_filter(text="_0")  # img_00 .. img_09 all match; now hide the odd ones
    model.set_filter(status=NOT_REVIEWED)
    assert model.row_of(i[1]) is None
    assert model.step(i[1], 1) == i[3]
    assert model.step(i[1], -1) == i[0]


def test_panel_shows_the_running_count_and_filters(qtbot, project):
    model = ImageListModel(project)
    panel = ImageListPanel(model)
    qtbot.addWidget(panel)
    project.set_reviewed(ids(project)[:3])
    model.refresh(ids(project)[:3])
    model.flush()
    assert panel.count_label.text() == "reviewed 3 / 10"
    panel.set_status_filter("reviewed")
    assert model.rowCount() == 3
    assert panel.count_label.text() == "reviewed 3 / 10  ·  3 shown"
    qtbot.keyClicks(panel.text_box, "_01")
    qtbot.waitUntil(lambda: model.rowCount() == 1, timeout=2000)
    with qtbot.waitSignal(panel.image_activated) as blocker:
        panel.view.setCurrentIndex(model.index(0))
    assert blocker.args == [ids(project)[1]]
    panel.set_status_filter("all")
    panel.text_box.clear()
    qtbot.waitUntil(lambda: model.rowCount() == 10, timeout=2000)
    panel.select_image(ids(project)[4])
    with qtbot.waitSignal(panel.image_activated) as blocker:
        qtbot.keyClick(panel.view, Qt.Key.Key_Down)
    assert blocker.args == [ids(project)[5]]


def test_a_large_project_is_read_in_one_query(qtbot, new_project):
    p = new_project(folder=".", records=[(f"d/{i:06d}.jpg", 10, 10) for i in range(20_000)])
    calls = []
    real = p._query
    p._query = lambda *a: (calls.append(a[0]), real(*a))[1]
    model = ImageListModel(p)
    for r in range(0, 20_000, 997):
        model.index(r).data()
        model.index(r).data(RecordRole)
    assert model.rowCount() == 20_000
    assert len(calls) == 1


def test_reviewed_validation_images_are_italic_with_a_tooltip(qtbot, project):
    from labeler.core.split import split_of

    project.set_reviewed(ids(project))
    model = ImageListModel(project)
    val = [r for r in range(model.rowCount()) if split_of(model.index(r).data(RecordRole).path) == "val"]
    assert 0 < len(val) < model.rowCount()  # the 10 names split both ways
    for r in range(model.rowCount()):
        font = model.index(r).data(Qt.ItemDataRole.FontRole)
        tip = model.index(r).data(Qt.ItemDataRole.ToolTipRole)
        assert (font is not None and font.italic()) == (r in val)
        assert ("Validation image" in tip) == (r in val)
    # an image that is not reviewed is not a validation image yet
    project.set_reviewed(ids(project), reviewed=False)
    model.reload()
    assert all(model.index(r).data(Qt.ItemDataRole.FontRole) is None for r in range(model.rowCount()))
