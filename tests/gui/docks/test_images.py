"""The image list model: virtual rows over the store, filter, counts, navigation, refresh on edits."""

import pytest
from PySide6.QtCore import Qt

from labeler.core.store import PREDICTED
from labeler.gui.docks.images import ALL, NOT_REVIEWED, ImageListModel, ImageListPanel, RecordRole, ScoreRole
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


def test_name_filter_keeps_the_dock_width_when_the_dock_is_narrow(qtbot, project):
    """The name filter has a row of its own: at a narrow dock it is not squeezed to "Fil…" between the
    status and sort choices, and neither choice widens the dock."""
    panel = ImageListPanel(ImageListModel(project))
    qtbot.addWidget(panel)
    panel.resize(200, 400)
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.text_box.width() >= panel.width() - 12
    assert panel.status_box.width() + panel.sort_box.width() <= panel.width()
    assert panel.minimumSizeHint().width() <= 200


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


def test_a_large_project_is_read_in_two_queries(qtbot, new_project):
    p = new_project(folder=".", records=[(f"d/{i:06d}.jpg", 10, 10) for i in range(20_000)])
    calls = []
    real = p._query
    p._query = lambda *a: (calls.append(a[0]), real(*a))[1]
    model = ImageListModel(p)
    for r in range(0, 20_000, 997):
        model.index(r).data()
        model.index(r).data(RecordRole)
    assert model.rowCount() == 20_000
    assert len(calls) == 2  # the images, and the review queue's scores


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


def test_long_names_are_elided_in_the_middle_and_the_count_keeps_its_room(qtbot, new_project):
    from PySide6.QtWidgets import QStyleOptionViewItem

    names = ["exif_orientation_examples__Landscape_1.jpg", "exif_orientation_examples__Landscape_3.jpg"]
    p = new_project(folder=".", records=[(n, 100, 80) for n in names])
    cat = p.add_category("car")
    for im in p.images():
        p.add_boxes(im.id, [(cat.id, 1, 1, 20, 20)] * 12)
    model = ImageListModel(p)
    panel = ImageListPanel(model)
    qtbot.addWidget(panel)
    panel.resize(190, 300)
    panel.show()
    qtbot.waitExposed(panel)
    delegate = panel.view.itemDelegate()
    shown = []
    for row in range(2):
        index = model.index(row)
        option = QStyleOptionViewItem()
        panel.view.initViewItemOption(option)
        option.rect = panel.view.visualRect(index)
        opt, parts = delegate.layout(option, index)
        count_rect, count, is_score = parts[-1]
        assert (count, is_score) == ("12", False) and len(parts) == 1  # no score: never pre-labeled
        assert "…" in opt.text  # too long for the panel: elided
        assert opt.text.startswith("exif") and opt.text.endswith(names[row][-6:])  # both ends stay
        style = panel.view.style()
        text_left = style.subElementRect(style.SubElement.SE_ItemViewItemText, opt, panel.view).left()
        assert text_left + opt.fontMetrics.horizontalAdvance(opt.text) < count_rect.left()  # no overlap
        shown.append(opt.text)
    assert shown[0] != shown[1]  # the _1 and _3 images look different
    assert not panel.view.viewport().grab().isNull()  # paints through the delegate
    panel.close()


def test_statuses_in_the_users_words_in_tooltip_and_filter(qtbot, project):
    i = ids(project)
    cat = project.add_category("car")
    project.add_box(i[1], cat.id, 1, 1, 20, 20)
    project.add_boxes(i[2], [(cat.id, 1, 1, 20, 20, 0.9), (cat.id, 2, 2, 30, 30, 0.8)], state=PREDICTED)
    model = ImageListModel(project)
    panel = ImageListPanel(model)
    qtbot.addWidget(panel)
    tip = model.index(1).data(Qt.ItemDataRole.ToolTipRole)
    assert "In progress, 1 box" in tip  # a person's box: not "predicted", and no "1 boxes"
    assert "Pre-labeled, 2 boxes" in model.index(2).data(Qt.ItemDataRole.ToolTipRole)
    assert "Unlabeled, 0 boxes" in model.index(0).data(Qt.ItemDataRole.ToolTipRole)
    items = [panel.status_box.itemText(k) for k in range(panel.status_box.count())]
    assert items == ["All", "Not reviewed", "Unlabeled", "Pre-labeled", "In progress", "Reviewed",
                     "Unreadable", "Missing"]
    panel.set_status_filter("pre-labeled")
    assert [model.id_at(r) for r in range(model.rowCount())] == [i[2]]
    panel.set_status_filter(NOT_REVIEWED)
    assert model.rowCount() == 10  # unlabeled, pre-labeled and in progress all still need review


