"""Which model class becomes which project class: an editable table, saved per model; and, for a
project with no classes yet, a checklist of the model's classes to bring in."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QHeaderView, QLabel, QLineEdit,
                               QListWidget, QListWidgetItem, QMessageBox, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from labeler.core.store import Project, StoreError
from labeler.ml import class_map

DROP = "(drop)"


class ClassMapDialog(QDialog):
    """Rows: model class -> project class (or "(drop)"). Starts from the effective map (by name,
    then what was saved); OK saves it under the model's key."""

    def __init__(self, project: Project, model_key: str, label_names: list[str], model_title: str = "",
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.project, self.model_key = project, model_key
        self.setWindowTitle("Class mapping")
        mapping = class_map.effective_map(project, model_key, label_names)
        targets = [DROP] + [c.name for c in project.categories()]
        self.filter_box = QLineEdit(placeholderText="Filter model classes")
        self.filter_box.textChanged.connect(self._filter)
        self.table = QTableWidget(len(mapping), 2)
        self.table.setHorizontalHeaderLabels(["Model class", "Project class"])
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self._combos: dict[str, QComboBox] = {}
        # mapped rows first: they are the ones a user checks
        rows = sorted(mapping.items(), key=lambda kv: kv[1] is None)
        for r, (model_name, target) in enumerate(rows):
            item = QTableWidgetItem(model_name)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.table.setItem(r, 0, item)
            combo = QComboBox()
            combo.addItems(targets)
            combo.setCurrentText(target if target is not None else DROP)
            self.table.setCellWidget(r, 1, combo)
            self._combos[model_name] = combo
        mapped = sum(t is not None for t in mapping.values())
        intro = QLabel(f"{model_title or model_key}: {mapped} of {len(mapping)} model classes map to a project class. "
                       "Boxes of a model class set to “(drop)” are not kept.")
        intro.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addWidget(self.filter_box)
        lay.addWidget(self.table)
        lay.addWidget(buttons)
        self.resize(460, 520)

    def _filter(self, text: str) -> None:
        for r in range(self.table.rowCount()):
            self.table.setRowHidden(r, text.lower() not in self.table.item(r, 0).text().lower())

    def mapping(self) -> dict[str, str | None]:
        return {m: (None if c.currentText() == DROP else c.currentText()) for m, c in self._combos.items()}

    def set_target(self, model_name: str, project_name: str | None) -> None:
        self._combos[model_name].setCurrentText(project_name or DROP)

    def accept(self) -> None:
        try:
            class_map.save_map(self.project, self.model_key, self.mapping())
        except StoreError as exc:
            QMessageBox.warning(self, "Class mapping", str(exc))
            return
        super().accept()


class BringInClassesDialog(QDialog):
    """The project has no classes yet: tick the model classes to create as project classes."""

    def __init__(self, project: Project, label_names: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.project, self.label_names = project, list(label_names)
        self.setWindowTitle("Bring in classes")
        intro = QLabel("This project has no classes yet. Tick the model's classes you want to label; each becomes "
                       "a project class, and the model's boxes of the other classes are dropped.")
        intro.setWordWrap(True)
        self.filter_box = QLineEdit(placeholderText="Filter")
        self.filter_box.textChanged.connect(self._filter)
        self.list = QListWidget()
        for name in class_map.usable_names(label_names):
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.list.addItem(item)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addWidget(self.filter_box)
        lay.addWidget(self.list)
        lay.addWidget(buttons)
        self.resize(360, 480)

    def _filter(self, text: str) -> None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setHidden(text.lower() not in item.text().lower())

    def set_checked(self, names) -> None:
        wanted = {n.lower() for n in names}
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.text().lower() in wanted else Qt.CheckState.Unchecked)

    def checked(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())
                if self.list.item(i).checkState() == Qt.CheckState.Checked]

    def accept(self) -> None:
        chosen = self.checked()
        if not chosen:
            QMessageBox.information(self, "Bring in classes", "Tick at least one class.")
            return
        try:
            class_map.bring_in_classes(self.project, self.label_names, chosen)
        except (StoreError, ValueError) as exc:
            QMessageBox.warning(self, "Bring in classes", str(exc))
            return
        super().accept()
