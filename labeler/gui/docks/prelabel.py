"""The pre-labeling panel: pick a model, set thresholds, run on the current, selected or unlabeled
images, watch progress with an ETA, cancel.

The run is the generator `prelabel_run` (over labeler.ml.predict.prelabel_steps) on a
labeler.gui.workers.GeneratorWorker. Cancel asks the run to stop after the image in flight and still
report its summary; closing the project quits the worker at its next yield. Boxes reach the canvas by the ordinary route: the store notifies
ProjectSignals after each image is written, whatever thread wrote it.
"""

from __future__ import annotations

import logging
import threading
import time

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QMessageBox, QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from labeler.core import runs
from labeler.core.store import Project
from labeler.gui import gc_guard
from labeler.gui.background import BackgroundTask
from labeler.gui.project_signals import ProjectSignals
from labeler.gui.workers import GeneratorWorker
from labeler.gui.widgets import narrow_combo
from labeler.core.words import counted, rough_duration
from labeler.jobs import prelabel as job
from labeler.ml import weights
from labeler.ml.device import DEVICE_CHOICES
from labeler.ml.models import ARCHITECTURES
from labeler.ml.predict import SETTING_MODEL, ModelChoice, PredictionSettings, default_model_choice, model_label_names

CURRENT, SELECTED, UNLABELED = "current", "selected", "unlabeled"

log = logging.getLogger(__name__)


def prelabel_run(project: Project, choice: ModelChoice, device: str, settings: PredictionSettings,
                 image_ids: list[int], labels: dict[int, int], cache: dict, cancelled):
    """Generator for a GeneratorWorker: loads the model (unless `cache` still holds it; a str is
    yielded for the status line meanwhile), then yields (images done, images total, boxes stored for
    the last image) per image and returns the run's labeler.ml.predict.Summary (cancelled or not).
    Touches no widgets."""
    from labeler.ml.predict import load_model, prelabel_steps

    gc_guard.import_torch_in_worker()  # the first import would stall the GUI thread
    key = (choice, device)
    loaded = cache.get(key)
    if loaded is None:
        yield f"Loading {choice.key}…"
        cache.clear()  # one model in memory at a time
        loaded = load_model(choice, project_root=project.root, device=device)
        cache[key] = loaded
    steps = prelabel_steps(project, loaded, list(image_ids), labels, settings, cancelled=cancelled)
    while True:
        try:
            done, total, result = next(steps)
        except StopIteration as stop:
            return stop.value
        yield done, total, len(result.items)