def test_the_italic_mark_is_the_split_training_makes(qtbot, project):
    from labeler.core.split import split_of
    from labeler.ml.dataset import snapshot, split_samples

    model = ImageListModel(project)
    two = [im for im in project.images() if split_of(im.path) == "train"][:2]
    project.set_reviewed([im.id for im in two])  # by hash alone neither validates; training moves one
    model.refresh([im.id for im in two])
    model.flush()
    italic = {model.index(r).data(RecordRole).path for r in range(model.rowCount())
              if model.index(r).data(Qt.ItemDataRole.FontRole) is not None}
    _classes, samples, _dropped = snapshot(project)
    _train, val = split_samples(samples)
    assert italic == {s.path for s in val} and len(italic) == 1


def test_sort_most_informative_first_shows_scores_and_follows_runs(qtbot, project):
    from PySide6.QtWidgets import QStyleOptionViewItem

    i = ids(project)
    cat = project.add_category("car")
    project.replace_predictions(i[3], [(cat.id, 1, 1, 20, 20, 0.9)], model="m", informativeness=0.4)
    project.replace_predictions(i[7], [(cat.id, 1, 1, 20, 20, 0.6)], model="m", informativeness=2.5)
    project.replace_predictions(i[5], [(cat.id, 1, 1, 20, 20, 0.6)], model="m", informativeness=9.0)
    project.set_reviewed(i[5])  # reviewed: its score no longer counts, nor shows
    signals = ProjectSignals(project)
    model = ImageListModel(project)
    signals.boxes_changed.connect(model.refresh)
    panel = ImageListPanel(model)
    qtbot.addWidget(panel)
    shown = lambda: [model.id_at(r) for r in range(model.rowCount())]  # noqa: E731
    assert shown() == i  # file order first
    panel.sort_box.setCurrentIndex(panel.sort_box.findData("informative"))
    assert model.sort() == "informative"
    rest = [x for x in i if x not in (i[7], i[3])]
    assert shown() == [i[7], i[3], *rest]  # then unscored and reviewed, in file order
    assert model.index(0).data(ScoreRole) == 2.5 and model.index(model.row_of(i[5])).data(ScoreRole) is None

    # the score is drawn after the name, before the box count
    panel.resize(220, 300)
    panel.show()
    qtbot.waitExposed(panel)
    option = QStyleOptionViewItem()
    panel.view.initViewItemOption(option)
    option.rect = panel.view.visualRect(model.index(0))
    _, parts = panel.view.itemDelegate().layout(option, model.index(0))
    assert [(t, sc) for _, t, sc in parts] == [("2.50", True), ("1", False)]
    assert parts[0][0].right() < parts[1][0].left()

    # a pre-labeling run: scores follow at once, the order once the run is over
    project.replace_predictions(i[0], [(cat.id, 1, 1, 20, 20, 0.55)], model="m", informativeness=5.0)
    model.flush()
    qtbot.waitUntil(lambda: model.score(i[0]) == 5.0)
    assert shown()[0] == i[7]  # no jump under the cursor mid-run
    model.resort()
    assert shown()[:3] == [i[0], i[7], i[3]]
    panel.sort_box.setCurrentIndex(panel.sort_box.findData("status"))
    statuses = [model.index(r).data(RecordRole).status for r in range(model.rowCount())]
    assert statuses == sorted(statuses, key=["unlabeled", "pre-labeled", "in progress", "reviewed"].index)
    with pytest.raises(ValueError, match="Unknown sort 'size'"):
        model.set_sort("size")
    signals.detach()
    panel.close()


def test_unreadable_images_are_counted_apart_from_the_work(qtbot, project):
    model = ImageListModel(project)
    panel = ImageListPanel(model)
    qtbot.addWidget(panel)
    bad = ids(project)[:2]
    for i in bad:
        project.mark_unreadable(i, "cannot identify image file")
    model.refresh(bad)
    model.flush()
    assert panel.count_label.text() == "reviewed 0 / 8  ·  8 to review, 2 unreadable"
    project.set_reviewed(ids(project)[2:4])
    model.refresh(ids(project)[2:4])
    model.flush()
    assert panel.count_text(with_shown=False) == "reviewed 2 / 8  ·  6 to review, 2 unreadable"
