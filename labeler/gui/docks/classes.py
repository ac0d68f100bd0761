"""The class panel: the project's classes with colour and counts (people's boxes, drawn or accepted,
apart from predictions not yet reviewed), their edits, and the default class for new boxes.

Every edit is a core command pushed on the shared undo stack, so Ctrl+Z reverts a rename or a
delete (boxes included). Methods take their arguments or, when called without, ask the user.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap, QUndoStack
from PySide6.QtWidgets import (QAbstractItemView, QColorDialog, QComboBox, QFormLayout, QHBoxLayout,
                               QHeaderView, QInputDialog, QMessageBox, QToolButton, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from labeler.core import commands
from labeler.core.store import PREDICTED, Category, Project, StoreError
from labeler.core.words import counted
from labeler.gui.project_signals import ProjectSignals
from labeler.gui.undo import UndoReporter, push

#: project setting that remembers the default class between sessions
DEFAULT_CATEGORY_KEY = "default_category"
IdRole = Qt.ItemDataRole.UserRole + 1


def swatch(color: str, size: int = 14) -> QIcon:
    pix = QPixmap(size, size)
    pix.fill(QColor(color))
    return QIcon(pix)



def split_counts(by_state: dict[str, int]) -> tuple[int, int]:
    """(people's boxes: drawn or accepted, predictions not yet reviewed) from counts by box state."""
    predicted = by_state.get(PREDICTED, 0)
    return sum(by_state.values()) - predicted, predicted


class _ClassTree(QTreeWidget):
    """The class list; dragging a row to another place reorders the classes."""

    #: the ids in their new order after a drag
    reordered = Signal(list)

    def __init__(self):
        super().__init__()
        self.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)

    def dropEvent(self, event) -> None:
        super().dropEvent(event)
        # the widget moved its rows; the store decides (the reload that follows redraws from it)
        self.reordered.emit([self.topLevelItem(i).data(0, IdRole) for i in range(self.topLevelItemCount())])


