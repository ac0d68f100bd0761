"""The annotation window: a composition root that builds the panels, wires them and persists layout.

It holds the Project, its ProjectSignals, the one QUndoStack and its UndoReporter. The actions,
menus and toolbar are a table in window_actions.py; scan, import and export run through the
JobRunner (job_runner.py). Domain work happens in labeler.core through commands and in
workers; nothing here decides what a box or an image is.

Other panels (pre-labeling, training) join through `add_dock` and `menu`, and follow the image the
user is on through `current_image_changed` / `current_image_id()` / `selected_image_ids()`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QAction, QUndoStack
from PySide6.QtWidgets import (QDialog, QDockWidget, QFileDialog, QLabel, QMainWindow, QMenu, QMessageBox,
                               QVBoxLayout, QWidget)

from labeler.core.store import Project, StoreError
from labeler.core.words import counted
from labeler.gui import settings, window_actions
from labeler.gui.background import BackgroundTask
from labeler.gui.widgets import BackupStatus
from labeler.gui.docks.boxes import BoxList
from labeler.gui.canvas.view import Canvas
from labeler.gui.docks.classes import ClassPanel
from labeler.gui.docks.prelabel import PrelabelPanel
from labeler.gui.docks.train import TrainPanel
from labeler.gui.docks.images import ImageListModel, ImageListPanel
from labeler.gui.job_runner import JobRunner
from labeler.gui.project_signals import ProjectSignals
from labeler.gui.dialogs.project_location import NewProjectDialog, choose_store
from labeler.gui.dialogs.shortcuts import ShortcutsDialog
from labeler.gui.guide import GuideBar
from labeler.gui.undo import UndoReporter
from labeler.gui.loop import install as install_review_loop

log = logging.getLogger(__name__)

#: project setting: the image the user was on, to come back to it next time
LAST_IMAGE_KEY = "last_image"
#: how many images ahead (and one behind) the canvas decodes in advance
PREFETCH_AHEAD = 2
#: mouse and key gestures that are not QActions, for the shortcuts dialog
GESTURES = [
    ("Zoom around the cursor", "Mouse wheel"),
    ("Pan", "Middle-drag, Space+drag"),
    ("Select the next / previous box (reaches boxes under others)", "Tab, Shift+Tab"),
    ("Nudge the selected boxes (10 px with Shift)", "Arrow keys"),
    ("Select boxes", "Click, drag a rubber band, Ctrl+click"),
    ("Set the selection's class to the n-th class (nothing selected: 1 = zoom 100 %)", "1 – 9"),
]


def show_warning(parent: QWidget | None, title: str, text: str) -> None:
    """A modal warning; tests replace it."""
    QMessageBox.warning(parent, title, text)


def show_information(parent: QWidget | None, title: str, text: str) -> None:
    QMessageBox.information(parent, title, text)


class MainWindow(QMainWindow):
    #: the image shown on the canvas changed (image id)
    current_image_changed = Signal(int)
    #: the user asked to open another folder (the app replaces this window)
    open_folder_requested = Signal(str)
    #: File > Open project…: a store folder (holds project.sqlite) to open with its recorded images
    open_store_requested = Signal(str)
    #: File > New project for a folder…: (image folder, project folder or '' for its own .labeler)
    new_project_requested = Signal(str, str)

    def __init__(self, project: Project, parent: QWidget | None = None):
        super().__init__(parent)
        self.project = project
        self.signals = ProjectSignals(project, self)
        self.undo_stack = QUndoStack(self)
        self.reporter = UndoReporter(self)
        self._current: int | None = None
        self.jobs = JobRunner(self)
        self.jobs.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.jobs.failed.connect(lambda name, text: show_warning(self, name, text))
        self._layout_restored = False
        self.docks: dict[str, QDockWidget] = {}
        self._menus: dict[str, QMenu] = {}
        self.setWindowTitle(f"{project.root.name} — labeler")
        self.setObjectName("MainWindow")

        self.canvas = Canvas(project, self.signals, self.undo_stack, self.reporter, self)
        # the demo's guide (hidden on every other project) sits above the canvas
        self.guide = GuideBar(project, lambda: self.show_dock("Fine-tune"), lambda: self.show_dock("Pre-label"))
        central = QWidget(self)
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.setSpacing(0)
        central_layout.addWidget(self.guide)
        central_layout.addWidget(self.canvas, 1)
        self.setCentralWidget(central)
        self.image_model = ImageListModel(project, self)
        self.image_panel = ImageListPanel(self.image_model)
        self.class_panel = ClassPanel(project, self.signals, self.undo_stack, self.reporter)
        self.box_list = BoxList(project, self.signals)
        self.prelabel_panel = PrelabelPanel(project, self.signals)
        self.train_panel = TrainPanel(project, self.signals)

        self.actions_by_name = window_actions.make_window_actions(self)
        window_actions.build_menus(self, self.actions_by_name, self.canvas.edit_actions)
        self.toolbar = window_actions.build_toolbar(self, self.actions_by_name)
        self._build_status_bar()
        self.add_dock("Images", self.image_panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.add_dock("Classes", self.class_panel)
        self.add_dock("Boxes", self.box_list)
        self.add_dock("Pre-label", self.prelabel_panel)
        self.add_dock("Fine-tune", self.train_panel)
        # model work shares the lower right with the box list, as tabs: the canvas keeps its room
        self.tabifyDockWidget(self.docks["Boxes"], self.docks["Pre-label"])
        self.tabifyDockWidget(self.docks["Pre-label"], self.docks["Fine-tune"])
        self.docks["Boxes"].raise_()
        # the default layout: narrow side panels, the canvas gets the room (a saved layout overrides it)
        self.resizeDocks([self.docks["Images"], self.docks["Classes"]], [250, 290], Qt.Orientation.Horizontal)
        # the class list is short; the tabs under it (Fine-tune's chart above all) get the height
        self.resizeDocks([self.docks["Classes"], self.docks["Boxes"]], [170, 700], Qt.Orientation.Vertical)
        self._wire()
        self.review_loop = install_review_loop(self)  # time per image, review order, Progress dock
        self.canvas.set_default_category(self.class_panel.default_category())
        self.score_slider.setValue(round(settings.score_threshold(project) * 100))
        self._on_score_slider_changed(self.score_slider.value())
        self.resize(1280, 820)
        last = project.get_setting(LAST_IMAGE_KEY)
        start = last if self.image_model.record(last) is not None else self.image_model.first()
        if start is not None:
            self.go_to_image(start)

    # ------------------------------------------------------------------ extension points
    def add_dock(self, title: str, widget: QWidget, area=Qt.DockWidgetArea.RightDockWidgetArea) -> QDockWidget:
        """Add a panel in a dock (its visibility toggle goes into View); returns the dock."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower().replace(' ', '_')}")  # saveState needs stable names
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.docks[title] = dock
        self.menu("View").addAction(dock.toggleViewAction())
        return dock

    def menu(self, name: str) -> QMenu:
        """The top-level menu called `name`, created (before Help) on first use."""
        if name not in self._menus:
            m = QMenu(name, self)
            m.setObjectName(f"menu_{name.lower()}")
            help_menu = self._menus.get("Help")
            if help_menu is not None:
                self.menuBar().insertMenu(help_menu.menuAction(), m)
            else:
                self.menuBar().addMenu(m)
            self._menus[name] = m
        return self._menus[name]

    def current_image_id(self) -> int | None:
        return self._current

    def selected_image_ids(self) -> list[int]:
        """Images selected in the list (the current one if none)."""
        ids = self.image_panel.selected_image_ids()
        return ids or ([self._current] if self._current is not None else [])

    def go_to_image(self, image_id: int | None) -> None:
        if image_id is None or self.image_model.record(image_id) is None:
            return
        changed = image_id != self._current
        self._current = image_id
        if changed:
            self.canvas.show_image(image_id)
            ahead = [self.image_model.step(image_id, k) for k in range(1, PREFETCH_AHEAD + 1)]
            ahead.append(self.image_model.step(image_id, -1))
            self.canvas.prefetch([i for i in dict.fromkeys(ahead) if i is not None and i != image_id])
            self.box_list.show_image(image_id)
        self.image_panel.select_image(image_id)
        self._show_image_status()
        if changed:
            self.current_image_changed.emit(image_id)

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.progress = self.jobs.progress
        self.size_label, self.cursor_label, self.zoom_label, self.count_label = (QLabel() for _ in range(4))
        self.count_label.setToolTip("Reviewed images / all images in the project")
        sb.addPermanentWidget(self.progress)
        for w in (self.size_label, self.cursor_label, self.zoom_label, self.count_label):
            w.setContentsMargins(6, 0, 6, 0)
            sb.addPermanentWidget(w)
        self.backup_status = BackupStatus(self.project, sb)  # when the last backup was made, or why it failed
        sb.addPermanentWidget(self.backup_status)
        if self.project.store_note():  # a network file system: said once, here and in the log
            sb.showMessage(self.project.store_note(), 30000)

    # ------------------------------------------------------------------ wiring
    def _wire(self) -> None:
        c = self.canvas
        c.cursor_moved.connect(self._on_canvas_cursor_moved)
        c.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f} %"))
        c.selection_changed.connect(self.box_list.select_boxes)
        c.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        c.image_shown.connect(lambda _i: self._show_image_status())
        c.next_requested.connect(self.next_not_reviewed)  # Space: accepted, on to the next to review
        self.box_list.selection_requested.connect(c.select_boxes)
        self.class_panel.default_category_changed.connect(c.set_default_category)
        self.image_panel.image_activated.connect(self.go_to_image)
        self.image_model.counts_changed.connect(self._on_counts_changed)
        self.current_image_changed.connect(lambda _i: self._update_model_context())
        self.image_panel.view.selectionModel().selectionChanged.connect(lambda *_: self._update_model_context())
        self.train_panel.prelabel_requested.connect(self._prelabel_after_training)
        self.prelabel_panel.said.connect(lambda text: self.statusBar().showMessage(text, 10000))  # P, dock hidden
        self.image_model.modelReset.connect(lambda: self.image_panel.select_image(self._current))
        self.signals.boxes_changed.connect(self.image_model.refresh)
        self.signals.runs_changed.connect(self.guide.refresh)
        self.signals.settings_changed.connect(self.guide.refresh)
        self.signals.images_changed.connect(self.image_model.refresh)
        self.reporter.image_touched.connect(self.go_to_image)
        self.reporter.failed.connect(self._on_edit_failed)
        self.score_slider.valueChanged.connect(self._on_score_slider_changed)
        self.score_slider.sliderReleased.connect(
            lambda: settings.set_score_threshold(self.project, self.score_slider.value() / 100))
        self._on_counts_changed()

    def _update_model_context(self) -> None:
        self.prelabel_panel.set_context(self._current, self.image_panel.selected_image_ids())

    def _prelabel_after_training(self, image_ids: list) -> None:
        self.show_dock("Pre-label")
        self.prelabel_panel.run_on(list(image_ids))

    def show_dock(self, title: str) -> None:
        dock = self.docks[title]
        dock.show()
        dock.raise_()

    def _on_canvas_cursor_moved(self, x: float, y: float) -> None:
        self.cursor_label.setText("" if x < 0 else f"x {x:.0f}, y {y:.0f}")

    def _on_counts_changed(self) -> None:
        self.count_label.setText(self.image_panel.count_text(with_shown=False))
        self._show_image_status()

    def _on_score_slider_changed(self, value: int) -> None:
        self.score_label.setText(f"{value / 100:.2f} ")
        self.canvas.set_score_threshold(value / 100)
        self.box_list.set_score_threshold(value / 100)
        if not self.score_slider.isSliderDown():  # a drag saves once, on release
            settings.set_score_threshold(self.project, value / 100)

    def _on_edit_failed(self, text: str) -> None:
        """An edit was refused (a full disk, an I/O error, a rule): the status bar says why, and the
        views re-read the store, so what they drew for the edit goes and they show what it holds."""
        self.statusBar().showMessage(text, 15000)
        log.info("Edit refused: %s", text)
        self.signals.boxes_changed.emit((self._current,) if self._current is not None else ())
        self.signals.categories_changed.emit(())

    def _show_image_status(self) -> None:
        rec = self.image_model.record(self._current) if self._current is not None else None
        if rec is None:
            self.size_label.setText("")
        elif rec.missing:
            self.size_label.setText("file missing")
        elif rec.error:
            self.size_label.setText("unreadable")
        else:
            self.size_label.setText(f"{rec.width} x {rec.height} px  ·  {rec.status}")

    # ------------------------------------------------------------------ navigation
    def go_to_first(self) -> None:
        self.go_to_image(self.image_model.first())

    def go_to_last(self) -> None:
        self.go_to_image(self.image_model.last())

    def zoom_100(self) -> None:
        self.canvas.zoom_100()

    def step(self, delta: int) -> None:
        self.go_to_image(self.image_model.step(self._current, delta))

    def next_not_reviewed(self) -> None:
        target = self.image_model.next_not_reviewed(self._current)
        if target is None:
            self.statusBar().showMessage("Every image shown is reviewed.", 6000)
        self.go_to_image(target)

    def copy_from_previous(self) -> None:
        prev = self.image_model.step(self._current, -1)
        if prev is None or prev == self._current:
            self.statusBar().showMessage("There is no previous image to copy boxes from.", 6000)
            return
        self.canvas.copy_from_image(prev)

    def focus_filter(self) -> None:
        self.docks["Images"].show()
        self.image_panel.text_box.setFocus()
        self.image_panel.text_box.selectAll()

    # ------------------------------------------------------------------ background jobs
    def run_task(self, key: str, task: BackgroundTask, done=None) -> bool:
        """Start a worker (one per key); progress shows in the status bar. False if one is running."""
        return self.jobs.run(key, task, done)

    def tasks_running(self) -> bool:
        return self.jobs.running()

    def rescan(self) -> bool:
        def done(result):
            self.canvas.forget_decoded()
            parts = [f"{result.added:,} new", f"{result.updated:,} changed", f"{result.missing:,} missing"]
            if result.unreadable:
                parts.append(f"{len(result.unreadable):,} unreadable")
            self.statusBar().showMessage("Scan finished: " + ", ".join(parts) + ".", 10000)
            if self._current is None:
                self.go_to_image(self.image_model.first())

        self.statusBar().showMessage(f"Scanning {self.project.root} …")
        return self.run_task("scan", BackgroundTask("Scanning the folder", self.project.scan, parent=self), done)

    def choose_export(self) -> None:
        from labeler.gui.dialogs.import_export import ExportDialog

        dialog = ExportDialog(self.project, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            c = dialog.choice()
            self.export_to(c.out, c.all_images, fmt=c.fmt, copy_images=c.copy_images, split=c.split)

    def export_to(self, path: str | Path, all_images: bool = False, *, fmt: str = "coco", copy_images: bool = False,
                  split: bool = False) -> bool:
        """Export in a worker; the result, and what it left out, in a message box."""
        from labeler.core.formats import export_project

        def work(progress):
            return export_project(self.project, fmt, path, all_images=all_images, copy_images=copy_images,
                                  split=split)

        def done(report):
            self.statusBar().showMessage(
                f"Exported {counted(report.images, 'image')} and {counted(report.boxes, 'box')} to {path}", 10000)
            show_information(self, "Export", report.summary(how='"Include unreviewed images"'))

        return self.run_task("export", BackgroundTask("Exporting", work, parent=self), done)

    def choose_import(self, as_predictions: bool) -> None:
        from labeler.gui.dialogs.import_export import ImportDialog

        dialog = ImportDialog(self.project, as_predictions, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            c = dialog.choice()
            self.import_from(c.path, c.as_predictions, fmt=c.fmt, merge=c.merge, shapes=c.shapes)

    def import_from(self, path: str | Path, as_predictions: bool = False, *, fmt: str = "auto", merge: bool = False,
                    shapes: str = "boxes") -> bool:
        """Import in a worker. It replaces boxes wholesale, so it clears the undo history."""
        from labeler.core.formats import import_path

        def work(progress):
            return import_path(self.project, path, fmt, as_predictions=as_predictions, merge=merge, shapes=shapes)

        def done(report):
            self.undo_stack.clear()  # earlier steps may refer to boxes the import replaced
            self.image_model.refresh(())
            self.class_panel.reload()
            self.box_list.reload()
            if self._current is None:
                self.go_to_image(self.image_model.first())
            show_information(self, "Import", report.summary())

        return self.run_task("import", BackgroundTask("Importing", work, parent=self), done)

    # ------------------------------------------------------------------ dialogs
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open image folder", str(self.project.root.parent))
        if folder:
            self.open_folder_requested.emit(folder)

    def choose_new_project(self) -> None:
        chosen = NewProjectDialog.ask(self, str(self.project.root))
        if chosen:
            self.new_project_requested.emit(*chosen)

    def choose_project(self) -> None:
        store = choose_store(self, str(self.project.data_dir.parent))
        if store:
            self.open_store_requested.emit(store)

    def fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for folder in settings.recent_folders():
            a = self.recent_menu.addAction(folder)
            a.setEnabled(Path(folder).is_dir() and Path(folder) not in (self.project.root, self.project.data_dir))
            a.triggered.connect(lambda _c=False, f=folder: self.open_folder_requested.emit(f))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("No recent folders").setEnabled(False)

    def all_actions(self) -> list[QAction]:
        """Every action, in menu order first, then those only on the window."""
        out: list[QAction] = []

        def walk(menu: QMenu):
            for a in menu.actions():
                if a.menu() is not None:
                    walk(a.menu())
                elif not a.isSeparator():
                    out.append(a)

        for m in self._menus.values():
            walk(m)
        out += [a for a in self.actions() if a not in out]
        return out

    def show_shortcuts(self) -> ShortcutsDialog:
        dlg = ShortcutsDialog(self.all_actions(), GESTURES, self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.show()
        return dlg

    def show_about(self) -> None:
        from labeler import __version__

        show_information(self, "About labeler",
                         f"labeler {__version__}\nProject: {self.project.root}\nStore: {self.project.data_dir}")

    # ------------------------------------------------------------------ persistence
    def showEvent(self, event) -> None:
        # restored on first show, so docks added by other panels after construction are included
        if not self._layout_restored:
            self._layout_restored = True
            s = QSettings()
            if settings.layout_is_current():
                if s.value(settings.GEOMETRY) is not None:
                    self.restoreGeometry(s.value(settings.GEOMETRY))
                if s.value(settings.STATE) is not None:
                    self.restoreState(s.value(settings.STATE))
            status = s.value(settings.STATUS_FILTER)
            if status:
                self.image_panel.set_status_filter(str(status))
            if self.guide.step is not None and self.guide.step.action == "fine-tune":
                self.show_dock("Fine-tune")  # the demo starts where its loop starts
            self.canvas.setFocus()  # keys go to the canvas, not into the name filter
        super().showEvent(event)

    def save_layout(self) -> None:
        s = QSettings()
        s.setValue(settings.GEOMETRY, self.saveGeometry())
        s.setValue(settings.STATE, self.saveState())
        s.setValue(settings.STATUS_FILTER, self.image_model.filter()[0])
        settings.mark_layout_current()

    def closeEvent(self, event) -> None:
        if self.tasks_running():
            self.jobs.wait(30_000)  # a scan or export finishes its write before the store closes
        # model runs end after the image or iteration in flight; finished work is already in the store
        self.prelabel_panel.wait()
        self.train_panel.wait()
        self.save_layout()
        try:
            if self._current is not None and not self.project.readonly:
                self.project.set_setting(LAST_IMAGE_KEY, self._current)
        except StoreError:  # closed already (a second close)
            pass
        finally:
            # nothing may reach the store once it is closed: queued notices and pending refreshes
            self.signals.detach()
            self.signals.blockSignals(True)
            self.backup_status.detach()
            self.canvas.stop()
            self.image_model.stop()
            self.class_panel.stop()
            self.project.close()
        super().closeEvent(event)
