"""The class picker (E): every class with its colour and digit, filtered as you type.

Typing narrows the list (substring, any case); Up/Down move in it without leaving the text box;
Enter takes the highlighted class (the first match if none is highlighted); Esc cancels. When the
typed name is no class's name, the list ends with "Create class NAME" (highlighted when nothing
else matches): Enter on it returns the name, and the caller creates the class (undoably).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from labeler.core.store import Category

IdRole = Qt.ItemDataRole.UserRole + 1
#: the data of the "Create class NAME" row
CREATE = "create"


def _swatch(color: str) -> QIcon:
    pm = QPixmap(12, 12)
    pm.fill(QColor(color))
    return QIcon(pm)


class ClassPicker(QDialog):
    def __init__(self, categories: list[Category], current_id: int | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Set class")
        self.filter_box = QLineEdit()
        self.filter_box.setPlaceholderText("Type to filter classes…")
        self.filter_box.setClearButtonEnabled(True)
        self.list = QListWidget()
        for i, c in enumerate(categories):
            digit = f"{i + 1}  " if i < 9 else "    "
            item = QListWidgetItem(_swatch(c.color), f"{digit}{c.name}")
            item.setData(IdRole, c.id)
            item.setData(Qt.ItemDataRole.ToolTipRole, c.name)
            self.list.addItem(item)
            if c.id == current_id:
                self.list.setCurrentItem(item)
        self._names = [c.name.lower() for c in categories]
        self.create_item = QListWidgetItem("")
        self.create_item.setData(IdRole, CREATE)
        self.create_item.setHidden(True)
        self.list.addItem(self.create_item)
        hint = QLabel("Enter picks the highlighted class (or creates the typed one), Esc cancels")
        hint.setEnabled(False)
        lay = QVBoxLayout(self)
        lay.addWidget(self.filter_box)
        lay.addWidget(self.list)
        lay.addWidget(hint)
        self.filter_box.textChanged.connect(self._on_filter_changed)
        self.filter_box.returnPressed.connect(self._accept_current)
        self.filter_box.installEventFilter(self)
        self.list.itemActivated.connect(lambda _item: self._accept_current())
        self.resize(300, 360)
        if self.list.currentItem() is None and self.list.count():
            self.list.setCurrentRow(0)

    def chosen_id(self) -> int | str | None:
        """The highlighted class's id, the typed name when "Create class NAME" is highlighted, or None."""
        item = self.list.currentItem()
        if item is None or item.isHidden():
            return None
        if item is self.create_item:
            return self.filter_box.text().strip()
        return item.data(IdRole)

    def _on_filter_changed(self, text: str) -> None:
        needle = text.strip().lower()
        first = None
        for row, name in enumerate(self._names):
            item = self.list.item(row)
            hide = bool(needle) and needle not in name
            item.setHidden(hide)
            if not hide and first is None:
                first = item
        name = text.strip()
        offer = bool(name) and name.lower() not in self._names
        self.create_item.setText(f'Create class "{name}"')
        self.create_item.setHidden(not offer)
        current = self.list.currentItem()
        if current is None or current.isHidden():
            self.list.setCurrentItem(first if first is not None else (self.create_item if offer else None))

    def _accept_current(self) -> None:
        if self.chosen_id() is not None:
            self.accept()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        # arrows in the text box move the highlight in the list
        if obj is self.filter_box and event.type() == QEvent.Type.KeyPress and event.key() in (
                Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown):
            self.list.setFocus()
            self.list.keyPressEvent(event)
            self.filter_box.setFocus()
            return True
        return super().eventFilter(obj, event)


def pick_category(parent: QWidget | None, categories: list[Category],
                  current_id: int | None = None) -> int | str | None:
    """Show the picker modally: the chosen class id, a new class's name (str), or None if cancelled."""
    dlg = ClassPicker(categories, current_id, parent)
    try:
        if dlg.exec() == QDialog.DialogCode.Accepted:
            return dlg.chosen_id()
        return None
    finally:
        dlg.deleteLater()