class ClassPanel(QWidget):
    #: the class new boxes get (None when the project has no classes)
    default_category_changed = Signal(object)

    def __init__(self, project: Project, signals: ProjectSignals, undo_stack: QUndoStack,
                 reporter: UndoReporter, parent=None):
        super().__init__(parent)
        self.project, self.undo_stack, self.reporter = project, undo_stack, reporter
        self._categories: list[Category] = []
        self._default: int | None = None

        self.default_box = QComboBox()
        self.default_box.setToolTip("The class a newly drawn box gets (number keys 1–9 re-class the selection)")
        self.tree = _ClassTree()
        self.tree.reordered.connect(self.reorder_classes)
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["Class", "Boxes", "Predicted"])
        self.tree.headerItem().setToolTip(1, "Boxes people drew or accepted")
        self.tree.headerItem().setToolTip(2, "Predictions not yet reviewed")
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.header().setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemDoubleClicked.connect(lambda item, _col: self.rename_class(item.data(0, IdRole)))

        buttons = QHBoxLayout()
        buttons.setSpacing(2)
        for text, tip, slot in [
            ("Add", "Add a class", lambda: self.add_class()),
            ("Rename", "Rename the selected class", lambda: self._with_selected(self.rename_class)),
            ("Colour", "Change the selected class's colour", lambda: self._with_selected(self.recolor_class)),
            ("Merge", "Move the selected class's boxes into another class", lambda: self._with_selected(self.merge_class)),
            ("Delete", "Delete the selected class and its boxes", lambda: self._with_selected(self.delete_class)),
            ("▲", "Move the selected class up", lambda: self._with_selected(self.move_class, -1)),
            ("▼", "Move the selected class down", lambda: self._with_selected(self.move_class, 1)),
        ]:
            b = QToolButton(text=text, toolTip=tip)
            b.clicked.connect(slot)
            buttons.addWidget(b)
        buttons.addStretch(1)
        form = QFormLayout()
        form.addRow("New boxes:", self.default_box)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(form)
        lay.addWidget(self.tree, 1)
        lay.addLayout(buttons)

        self._count_timer = QTimer(self, singleShot=True, interval=250)  # counts follow edits, coalesced
        self._count_timer.timeout.connect(self._update_counts)
        signals.categories_changed.connect(lambda _ids: self.reload())
        signals.boxes_changed.connect(lambda _ids: self._count_timer.start())
        self.default_box.currentIndexChanged.connect(self._on_default_box_changed)
        saved = project.get_setting(DEFAULT_CATEGORY_KEY)
        self._default = saved if isinstance(saved, int) else None
        self.reload()

    def stop(self) -> None:
        """Drop the queued count refresh (the project is closing)."""
        self._count_timer.stop()

    # ------------------------------------------------------------------ reading
    def categories(self) -> list[Category]:
        return list(self._categories)

    def default_category(self) -> int | None:
        return self._default

    def selected_category(self) -> int | None:
        item = self.tree.currentItem()
        return item.data(0, IdRole) if item is not None else None

    def select_category(self, category_id: int) -> None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.data(0, IdRole) == category_id:
                self.tree.setCurrentItem(item)

    def reload(self) -> None:
        selected = self.selected_category()
        self._categories = self.project.categories()
        self.tree.clear()
        for c in self._categories:
            item = QTreeWidgetItem([c.name, "", ""])
            item.setIcon(0, swatch(c.color))
            item.setData(0, IdRole, c.id)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsDropEnabled)  # rows move between rows, never into one
            item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight)
            item.setTextAlignment(2, Qt.AlignmentFlag.AlignRight)
            self.tree.addTopLevelItem(item)
        if selected is not None:
            self.select_category(selected)
        self._update_counts()
        self.default_box.blockSignals(True)
        self.default_box.clear()
        for n, c in enumerate(self._categories, 1):
            self.default_box.addItem(swatch(c.color), f"{n}  {c.name}" if n <= 9 else c.name, c.id)
        ids = [c.id for c in self._categories]
        default = self._default if self._default in ids else (ids[0] if ids else None)
        self.default_box.setCurrentIndex(ids.index(default) if default is not None else -1)
        self.default_box.blockSignals(False)
        self._set_default(default)

    def _update_counts(self) -> None:
        if not self.project.is_open:  # the coalescing timer outlived the window's project
            return
        counts = self.project.box_counts_by_category()
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            by_state = counts.get(item.data(0, IdRole), {})
            people, predicted = split_counts(by_state)
            item.setText(1, f"{people:,}")
            item.setText(2, f"{predicted:,}")
            tip = ", ".join(f"{n:,} {s}" for s, n in sorted(by_state.items())) or "no boxes"
            item.setToolTip(1, tip)
            item.setToolTip(2, tip)

    # ------------------------------------------------------------------ default class
    def set_default_category(self, category_id: int | None) -> None:
        i = self.default_box.findData(category_id)
        if i >= 0:
            self.default_box.setCurrentIndex(i)

    def _on_default_box_changed(self, index: int) -> None:
        self._set_default(self.default_box.itemData(index) if index >= 0 else None)

    def _set_default(self, category_id: int | None) -> None:
        self._default = category_id
        if not self.project.readonly and self.project.get_setting(DEFAULT_CATEGORY_KEY) != category_id:
            self.project.set_setting(DEFAULT_CATEGORY_KEY, category_id)
        self.default_category_changed.emit(category_id)

    # ------------------------------------------------------------------ edits
    def _push(self, command: commands.Command) -> bool:
        return push(self.undo_stack, self.project, command, self.reporter)

    def _with_selected(self, fn, *args) -> None:
        cid = self.selected_category()
        if cid is None:
            self.reporter.failed.emit("Select a class in the list first.")
            return
        fn(cid, *args)

    def _name(self, category_id: int) -> str:
        return next((c.name for c in self._categories if c.id == category_id), f"class {category_id}")

    def add_class(self, name: str | None = None, color: str | None = None) -> int | None:
        """Add a class; returns its id (None if cancelled or refused)."""
        if name is None:
            name, ok = QInputDialog.getText(self, "Add class", "Name of the new class:")
            if not ok:
                return None
        cmd = commands.AddCategory(name.strip(), color)
        if not self._push(cmd):
            return None
        self.select_category(cmd.created.id)
        if self._default is None:
            self.set_default_category(cmd.created.id)
        return cmd.created.id

    def rename_class(self, category_id: int, name: str | None = None) -> bool:
        if name is None:
            name, ok = QInputDialog.getText(self, "Rename class", "New name:", text=self._name(category_id))
            if not ok or name.strip() == self._name(category_id):
                return False
        return self._push(commands.RenameCategory(category_id, name.strip()))

    def recolor_class(self, category_id: int, color: str | None = None) -> bool:
        if color is None:
            old = next((c.color for c in self._categories if c.id == category_id), "#ffffff")
            chosen = QColorDialog.getColor(QColor(old), self, f"Colour of {self._name(category_id)}")
            if not chosen.isValid():
                return False
            color = chosen.name()
        if not QColor(color).isValid():
            self.reporter.failed.emit(f"{color!r} is not a colour")
            return False
        return self._push(commands.RecolorCategory(category_id, QColor(color).name()))

    def delete_class(self, category_id: int, confirm: bool = True) -> bool:
        n = sum(self.project.box_counts_by_category().get(category_id, {}).values())
        if confirm:
            answer = QMessageBox.question(
                self, "Delete class",
                f"Delete the class {self._name(category_id)!r} and its {counted(n, 'box')}?\n(Edit > Undo brings them back.)")
            if answer != QMessageBox.StandardButton.Yes:
                return False
        return self._push(commands.DeleteCategory(category_id))

    def merge_class(self, source_id: int, target_id: int | None = None) -> bool:
        if target_id is None:
            others = [c for c in self._categories if c.id != source_id]
            if not others:
                self.reporter.failed.emit("There is no other class to merge into.")
                return False
            names = [c.name for c in others]
            name, ok = QInputDialog.getItem(
                self, "Merge class", f"Move every box of {self._name(source_id)!r} into:", names, 0, False)
            if not ok:
                return False
            target_id = others[names.index(name)].id
        try:
            return self._push(commands.MergeCategory(source_id, target_id))
        except StoreError as exc:  # raised before the command runs (e.g. merging into itself)
            self.reporter.failed.emit(str(exc))
            return False

    def reorder_classes(self, ordered_ids: list[int]) -> bool:
        ids = [c.id for c in self._categories]
        if sorted(ordered_ids) != sorted(ids):  # a drop that lost or doubled a row: redraw from the store
            self.reload()
            return False
        if ordered_ids == ids:
            return False
        ok = self._push(commands.ReorderCategories(list(ordered_ids)))
        if not ok:
            self.reload()
        return ok

    def move_class(self, category_id: int, delta: int) -> bool:
        ids = [c.id for c in self._categories]
        if category_id not in ids:
            return False
        i = ids.index(category_id)
        j = min(max(i + delta, 0), len(ids) - 1)
        if i == j:
            return False
        ids.insert(j, ids.pop(i))
        ok = self._push(commands.ReorderCategories(ids))
        self.select_category(category_id)
        return ok
