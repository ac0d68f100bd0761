"""Where a project's store lives, as the app asks it: File > New project for a folder… (an image folder
and a place for its project), the question when a folder cannot be written (keep its project in the
user data folder), and the one when a project's image folder is gone (find it).

The decisions are labeler.core.location's; these only ask. Each returns what the user chose, or None.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QMessageBox, QPushButton, QVBoxLayout, QWidget)

from labeler.core.location import ImagesFolderMissingError, is_store_folder


class NewProjectDialog(QDialog):
    """An image folder and the folder that keeps its project (empty: inside the images, in .labeler)."""

    def __init__(self, parent: QWidget | None = None, start: str = ""):
        super().__init__(parent)
        self.setWindowTitle("New project for a folder")
        intro = QLabel("The images stay where they are. The project (its labels, backups and trained models) "
                       "is kept in the folder you choose below, so one set of images can have several "
                       "projects, or a read-only one can have any.")
        intro.setWordWrap(True)
        self.images_edit = QLineEdit(start)
        self.store_edit = QLineEdit()
        self.store_edit.setPlaceholderText("empty: in the image folder, in .labeler")
        form = QFormLayout()
        form.addRow("Images folder:", self._row(self.images_edit, "Choose the image folder", self._pick_images))
        form.addRow("Keep the project in:", self._row(self.store_edit, "Choose where to keep the project",
                                                       self._pick_store))
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #c62828")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Create or open")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addLayout(form)
        lay.addWidget(self.message)
        lay.addWidget(self.buttons)
        self.images_edit.textChanged.connect(self._check)
        self.store_edit.textChanged.connect(self._check)
        # wrapped labels get no height of their own from a dialog sized to its hint: the intro was cut
        # at its first and last line (seen under Xvfb + openbox); give the dialog its width and the
        # labels the height their text needs at it
        self.setMinimumWidth(560)
        margins = lay.contentsMargins()
        self._text_width = 560 - margins.left() - margins.right()
        intro.setMinimumHeight(intro.heightForWidth(self._text_width))
        self.intro = intro
        self._check()

    def _row(self, edit: QLineEdit, title: str, pick) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(edit, 1)
        button = QPushButton("Browse…")
        button.setToolTip(title)
        button.clicked.connect(pick)
        row.addWidget(button)
        return row

    def _pick_images(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose the image folder", self.images_edit.text())
        if folder:
            self.images_edit.setText(folder)

    def _pick_store(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose where to keep the project",
                                                  self.store_edit.text() or self.images_edit.text())
        if folder:
            self.store_edit.setText(folder)

    def problem(self) -> str | None:
        """Why OK is off (None when the choice can be opened)."""
        images, store = self.images_edit.text().strip(), self.store_edit.text().strip()
        if not images:
            return "Choose the image folder."
        if not Path(images).expanduser().is_dir():
            return f"{images} is not a folder."
        if store and Path(store).expanduser().is_file():
            return f"{store} is a file; choose a folder for the project."
        return None

    def _check(self) -> None:
        problem = self.problem()
        self.message.setText(problem or "")
        self.message.setMinimumHeight(self.message.heightForWidth(self._text_width) if problem else 0)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(problem is None)

    def values(self) -> tuple[str, str]:
        """(image folder, project folder or '' for the image folder's own .labeler)."""
        return self.images_edit.text().strip(), self.store_edit.text().strip()

    @classmethod
    def ask(cls, parent: QWidget | None, start: str = "") -> tuple[str, str] | None:
        dialog = cls(parent, start)
        return dialog.values() if dialog.exec() == QDialog.DialogCode.Accepted else None


def choose_store(parent: QWidget | None, start: str = "") -> str | None:
    """File > Open project…: a folder that holds project.sqlite (None when cancelled)."""
    folder = QFileDialog.getExistingDirectory(parent, "Open project (the folder that holds project.sqlite)", start)
    return folder or None


def not_a_store(folder: str) -> str | None:
    """Why `folder` cannot be opened as a project store, or None."""
    return None if is_store_folder(folder) else f"{folder} holds no project (no project.sqlite in it)."


def ask_user_data_store(parent: QWidget | None, images: Path, store: Path) -> bool:
    """True when the user agrees to keep the project of an unwritable folder in the user data folder."""
    box = QMessageBox(QMessageBox.Icon.Question, "The folder cannot be written",
                      f"labeler cannot save anything in {images} (it is read-only), so its project cannot be "
                      f"kept inside it.\n\nKeep the project in your user data folder instead?\n\n{store}\n\n"
                      "labeler finds it there again whenever you open this folder.",
                      QMessageBox.StandardButton.Cancel, parent)
    keep = box.addButton("Keep it there", QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(keep)
    box.exec()
    return box.clickedButton() is keep


def ask_images_folder(parent: QWidget | None, exc: ImagesFolderMissingError) -> str | None:
    """The image folder's new place, when the user finds it (None: cancelled)."""
    box = QMessageBox(QMessageBox.Icon.Warning, "The image folder is gone",
                      f"The images of the project {exc.store} were in {exc.folder}, which is not there any "
                      "more (moved, renamed, or on a drive that is not connected).\n\nIf they moved, show "
                      "labeler their new folder; it checks how many of the images are there first.",
                      QMessageBox.StandardButton.Cancel, parent)
    find = box.addButton("Find the folder…", QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(find)
    box.exec()
    if box.clickedButton() is not find:
        return None
    start = next((str(p) for p in exc.folder.parents if p.is_dir()), "")
    folder = QFileDialog.getExistingDirectory(parent, f"Where is the image folder {exc.folder.name} now?", start)
    return folder or None
