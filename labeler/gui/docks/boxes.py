"""The boxes of the current image: class, state, score and size, with selection shared with the canvas.

The list re-reads the image's boxes when the store says they changed; selecting rows emits
`selection_requested` (the window forwards it to the canvas) and `select_boxes` mirrors the canvas's
selection back without echoing it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from labeler.core.store import PREDICTED, Box, Project, StoreError
from labeler.gui.docks.classes import swatch
from labeler.gui.project_signals import ProjectSignals

IdRole = Qt.ItemDataRole.UserRole + 1


class BoxList(QWidget):
    #: box ids the user selected in the list
    selection_requested = Signal(list)

    def __init__(self, project: Project, signals: ProjectSignals, parent=None):
        super().__init__(parent)
        self.project = project
        self._image_id: int | None = None
        self._boxes: list[Box] = []
        self._echo = False  # True while mirroring the canvas, so we do not send its selection back
        self._threshold = 0.0
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Class", "State", "Score", "Size"])
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (1, 2, 3):
            self.tree.header().setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemSelectionChanged.connect(self._on_tree_selection_changed)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.tree)
        signals.boxes_changed.connect(self._on_boxes_changed)
        signals.categories_changed.connect(lambda _ids: self.reload())

    def image_id(self) -> int | None:
        return self._image_id

    def box_ids(self) -> list[int]:
        return [b.id for b in self._boxes]

    def show_image(self, image_id: int | None) -> None:
        self._image_id = image_id
        self.reload()

    def reload(self) -> None:
        selected = set(self.selected_box_ids())
        try:
            self._boxes = self.project.boxes(self._image_id) if self._image_id is not None else []
            categories = {c.id: c for c in self.project.categories()}
        except StoreError:  # the project closed under us (window closing)
            self._boxes, categories = [], {}
        self._echo = True
        try:
            self.tree.clear()
            for b in self._boxes:
                cat = categories.get(b.category_id)
                score = "" if b.score is None else f"{b.score:.2f}"
                item = QTreeWidgetItem([cat.name if cat else "?", b.state, score,
                                        f"{b.width:.0f} x {b.height:.0f}"])
                if cat:
                    item.setIcon(0, swatch(cat.color, 10))
                item.setData(0, IdRole, b.id)
                item.setTextAlignment(2, Qt.AlignmentFlag.AlignRight)
                if b.hidden_at(self._threshold):
                    # hidden on the canvas by the score slider (Ctrl+Enter deletes it): say so here
                    for col in range(4):
                        item.setForeground(col, self.palette().brush(QPalette.ColorGroup.Disabled,
                                                                     QPalette.ColorRole.Text))
                        item.setToolTip(col, "Hidden by the score slider: Ctrl+Enter deletes it")
                elif b.state == PREDICTED:
                    item.setToolTip(1, "A model's proposal: Enter accepts it")
                self.tree.addTopLevelItem(item)
                item.setSelected(b.id in selected)
        finally:
            self._echo = False
        self.tree.viewport().update()

    def set_score_threshold(self, threshold: float) -> None:
        """Predictions scored below this are hidden on the canvas; the list greys them."""
        if threshold != self._threshold:
            self._threshold = threshold
            self.reload()

    def hidden_box_ids(self) -> list[int]:
        t = self._threshold
        return [b.id for b in self._boxes if b.hidden_at(t)]

    def selected_box_ids(self) -> list[int]:
        return [item.data(0, IdRole) for item in self.tree.selectedItems()]

    def select_boxes(self, box_ids) -> None:
        """Mirror the canvas's selection."""
        wanted = set(box_ids)
        self._echo = True
        try:
            last = None
            for i in range(self.tree.topLevelItemCount()):
                item = self.tree.topLevelItem(i)
                on = item.data(0, IdRole) in wanted
                item.setSelected(on)
                if on:
                    last = item
            if last is not None:
                self.tree.scrollToItem(last)
        finally:
            self._echo = False

    def _on_tree_selection_changed(self) -> None:
        if not self._echo:
            self.selection_requested.emit(self.selected_box_ids())

    def _on_boxes_changed(self, image_ids: tuple) -> None:
        if self._image_id is not None and (not image_ids or self._image_id in image_ids):
            self.reload()
