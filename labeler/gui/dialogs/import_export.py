"""File > Import… and File > Export…: the format, the path and the choices, nothing else.

The dialogs only collect a choice (ImportChoice, ExportChoice); the main window runs the import or
export in a BackgroundTask and shows the result in a message box. "Include unreviewed images" is
remembered per project (the project's settings table), as is the last export path.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLineEdit, QPushButton, QVBoxLayout, QWidget)

from labeler.core.store import Project

ALL_IMAGES_KEY = "export.all_images"
EXPORT_PATH_KEY = "export.path"
EXPORT_FORMAT_KEY = "export.format"
EXPORT_FORMATS = {"coco": "COCO JSON", "yolo": "YOLO (Ultralytics data.yaml)", "voc": "Pascal VOC"}
IMPORT_FORMATS = {"auto": "Recognise from the file or folder", "coco": "COCO JSON", "yolo": "YOLO",
                  "voc": "Pascal VOC XML", "labelme": "labelme JSON"}


@dataclass(frozen=True)
class ExportChoice:
    fmt: str
    out: str
    all_images: bool = False
    copy_images: bool = False
    split: bool = False


@dataclass(frozen=True)
class ImportChoice:
    fmt: str
    path: str
    as_predictions: bool = False
    merge: bool = False
    shapes: str = "boxes"


def _path_row(edit: QLineEdit, *buttons: QPushButton) -> QWidget:
    row = QWidget()
    lay = QHBoxLayout(row)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(edit, 1)
    for b in buttons:
        lay.addWidget(b)
    return row


class ExportDialog(QDialog):
    def __init__(self, project: Project, parent: QWidget | None = None):
        super().__init__(parent)
        self.project = project
        self.setWindowTitle("Export")
        self.format_box = QComboBox()
        for key, text in EXPORT_FORMATS.items():
            self.format_box.addItem(text, key)
        self.path_edit = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.all_images = QCheckBox("Include unreviewed images (with their people's and accepted boxes)")
        self.all_images.setChecked(bool(project.get_setting(ALL_IMAGES_KEY, False)))
        self.copy_images = QCheckBox("Copy the images (default: links to them)")
        self.split = QCheckBox("Write train.json and val.json (the fine-tuning split)")
        form = QFormLayout()
        form.addRow("Format", self.format_box)
        form.addRow("Write to", _path_row(self.path_edit, browse))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        for w in (self.all_images, self.copy_images, self.split):
            lay.addWidget(w)
        lay.addWidget(buttons)
        self.format_box.currentIndexChanged.connect(self._on_format_changed)
        self.path_edit.textChanged.connect(lambda t: self.ok.setEnabled(bool(t.strip())))
        fmt = project.get_setting(EXPORT_FORMAT_KEY, "coco")
        self.format_box.setCurrentIndex(max(0, self.format_box.findData(fmt)))
        self._on_format_changed()

    def _on_format_changed(self, *_):
        fmt = self.format_box.currentData()
        self.copy_images.setVisible(fmt != "coco")
        self.split.setVisible(fmt == "coco")
        remembered = self.project.get_setting(f"{EXPORT_PATH_KEY}.{fmt}")
        default = self.project.root / ("annotations.json" if fmt == "coco" else f"export-{fmt}")
        self.path_edit.setText(remembered or str(default))
        self.ok.setEnabled(bool(self.path_edit.text().strip()))

    def _browse(self):
        fmt, current = self.format_box.currentData(), self.path_edit.text()
        if fmt == "coco" and not self.split.isChecked():
            path, _ = QFileDialog.getSaveFileName(self, "Export COCO", current, "COCO JSON (*.json)")
        else:
            path = QFileDialog.getExistingDirectory(self, f"Export {EXPORT_FORMATS[fmt]} into", current)
        if path:
            self.path_edit.setText(path)

    def choice(self) -> ExportChoice:
        fmt = self.format_box.currentData()
        return ExportChoice(fmt, self.path_edit.text().strip(), self.all_images.isChecked(),
                            self.copy_images.isChecked() and fmt != "coco", self.split.isChecked() and fmt == "coco")

    def accept(self) -> None:
        c = self.choice()
        self.project.set_setting(ALL_IMAGES_KEY, c.all_images)  # remembered per project
        self.project.set_setting(EXPORT_FORMAT_KEY, c.fmt)
        self.project.set_setting(f"{EXPORT_PATH_KEY}.{c.fmt}", c.out)
        super().accept()


class ImportDialog(QDialog):
    def __init__(self, project: Project, as_predictions: bool = False, parent: QWidget | None = None):
        super().__init__(parent)
        self.project = project
        self.setWindowTitle("Import predictions" if as_predictions else "Import")
        self.format_box = QComboBox()
        for key, text in IMPORT_FORMATS.items():
            self.format_box.addItem(text, key)
        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("a COCO .json, data.yaml, obj.data, classes.txt, or a folder of .xml/.json")
        pick_file, pick_folder = QPushButton("File…"), QPushButton("Folder…")
        pick_file.clicked.connect(self._pick_file)
        pick_folder.clicked.connect(self._pick_folder)
        self.as_predictions = QCheckBox("Boxes with a score come in as predictions to review")
        self.as_predictions.setChecked(as_predictions)
        self.merge = QCheckBox("Keep the images' existing boxes (default: the file replaces them)")
        self.shapes = QComboBox()
        self.shapes.addItem("Rectangles only", "boxes")
        self.shapes.addItem("Polygons, circles and points too, as their bounding boxes", "all")
        form = QFormLayout()
        form.addRow("Format", self.format_box)
        form.addRow("Read", _path_row(self.path_edit, pick_file, pick_folder))
        form.addRow("labelme shapes", self.shapes)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setEnabled(False)
        self.path_edit.textChanged.connect(lambda t: self.ok.setEnabled(bool(t.strip())))
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.as_predictions)
        lay.addWidget(self.merge)
        lay.addWidget(buttons)

    def _start(self) -> str:
        return self.path_edit.text() or str(self.project.root)

    def _pick_file(self):
        path, _ = QFileDialog.getOpenFileName(self, "Import annotations", self._start(),
                                              "Annotations (*.json *.yaml *.yml *.data *.names *.txt *.xml);;All files (*)")
        if path:
            self.path_edit.setText(path)

    def _pick_folder(self):
        path = QFileDialog.getExistingDirectory(self, "Import a folder of annotations", self._start())
        if path:
            self.path_edit.setText(path)

    def choice(self) -> ImportChoice:
        return ImportChoice(self.format_box.currentData(), self.path_edit.text().strip(),
                            self.as_predictions.isChecked(), self.merge.isChecked(), self.shapes.currentData())