class PrelabelPanel(QWidget):
    #: a run ended: labeler.ml.predict.Summary
    run_finished = Signal(object)
    #: the status line changed (start, progress, result, error): the window's status bar repeats it,
    #: so P tells its outcome while this panel is hidden or tabbed behind another
    said = Signal(str)

    def __init__(self, project: Project, signals: ProjectSignals, parent: QWidget | None = None):
        super().__init__(parent)
        self.project, self.signals = project, signals
        self._current: int | None = None
        self._selected: list[int] = []
        self._thread: GeneratorWorker | None = None
        self._cancel = threading.Event()  # the run in flight stops after its current image
        self._import_task: BackgroundTask | None = None
        self._models: dict = {}  # the loaded model, kept between runs (P on image after image)
        self._choices: dict[str, ModelChoice] = {}  # model list entries by key (item data is the key)
        self._started = 0.0

        self.model_box = narrow_combo(QComboBox())  # long model names must not widen the dock
        self.model_box.setToolTip("COCO models from torchvision, and the project's own trained checkpoints")
        self.weights_label = QLabel()
        self.weights_label.setWordWrap(True)
        self.download_button = QPushButton("Download…")
        self.download_button.clicked.connect(lambda: self.download_weights())
        self.import_button = QPushButton("Import weights file…")
        self.import_button.setToolTip("Copy torchvision's weights file brought from another computer into place")
        self.import_button.clicked.connect(lambda: self.import_weights())
        self.classes_button = QPushButton("Classes…")
        self.classes_button.setToolTip("Which model class becomes which project class")
        self.classes_button.clicked.connect(lambda: self.edit_class_map())

        options = job.saved_options(project)
        self.score_box = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=1.0, singleStep=0.05)
        self.score_box.setValue(options["score_threshold"])
        self.score_box.setToolTip("Keep boxes the model scores at least this high")
        self.nms_box = QDoubleSpinBox(decimals=2, minimum=0.05, maximum=1.0, singleStep=0.05)
        self.nms_box.setValue(options["nms_iou"])
        self.nms_box.setToolTip("Boxes of one class overlapping more than this (IoU) are merged into the best one")
        self.across_box = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=1.0, singleStep=0.05)
        self.across_box.setSpecialValueText("off")  # shown at 0
        self.across_box.setValue(options["class_overlap_iou"])
        self.across_box.setToolTip("A box overlapping a higher-scoring box of another class by more than this (IoU) "
                                   "is dropped: one object, one box (off: each class's boxes are kept apart)")
        self.tta_box = QCheckBox("Flip test (twice the time)")
        self.tta_box.setChecked(options["flip_fusion"])
        self.tta_box.setToolTip("Run each image mirrored too and average each box with its twin; a box the mirror "
                                "does not confirm loses half its score. Twice the model's work; it helps some "
                                "models and not others, so compare on a few images before a big run")
        self.max_box = QSpinBox(minimum=1, maximum=1000)
        self.max_box.setValue(options["max_boxes"])
        self.device_box = QComboBox()
        self.device_box.addItems(DEVICE_CHOICES)
        self.device_box.setCurrentText(options["device"])
        self.device_box.setToolTip("auto: CUDA, then Apple MPS, then the CPU")
        self.scope_box = QComboBox()
        for text, scope in (("Current image", CURRENT), ("Selected images", SELECTED),
                            ("All unlabeled images", UNLABELED)):
            self.scope_box.addItem(text, scope)
        self.scope_box.setCurrentIndex(2)
        self.run_button = QPushButton("Pre-label")
        self.run_button.clicked.connect(lambda: self.run_scope(self.scope_box.currentData()))
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress_bar = QProgressBar()
        self.progress_bar.setTextVisible(True)
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)

        self.prelabel_current_action = QAction("Pre-label current image", self)
        self.prelabel_current_action.setShortcut(QKeySequence("P"))
        self.prelabel_current_action.setToolTip("Run the pre-labeling model on the image shown (P)")
        self.prelabel_current_action.triggered.connect(lambda: self.run_scope(CURRENT))

        form = QFormLayout()
        form.addRow("Model", self.model_box)
        weights_row = QHBoxLayout()
        weights_row.addWidget(self.download_button)
        weights_row.addWidget(self.import_button)
        form.addRow(self.weights_label)
        form.addRow(weights_row)
        form.addRow(self.classes_button)
        form.addRow("Score threshold", self.score_box)
        form.addRow("NMS IoU", self.nms_box)
        form.addRow("Across classes", self.across_box)
        form.addRow(self.tta_box)
        form.addRow("Max boxes per image", self.max_box)
        form.addRow("Device", self.device_box)
        form.addRow("Run on", self.scope_box)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addLayout(buttons)
        lay.addWidget(self.progress_bar)
        lay.addWidget(self.status_label)
        lay.addStretch(1)

        self.reload_models()
        self.model_box.currentIndexChanged.connect(self._on_model_box_changed)
        for box in (self.score_box, self.nms_box, self.across_box):
            box.valueChanged.connect(self._save_options)
        self.max_box.valueChanged.connect(self._save_options)
        self.tta_box.toggled.connect(self._save_options)
        self.device_box.currentTextChanged.connect(self._save_options)
        signals.runs_changed.connect(lambda _ids: self.reload_models())
        signals.settings_changed.connect(self._on_signals_settings_changed)

    # ------------------------------------------------------------------ context from the window
    def set_context(self, current_image_id: int | None, selected_image_ids: list[int]) -> None:
        self._current = current_image_id
        self._selected = list(selected_image_ids)

    # ------------------------------------------------------------------ models and weights
    def reload_models(self) -> None:
        """Fill the model list: the four COCO models, then the project's checkpoints."""
        chosen = default_model_choice(self.project)
        self.model_box.blockSignals(True)
        self.model_box.clear()
        self._choices.clear()

        def add(text: str, choice: ModelChoice) -> None:
            self._choices[choice.key] = choice
            self.model_box.addItem(text, choice.key)

        for name, arch in ARCHITECTURES.items():
            add(f"COCO: {arch.title}", ModelChoice.coco(name))
        seen = set()
        for run in runs.load(self.project):
            if run.checkpoint_path is not None:
                choice = ModelChoice.checkpoint(run.checkpoint_path, self.project.root)
                if choice not in seen:
                    seen.add(choice)
                    best = f", mAP@0.5 {run.best_map50:.3f}" if run.best_map50 is not None else ""
                    add(f"Trained: run {run.id} ({run.architecture}{best})", choice)
        if chosen.kind == "checkpoint" and chosen not in seen:
            add(f"Checkpoint: {chosen.path}", chosen)
        index = self.model_box.findData(chosen.key)
        self.model_box.setCurrentIndex(max(index, 0))
        self.model_box.blockSignals(False)
        self._update_weights_state()

    def model_choice(self) -> ModelChoice | None:
        return self._choices.get(self.model_box.currentData())

    def select_model(self, choice: ModelChoice) -> None:
        index = self.model_box.findData(choice.key)
        if index < 0:
            raise ValueError(f"{choice.key} is not in the model list")
        self.model_box.setCurrentIndex(index)

    def _on_model_box_changed(self, _index: int) -> None:
        choice = self.model_choice()
        if choice is not None and self.project.get_setting(SETTING_MODEL) != choice.to_setting():
            self.project.set_setting(SETTING_MODEL, choice.to_setting())
        self._update_weights_state()

    def _on_signals_settings_changed(self) -> None:
        chosen = ModelChoice.from_setting(self.project.get_setting(SETTING_MODEL))
        if chosen is not None and chosen != self.model_choice():
            self.reload_models()

    def weights_present(self) -> bool:
        choice = self.model_choice()
        if choice.kind == "coco":
            return weights.find_coco_weights(choice.architecture) is not None
        return choice.resolve_path(self.project.root).is_file()

    def _update_weights_state(self) -> None:
        choice = self.model_choice()
        coco = choice is not None and choice.kind == "coco"
        present = choice is not None and self.weights_present()
        if coco:
            w = weights.coco_weights(choice.architecture)
            self.weights_label.setText(f"Weights present ({w.file_name})" if present
                                       else f"Weights not downloaded yet: {w.file_name}")
        else:
            self.weights_label.setText("Checkpoint present" if present else "Checkpoint file missing")
        self.download_button.setEnabled(coco and not present and self._thread is None)
        self.import_button.setEnabled(coco and self._thread is None)

    def download_weights(self, url: str | None = None) -> bool:
        """Open the download dialog for the chosen COCO model; True when the file is in place."""
        from labeler.gui.dialogs.weights import WeightsDialog

        choice = self.model_choice()
        if choice.kind != "coco":
            return False
        dialog = WeightsDialog(choice.architecture, self, url=url)
        dialog.exec()
        if dialog.error:
            self._say(dialog.error, error=True)
        self._update_weights_state()
        return dialog.path is not None

    def import_weights(self, path: str | None = None) -> None:
        """Copy a weights file into torchvision's cache (hash and content checked on a worker)."""
        choice = self.model_choice()
        if choice.kind != "coco" or (self._import_task and self._import_task.running):
            return
        if path is None:
            w = weights.coco_weights(choice.architecture)
            path, _ = QFileDialog.getOpenFileName(self, f"Import {w.file_name}", "", "PyTorch weights (*.pth *.pt)")
            if not path:
                return
        self._say(f"Checking {path}…")
        task = BackgroundTask("import weights",
                              lambda progress: weights.import_weights_file(path, choice.architecture), parent=self)
        task.finished.connect(lambda p: (self._say(f"Imported as {p}"), self._update_weights_state()))
        task.failed.connect(lambda msg: self._say(msg, error=True))
        self._import_task = task
        task.start()

    def edit_class_map(self) -> bool:
        from labeler.gui.dialogs.class_map import ClassMapDialog

        choice = self.model_choice()
        try:
            names = model_label_names(choice, self.project.root)
        except Exception as exc:
            self._say(str(exc), error=True)
            return False
        return bool(ClassMapDialog(self.project, choice.key, names, self.model_box.currentText(), self).exec())

    # ------------------------------------------------------------------ runs
    def _save_options(self, *_):
        job.save_options(self.project, score_threshold=self.score_box.value(), nms_iou=self.nms_box.value(),
                         class_overlap_iou=self.across_box.value(), flip_fusion=self.tta_box.isChecked(),
                         max_boxes=self.max_box.value(), device=self.device_box.currentText())

    def settings(self) -> PredictionSettings:
        return job.prediction_settings(self.project, score_threshold=self.score_box.value(),
                                       nms_iou=self.nms_box.value(), class_overlap_iou=self.across_box.value(),
                                       flip_fusion=self.tta_box.isChecked(), max_boxes=self.max_box.value())

    def is_running(self) -> bool:
        return self._thread is not None

    def run_scope(self, scope: str) -> bool:
        if scope == CURRENT:
            if self._current is None:
                self._say("No image is shown.")
                return False
            return self.run_on([self._current])
        if scope == SELECTED:
            if not self._selected:
                self._say("No images are selected.")
                return False
            return self.run_on(self._selected)
        return self.run_on(job.images_to_prelabel(self.project, job.UNLABELED_IMAGES))

    def run_on(self, image_ids: list[int]) -> bool:
        """Pre-label these images in the background; False (with a message) when it cannot start."""
        if self._thread is not None:
            self._say("A pre-labeling run is in progress; cancel it first.")
            return False
        if not image_ids:
            self._say("There are no images to pre-label.")
            return False
        plan = self.prepare(image_ids)
        if plan is None:
            return False
        return self._start(plan)

    def prepare(self, image_ids: list[int]) -> "job.PrelabelPlan | None":
        """The run's plan through labeler.jobs.prelabel (as `labeler prelabel` makes it), after fetching
        missing COCO weights and bringing in classes with the user's consent; None (with a message) if not."""
        choice = self.model_choice()
        if not self.weights_present():
            if choice.kind != "coco":
                self._say(f"The checkpoint {choice.path} is missing.", error=True)
                return None
            if not self._confirm_download(choice.architecture) or not self.download_weights():
                return None
        try:
            if not self.project.categories() and not self._bring_in_classes(
                    model_label_names(choice, self.project.root)):
                return None
            return job.plan_prelabel(self.project, choice, image_ids, self.settings())
        except Exception as exc:  # unreadable checkpoint metadata, nothing maps, a store error: told, nothing started
            self._say(str(exc), error=True)
            return None

    def _start(self, plan: "job.PrelabelPlan") -> bool:
        self._cancel = threading.Event()
        worker = GeneratorWorker("Pre-labeling", prelabel_run, self.project, plan.choice,
                                 self.device_box.currentText(), plan.settings, list(plan.image_ids), plan.labels,
                                 self._models, self._cancel.is_set, parent=self)
        worker.yielded.connect(self._on_thread_yielded)
        worker.returned.connect(self._on_thread_finished_run)
        worker.errored.connect(self._on_thread_failed)
        worker.aborted.connect(lambda: self._say("Pre-labeling stopped."))
        worker.finished.connect(self._on_thread_finished)
        self._thread = worker
        self._started = time.monotonic()
        self.progress_bar.setRange(0, len(plan.image_ids))
        self.progress_bar.setValue(0)
        self._set_running(True)
        self._say(plan.start_line() + "…")
        worker.start()
        return True

    def cancel(self) -> None:
        """Stop after the image in flight; finished images keep their boxes."""
        if self._thread is not None:
            self._cancel.set()
            self.cancel_button.setEnabled(False)
            self._say("Cancelling…")

    def wait(self) -> None:
        """Stop the run and block until its thread ends (closing the project or the window). Its last
        signals are dropped: the project may be closed right after this returns."""
        worker = self._thread
        if worker is not None:
            for sig in (worker.yielded, worker.returned, worker.errored, worker.aborted, worker.finished):
                sig.disconnect()
            self._cancel.set()
            worker.quit()
            worker.wait()
            self._thread = None
            self._set_running(False)

    def _confirm_download(self, architecture: str) -> bool:
        w = weights.coco_weights(architecture)
        answer = QMessageBox.question(self, "Download weights",
                                      f"The COCO weights for {architecture} are not on this computer yet.\n"
                                      f"Download {w.file_name} (from download.pytorch.org) now?")
        return answer == QMessageBox.StandardButton.Yes

    def _bring_in_classes(self, names: list[str]) -> bool:
        from labeler.gui.dialogs.class_map import BringInClassesDialog

        return bool(BringInClassesDialog(self.project, names, self).exec())

    def _set_running(self, running: bool) -> None:
        for w in (self.run_button, self.model_box, self.device_box, self.classes_button):
            w.setEnabled(not running)
        self.prelabel_current_action.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self._update_weights_state()

    def _on_thread_yielded(self, value) -> None:
        if isinstance(value, str):  # the model is loading
            self._say(value)
        else:
            self._on_thread_progressed(*value)

    def _on_thread_progressed(self, done: int, total: int, _boxes: int) -> None:
        self.progress_bar.setValue(done)
        elapsed = time.monotonic() - self._started
        eta = elapsed / done * (total - done) if done else 0.0
        if not self.cancel_button.isEnabled() and self._thread is not None:
            return  # "Cancelling…" stays until the run stops
        self._say(f"{done} of {counted(total, 'image')}, {done / elapsed if elapsed else 0:.1f}\u00a0images/\u2060s, "
                  f"about {rough_duration(eta)} left")

    def _on_thread_finished_run(self, summary) -> None:
        self._say(("Cancelled: " if summary.cancelled else "Done: ") + summary.line(nowrap=True))
        self.run_finished.emit(summary)

    def _on_thread_failed(self, message: str) -> None:
        self._say(f"Pre-labeling failed: {message}", error=True)

    def _on_thread_finished(self) -> None:
        worker, self._thread = self._thread, None
        if worker is not None:
            worker.wait()  # `finished` is its thread's last act; then it goes, on this (the GUI) thread
            worker.deleteLater()
        self._set_running(False)

    def _say(self, text: str, error: bool = False) -> None:
        self.status_label.setStyleSheet("color: #c0392b;" if error else "")
        self.status_label.setText(text)
        self.said.emit(f"Pre-label: {text}")
