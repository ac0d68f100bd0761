"""Every word of the Fine-tune panel shows at the window's default size and at 1024 x 700 (issue 15,
item 11): the chart's legend names its lines, "Start from" choices read whole, the weights note is
not cut, and the chart and the past runs (two tabs) need no scrolling at the default size."""

import pytest
from PySide6.QtWidgets import QStyle, QStyleOptionComboBox

from labeler.gui.main_window import MainWindow

SIZES = [None, (1024, 700)]  # None: the size the window opens at


@pytest.fixture(params=SIZES, ids=["default", "1024x700"])
def window(request, qtbot, new_project):
    project = new_project({f"img_{i}.png": (64, 48) for i in range(4)}, classes=["car", "bike"])
    w = MainWindow(project)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    if request.param is not None:
        w.resize(*request.param)
    w.show_dock("Fine-tune")
    qtbot.wait(50)  # the layout settles
    w.expected_size = request.param
    return w


def combo_text_width(combo) -> int:
    opt = QStyleOptionComboBox()
    combo.initStyleOption(opt)
    return combo.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, opt,
                                        QStyle.SubControl.SC_ComboBoxEditField, combo).width()


def test_the_window_takes_the_size_asked(window):
    if window.expected_size is not None:
        assert (window.width(), window.height()) == window.expected_size


def test_the_chart_legend_names_every_line(window):
    chart = window.train_panel.chart
    legend = chart.legend
    assert chart.legend_names() == ["loss", "epoch loss", "mAP@.5", "mAP@.5:.95"]
    assert legend.isVisible() and all(name in legend.text() for name in chart.legend_names())
    # wrapped, never cut: the label is as tall as its text needs at its width
    assert legend.height() >= legend.heightForWidth(legend.width())


def test_start_from_choices_read_whole(window):
    box = window.train_panel.start_box
    room = combo_text_width(box)
    fm = box.fontMetrics()
    for i in range(box.count()):
        assert fm.horizontalAdvance(box.itemText(i)) <= room, box.itemText(i)


def test_the_weights_note_is_not_cut(window):
    label = window.train_panel.weights_label
    assert label.text().startswith(("No COCO weights", "COCO weights"))
    assert label.height() >= label.heightForWidth(label.width())


def test_chart_and_past_runs_are_a_click_away_without_scrolling(window, qtbot):
    panel = window.train_panel
    views = panel.views
    assert [views.tabText(i) for i in range(views.count())] == ["Chart", "Past runs"]
    if window.expected_size is None:  # at the default size the panel fits its dock: nothing to scroll to
        assert panel.scroll.verticalScrollBar().maximum() == 0
    views.setCurrentIndex(1)
    qtbot.wait(10)
    table, button = panel.runs_table, panel.use_button
    assert table.isVisible() and button.isVisible()
    assert table.height() >= table.minimumHeight() > 0
