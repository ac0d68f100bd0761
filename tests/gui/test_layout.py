"""Every word of the Fine-tune panel shows at the window's default size and at 1024 x 700 (issue 15,
item 11): the chart's legend names its lines, "Start from" choices read whole, the weights note is
not cut, and the splitter between the chart and the past runs moves."""

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


def test_the_chart_splitter_moves(window, qtbot):
    splitter = window.train_panel.splitter
    before = splitter.sizes()
    assert min(before) > 0
    splitter.moveSplitter(before[0] - 40, 1)
    qtbot.wait(10)
    after = splitter.sizes()
    assert after[0] < before[0] and after[1] > before[1]
