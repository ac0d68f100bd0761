"""Small widget settings shared by the panels."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox


def narrow_combo(box: QComboBox, chars: int = 16) -> QComboBox:
    """Let a combo box with long item texts shrink to about `chars` characters, so it never widens
    its dock (the canvas keeps the room); its drop-down list still opens wide enough to read every
    item, however narrow the box."""
    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    box.setMinimumContentsLength(chars)
    box.model().rowsInserted.connect(lambda *_: _fit_list(box))
    box.model().modelReset.connect(lambda *_: _fit_list(box))
    _fit_list(box)
    return box


def _fit_list(box: QComboBox) -> None:
    view = box.view()
    metrics = view.fontMetrics()
    widest = max((metrics.horizontalAdvance(box.itemText(i)) for i in range(box.count())), default=0)
    icon = box.iconSize().width() + 4 if any(not box.itemIcon(i).isNull() for i in range(box.count())) else 0
    # the text, an icon, the item's margins and a scroll bar
    view.setMinimumWidth(widest + icon + 4 * metrics.averageCharWidth() + view.verticalScrollBar().sizeHint().width())
