"""What `labeler` shows when there is no folder to open: recent folders, "Open folder…", "New project for
a folder…" (its project kept elsewhere), the demo."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton,
                               QVBoxLayout, QWidget)

from labeler.gui import settings
from labeler.gui.dialogs.project_location import NewProjectDialog


class StartScreen(QWidget):
    #: the user chose a folder to open
    folder_chosen = Signal(str)
    #: the user asked for the demo project
    demo_requested = Signal()
    #: the user chose an image folder and a folder for its project ('' : inside the images)
    new_project_requested = Signal(str, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("labeler")
        title = QLabel("<h2>labeler</h2>Open an image folder to label it. Its labels are saved inside it, "
                       "in <tt>.labeler/</tt>, as you work, or wherever you choose with New project for a folder….")
        title.setWordWrap(True)
        self.recent = QListWidget()
        self.recent.itemActivated.connect(self._on_recent_activated)
        self.recent.itemDoubleClicked.connect(self._on_recent_activated)
        self.open_button = QPushButton("Open folder…")
        self.open_button.setDefault(True)
        self.open_button.clicked.connect(self.choose_folder)
        self.new_button = QPushButton("New project for a folder…")
        self.new_button.setToolTip("Keep the project apart from the images (read-only images, several tasks)")
        self.new_button.clicked.connect(self.choose_new_project)
        self.demo_button = QPushButton("Try the demo project")
        self.demo_button.setToolTip("200 generated images of shapes, 40 of them labeled")
        self.demo_button.clicked.connect(self.demo_requested)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #c62828")
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.demo_button)
        buttons.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addWidget(title)
        lay.addWidget(QLabel("Recent folders:"))
        lay.addWidget(self.recent, 1)
        lay.addWidget(self.message)
        lay.addLayout(buttons)
        self.resize(560, 400)
        self.refresh()

    def refresh(self) -> None:
        self.recent.clear()
        for folder in settings.recent_folders():
            item = QListWidgetItem(folder)
            item.setData(Qt.ItemDataRole.UserRole, folder)
            if not Path(folder).is_dir():
                item.setText(f"{folder}  (not found)")
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
            self.recent.addItem(item)
        if not self.recent.count():
            self.recent.addItem(QListWidgetItem("No recent folders yet"))
            self.recent.item(0).setFlags(Qt.ItemFlag.NoItemFlags)

    def show_error(self, text: str) -> None:
        self.message.setText(text)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open image folder", settings.last_folder() or str(Path.home()))
        if folder:
            self.folder_chosen.emit(folder)

    def choose_new_project(self) -> None:
        chosen = NewProjectDialog.ask(self, settings.last_folder() or "")
        if chosen:
            self.new_project_requested.emit(*chosen)

    def _on_recent_activated(self, item: QListWidgetItem) -> None:
        folder = item.data(Qt.ItemDataRole.UserRole)
        if folder and item.flags() & Qt.ItemFlag.ItemIsEnabled:
            self.folder_chosen.emit(folder)
