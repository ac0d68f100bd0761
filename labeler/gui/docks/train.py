"""The Fine-tune panel: choose a model, a length and a starting point; Start and Stop a training run
that goes on in the background; watch its progress, ETA and a live chart of loss and validation
mAP; list past runs with their charts; make a run's best checkpoint the pre-labeling model.

The run happens in `TrainThread` (labeler.gui.docks.train_worker), which drives labeler.ml.train's
generator. Its signals only fill buffers here; a display timer (`REDRAW_MS`) moves them into the
progress bar and the chart, so the GUI thread's work does not grow with the engine's event rate.
"""

from __future__ import annotations

import datetime
import logging
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QCoreApplication, Qt, QTimer, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout,
                               QHeaderView, QLabel, QMessageBox, QProgressBar, QPushButton, QSpinBox, QSplitter,
                               QStackedWidget, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from labeler.core.store import Project
from labeler.gui.docks.augment import AugmentButton
from labeler.gui.project_signals import ProjectSignals
from labeler.gui.docks.train_chart import TrainChart
from labeler.gui.docks.train_worker import TrainThread
from labeler.gui.widgets import narrow_combo
from labeler.ml.dataset import DEFAULT_AUGMENT
from labeler.ml.device import DEVICE_CHOICES
from labeler.ml.models import trainable_architectures

log = logging.getLogger(__name__)

#: project setting with the panel's last choices
SETTING_OPTIONS = "train.options"
#: chart and progress refresh period (4 Hz)
REDRAW_MS = 250
#: the run table's columns: the run's number first (the Pre-label panel's model list and the CLI name
#: runs by it), its date in the tooltip, so that a narrow dock leaves the model's name room
COLUMNS = ("Run", "Model", "Epochs", "mAP@0.5", "Status")

AUTO, EPOCHS, MINUTES = "auto", "epochs", "minutes"
START_CHOICES = (("auto", "Automatic (COCO weights if present, else scratch)"), ("coco", "COCO weights"),
                 ("last", "Last checkpoint of this project"), ("scratch", "Scratch (random weights)"))


def _short_model(name: str | None) -> str:
    return (name or "?").removeprefix("fasterrcnn_")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    if seconds < 9.95:
        return f"{max(seconds, 0):.1f} s"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60}:{seconds % 60:02d}"
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def planned_epochs(run: dict) -> int | None:
    """The epochs a stored run set out to do: the user's number, else the engine's resolved default."""
    settings = run.get("settings") if isinstance(run.get("settings"), dict) else {}
    resolved = settings.get("resolved") if isinstance(settings.get("resolved"), dict) else {}
    planned = settings.get("epochs") or resolved.get("epochs")
    return planned if isinstance(planned, int) else None


def coco_weights_present(architecture: str) -> bool | None:
    """Whether torchvision's COCO weights for `architecture` are on this computer (None: unknown)."""
    try:
        from labeler.ml.weights import find_coco_weights
    except ImportError:
        return None
    try:
        return find_coco_weights(architecture) is not None
    except Exception:  # an architecture without COCO weights (a custom one)
        return False


class TrainPanel(QWidget):
    #: image ids the user wants pre-labeled again with the newly chosen model
    prelabel_requested = Signal(list)

    def __init__(self, project: Project, signals: ProjectSignals, parent: QWidget | None = None,
                 train_fn: Callable | None = None):
        super().__init__(parent)
        self.project, self.signals = project, signals
        self._train_fn = train_fn
        self._thread: TrainThread | None = None
        self._live_settings = None
        self._live_iterations: list = []  # every IterationEvent of the current run, to redraw the live view
        self._live_epochs: list[tuple] = []
        self._last_iteration = None  # the newest event, shown by the next timer tick
        self._shown_iteration = None
        self._live_run_id: int | None = None
        self._runs_before = 0  # largest run id when the current run started
        self._done = None  # the last run's TrainDone
        self._view_run: int | None = None  # run shown in the chart; None: the live (or last) run
        self._runs: dict[int, dict] = {}
        #: ask_yes_no(title, text) -> bool; tests replace it
        self.ask_yes_no = self._ask_yes_no

        options = project.get_setting(SETTING_OPTIONS, {}) or {}
        self.model_box = QComboBox()
        self.model_box.addItem("Default for this device", None)
        self._architectures = trainable_architectures()
        for name, arch in self._architectures.items():
            self.model_box.addItem(arch.title, name)
            self.model_box.setItemData(self.model_box.count() - 1, name, Qt.ItemDataRole.ToolTipRole)
        self.model_box.setToolTip("The default is the fast small model on a CPU and a larger one on a GPU")
        self.model_box.setCurrentIndex(max(self.model_box.findData(options.get("architecture")), 0))

        self.length_box = QComboBox()
        for text, key in (("Automatic", AUTO), ("Epochs", EPOCHS), ("Minutes", MINUTES)):
            self.length_box.addItem(text, key)
        self.length_box.setToolTip("Automatic: a length that suits the device and the number of reviewed images")
        self.epochs_box = QSpinBox(minimum=1, maximum=1000)
        self.epochs_box.setValue(int(options.get("epochs") or 10))
        self.minutes_box = QDoubleSpinBox(decimals=1, minimum=0.5, maximum=24 * 60, singleStep=1.0)
        self.minutes_box.setSuffix(" min")
        self.minutes_box.setValue(float(options.get("minutes") or 10.0))
        self.auto_length_label = QLabel("suits the device and data")
        self.auto_length_label.setMinimumWidth(10)  # clipped in a narrow dock rather than widening it
        self.length_box.setCurrentIndex(max(self.length_box.findData(options.get("length", AUTO)), 0))

        self.start_box = QComboBox()
        for key, text in START_CHOICES:
            self.start_box.addItem(text, key)
        self.start_box.setCurrentIndex(max(self.start_box.findData(options.get("start", "auto")), 0))
        self.weights_label = QLabel()
        self.weights_label.setWordWrap(True)
        self.device_box = QComboBox()
        self.device_box.addItems(DEVICE_CHOICES)
        self.device_box.setCurrentText(options.get("device", "auto"))
        self.device_box.setToolTip("auto: CUDA, then Apple MPS, then the CPU")
        for box in (self.model_box, self.start_box):  # long item texts must not widen the dock
            narrow_combo(box)
        self.augment_button = AugmentButton(options.get("augment", DEFAULT_AUGMENT))
        self.augment_actions = self.augment_button.actions_by_name

        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Fine-tune on the reviewed images in the background; keep labeling meanwhile")
        self.start_button.clicked.connect(lambda: self.start())
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("End after the current iteration, keeping the best checkpoint so far")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("Not started")
        self.progress_bar.setTextVisible(True)
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.chart = TrainChart()
        self.runs_table = QTableWidget(0, len(COLUMNS))
        self.runs_table.setHorizontalHeaderLabels(COLUMNS)
        self.runs_table.horizontalHeaderItem(3).setToolTip("The best validation mAP@0.5 of the run")
        self.runs_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.runs_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.runs_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.runs_table.verticalHeader().setVisible(False)
        self.runs_table.setAlternatingRowColors(True)
        self.runs_table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.runs_table.setWordWrap(False)
        header = self.runs_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.runs_table.itemSelectionChanged.connect(self._on_runs_table_selection)
        self.use_button = QPushButton("Use for pre-labeling")
        self.use_button.setToolTip("Make this run's best checkpoint the pre-labeling model")
        self.use_button.setEnabled(False)
        self.use_button.clicked.connect(lambda: self.use_for_prelabeling())

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Model", self.model_box)
        length_row = QHBoxLayout()
        length_row.addWidget(self.length_box)
        self.length_stack = QStackedWidget()  # one field at a time, sized by the largest
        for w in (self.auto_length_label, self.epochs_box, self.minutes_box):
            self.length_stack.addWidget(w)
        length_row.addWidget(self.length_stack, 1)
        form.addRow("Length", length_row)
        form.addRow("Start from", self.start_box)
        form.addRow("", self.weights_label)
        form.addRow("Augment", self.augment_button)
        form.addRow("Device", self.device_box)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        top = QWidget()
        top_lay = QVBoxLayout(top)
        top_lay.setContentsMargins(0, 0, 0, 0)
        top_lay.addLayout(form)
        top_lay.addLayout(buttons)
        top_lay.addWidget(self.progress_bar)
        top_lay.addWidget(self.status_label)
        top_lay.addWidget(self.chart, 1)
        bottom = QWidget()
        bottom_lay = QVBoxLayout(bottom)
        bottom_lay.setContentsMargins(0, 0, 0, 0)
        bottom_lay.addWidget(QLabel("Past runs"))
        bottom_lay.addWidget(self.runs_table, 1)
        bottom_lay.addWidget(self.use_button)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(bottom)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        lay = QVBoxLayout(self)
        lay.addWidget(splitter)

        self.timer = QTimer(self)
        self.timer.setInterval(REDRAW_MS)
        self.timer.timeout.connect(self._on_timer_timeout)

        self.length_box.currentIndexChanged.connect(self._update_length_widgets)
        self.model_box.currentIndexChanged.connect(self._update_start_state)
        self._update_length_widgets()
        self.reload_runs()
        signals.runs_changed.connect(self._on_signals_runs_changed)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.wait)  # a QThread destroyed while running aborts the process

    # ------------------------------------------------------------------ choices
    def _update_length_widgets(self, *_):
        key = self.length_box.currentData()
        self.length_stack.setCurrentWidget({EPOCHS: self.epochs_box, MINUTES: self.minutes_box}.get(
            key, self.auto_length_label))

    def _checkpoint_runs(self) -> list[dict]:
        return [r for r in self._runs.values() if r.get("checkpoint") and self._resolve(r["checkpoint"]).is_file()]

    def _update_start_state(self, *_):
        """Say whether the COCO weights and a last checkpoint exist, so "Start from" is an informed choice."""
        name = self.model_box.currentData()
        names = [name] if name else [n for n, a in self._architectures.items() if a.weights_enum]
        present = {n: coco_weights_present(n) for n in names}
        if name and not self._architectures[name].weights_enum:
            coco = "This model has no COCO weights: it trains from scratch."
        elif name:
            title = self._architectures[name].title.split(" (")[0]
            state = present[name]
            coco = (f"COCO weights for {title}: present." if state
                    else f"COCO weights for {title}: not on this computer (download them in the Pre-label panel)."
                    if state is False else "")
        else:
            have = [_short_model(n) for n, ok in present.items() if ok]
            coco = (f"COCO weights present for: {', '.join(have)}." if have
                    else "No COCO weights on this computer: Automatic starts from scratch.")
        last = self._checkpoint_runs()
        ckpt = (f"Last checkpoint: run {max(r['id'] for r in last)}." if last
                else "No checkpoint yet in this project.")
        self.weights_label.setText(f"{coco} {ckpt}".strip())
        self._set_start_item("coco", "COCO weights" + ("" if any(present.values()) or None in present.values()
                                                       else " (not on this computer)"))
        self._set_start_item("last", "Last checkpoint of this project" + ("" if last else " (none yet)"))

    def showEvent(self, event) -> None:
        # weights may have been downloaded or imported (Pre-label panel) since the panel was last shown
        self._update_start_state()
        super().showEvent(event)

    def augmentations(self) -> tuple[str, ...]:
        return self.augment_button.chosen()

    def _set_start_item(self, key: str, text: str) -> None:
        self.start_box.setItemText(self.start_box.findData(key), text)

    def settings(self):
        """The TrainSettings the panel's choices describe."""
        from labeler.ml.train import TrainSettings

        length = self.length_box.currentData()
        return TrainSettings(architecture=self.model_box.currentData(),
                             epochs=self.epochs_box.value() if length == EPOCHS else None,
                             minutes=self.minutes_box.value() if length == MINUTES else None,
                             start=self.start_box.currentData(), device=self.device_box.currentText(),
                             augment=self.augmentations())

    def _save_options(self) -> None:
        options = {"architecture": self.model_box.currentData(), "length": self.length_box.currentData(),
                   "epochs": self.epochs_box.value(), "minutes": self.minutes_box.value(),
                   "start": self.start_box.currentData(), "device": self.device_box.currentText(),
                   "augment": list(self.augmentations())}
        if self.project.get_setting(SETTING_OPTIONS) != options:
            self.project.set_setting(SETTING_OPTIONS, options)

    # ------------------------------------------------------------------ the run
    def is_running(self) -> bool:
        return self._thread is not None

    def start(self) -> bool:
        """Start a run in the background; False (with a message) when it cannot start."""
        if self._thread is not None:
            self._say("A training run is in progress; stop it first.")
            return False
        try:
            settings = self.settings()
            self._save_options()
        except Exception as exc:  # the engine missing or a store error: told, nothing started
            log.exception("Cannot start training")
            self._say(f"Cannot start training: {exc}", error=True)
            return False
        thread = TrainThread(self.project, settings, self._train_fn, self)
        thread.iterations_ready.connect(self._drain_iterations)
        thread.epoch_ended.connect(self._on_thread_epoch_ended)
        thread.finished_run.connect(self._on_thread_finished_run)
        thread.failed.connect(self._on_thread_failed)
        thread.prepared.connect(self._on_thread_prepared)
        thread.decided.connect(self._on_thread_decided)
        thread.finished.connect(self._on_thread_finished)
        self._thread = thread
        self._note = ""
        self._live_settings = settings
        self._live_iterations, self._live_epochs = [], []
        self._last_iteration = self._shown_iteration = None
        self._live_run_id, self._done = None, None
        self._runs_before = max(self._runs, default=0)
        self._view_run = None
        self.runs_table.clearSelection()
        self.chart.clear("This run", settings.epochs)
        self.progress_bar.setRange(0, 0)  # busy until the first iteration (data snapshot, model build)
        self.progress_bar.setFormat("Preparing…")
        self._set_running(True)
        self._say("Preparing the data and the model…")
        self.timer.start()
        thread.start()
        return True

    def stop(self) -> None:
        """Ask the run to end after the current iteration; the best checkpoint so far is kept."""
        if self._thread is not None:
            self._thread.stop()
            self.stop_button.setEnabled(False)
            self._say("Stopping after the current iteration…")

    def wait(self) -> None:
        """Stop the run and block until its thread ends (closing the project or the window). Its last
        signals are dropped: the project may be closed right after this returns."""
        thread = self._thread
        if thread is not None:
            for sig in (thread.iterations_ready, thread.epoch_ended, thread.finished_run, thread.failed,
                        thread.finished):
                sig.disconnect()
            thread.stop()
            thread.wait()
            self._thread = None
            self.timer.stop()
            self._set_running(False)

    def _set_running(self, running: bool) -> None:
        for w in (self.start_button, self.model_box, self.length_box, self.epochs_box, self.minutes_box,
                  self.start_box, self.augment_button, self.device_box):
            w.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self._update_use_button()

    def _drain_iterations(self) -> None:
        """Take the worker's buffered IterationEvents into ours; the display timer draws them."""
        events = self._thread.take_iterations() if self._thread is not None else []
        if not events:
            return
        self._live_iterations.extend(events)
        self._last_iteration = events[-1]
        if self._view_run is None:
            self.chart.add_iterations(events)

    def _on_thread_epoch_ended(self, ev) -> None:
        self._drain_iterations()  # the epoch's iterations come first
        losses = ev.losses if isinstance(ev.losses, dict) else {}
        row = (ev.epoch, losses.get("loss"), ev.map50, ev.map)
        self._live_epochs.append(row)
        if self._view_run is None:
            self.chart.add_epoch(*row)
        of = f"/{ev.epochs}" if ev.epochs else ""
        best = " (best so far)" if ev.is_best else ""
        loss = losses.get("loss")
        loss_text = f"loss {loss:.3f} · " if isinstance(loss, (int, float)) else ""
        if not (self._thread and self._thread.stop_requested):
            self._say(f"Epoch {ev.epoch}{of} took {duration(ev.seconds)}: {loss_text}"
                      f"val mAP@0.5 {ev.map50:.3f}{best} · mAP@[.5:.95] {ev.map:.3f}")

    def _on_timer_timeout(self) -> None:
        self.chart.redraw()
        ev = self._last_iteration
        if ev is None or ev is self._shown_iteration:
            return
        self._shown_iteration = ev
        settings = self._live_settings
        if ev.total_steps:
            fraction = ev.step / ev.total_steps
        elif ev.eta_s is not None:  # a time budget (the user's, or the engine's default on a CPU)
            fraction = ev.elapsed_s / max(ev.elapsed_s + ev.eta_s, 1e-9)
        elif settings is not None and settings.minutes:
            fraction = ev.elapsed_s / (settings.minutes * 60)
        else:
            fraction = None
        of = f"/{ev.epochs}" if ev.epochs else ""
        eta = f" · ETA {duration(ev.eta_s)}" if ev.eta_s is not None else ""
        if fraction is None:
            self.progress_bar.setRange(0, 0)
            self.progress_bar.setFormat(f"Epoch {ev.epoch}{of} · {duration(ev.elapsed_s)}{eta}")
        else:
            self.progress_bar.setRange(0, 1000)
            self.progress_bar.setValue(round(min(max(fraction, 0.0), 1.0) * 1000))
            self.progress_bar.setFormat(f"Epoch {ev.epoch}{of} · %p%{eta}")
        self.chart.set_planned_epochs(ev.epochs)
        if not self._live_epochs and not (self._thread and self._thread.stop_requested):
            self._say(f"Training: iteration {ev.iteration}/{ev.iterations_per_epoch} of epoch {ev.epoch}, "
                      f"loss {ev.smoothed_loss:.3f}")

    def _on_thread_finished_run(self, done) -> None:
        self._drain_iterations()
        self._done = done
        self._live_run_id = done.run_id
        self._on_timer_timeout()
        self.timer.stop()
        self.progress_bar.setRange(0, 1000)
        if not done.stopped:
            self.progress_bar.setValue(1000)
        self.progress_bar.setFormat(("Stopped" if done.stopped else "Done") + f" after {done.epochs_done} "
                                    f"epoch{'s' if done.epochs_done != 1 else ''}")
        best = f"Best val mAP@0.5: {done.best_map50:.3f}. " if done.best_map50 is not None else ""
        kept = "" if done.best_checkpoint else "No checkpoint was kept. "
        if done.message and "mAP" in done.message:  # the engine's message already names the best result
            best = ""
        self._say(f"{done.message} {best}{kept}".strip() if done.message else f"{best}{kept}".strip() or "Done.")
        self.reload_runs()
        self._select_run(done.run_id, redraw=self._view_run is not None)

    def _on_thread_prepared(self, readiness) -> None:
        """What the run learns from stays above the progress lines; a warning, not a refusal."""
        self._note = "\n".join(readiness.lines())

    def _on_thread_decided(self, decision) -> None:
        self._note = ""
        self._say(f"{self.status_label.text()}\n{decision.message}", error=False)

    def _on_thread_failed(self, message: str) -> None:
        self._drain_iterations()
        self._on_timer_timeout()
        self.timer.stop()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setFormat("Failed")
        self._say(f"Training failed: {message}", error=True)

    def _on_thread_finished(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.deleteLater()
        self._set_running(False)
        self._update_start_state()

    # ------------------------------------------------------------------ past runs
    def _on_signals_runs_changed(self, _ids: tuple) -> None:
        self.reload_runs()

    def reload_runs(self) -> None:
        """Refill the run table from the store, keeping the selection."""
        selected = self.selected_run_id()
        self._runs = {r["id"]: r for r in self.project.runs()}
        if self._thread is not None and self._live_run_id is None:
            new = [i for i in self._runs if i > self._runs_before]
            self._live_run_id = min(new) if new else None
        table = self.runs_table
        table.blockSignals(True)
        table.setRowCount(0)
        for run in sorted(self._runs.values(), key=lambda r: r["id"], reverse=True):
            row = table.rowCount()
            table.insertRow(row)
            when = datetime.datetime.fromtimestamp(run["created_at"] or 0)
            planned = planned_epochs(run)
            done = len(run.get("epochs") or [])
            best = run.get("best_map")
            cells = (str(run["id"]), _short_model(run.get("architecture")), f"{done}/{planned}" if planned else str(done),
                     f"{best:.3f}" if isinstance(best, (int, float)) else "—", run.get("status") or "")
            tip = f"Run {run['id']}: {run.get('architecture')}, started {when:%Y-%m-%d %H:%M}"
            if run.get("message"):
                tip += "\n" + run["message"]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col == 0:
                    item.setData(Qt.ItemDataRole.UserRole, run["id"])
                if col in (0, 2, 3):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                item.setToolTip(tip)
                table.setItem(row, col, item)
        table.blockSignals(False)
        if selected is not None and selected in self._runs:
            self._select_run(selected, redraw=self._view_run == selected and self._view_run != self._live_run_id)
        self._update_start_state()
        self._update_use_button()

    def selected_run_id(self) -> int | None:
        rows = self.runs_table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.runs_table.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole)

    def _select_run(self, run_id: int, redraw: bool = False) -> None:
        for row in range(self.runs_table.rowCount()):
            if self.runs_table.item(row, 0).data(Qt.ItemDataRole.UserRole) == run_id:
                self.runs_table.blockSignals(True)
                self.runs_table.selectRow(row)
                self.runs_table.blockSignals(False)
                break
        if redraw:
            self._show_run(run_id)
        self._update_use_button()

    def _on_runs_table_selection(self) -> None:
        run_id = self.selected_run_id()
        if run_id is not None:
            self._show_run(run_id)
        self._update_use_button()

    def _show_run(self, run_id: int) -> None:
        """Chart a run: the live one with its iteration curve, a stored one from its epochs."""
        run = self._runs.get(run_id)
        if run_id == self._live_run_id and (self._thread is not None or self._live_iterations):
            self._view_run = None
            planned = self._live_settings.epochs if self._live_settings else None
            if self._last_iteration is not None and self._last_iteration.epochs:
                planned = self._last_iteration.epochs
            self.chart.clear(f"Run {run_id}" if self._thread is None else "This run", planned)
            self.chart.add_iterations(self._live_iterations)
            for row in self._live_epochs:
                self.chart.add_epoch(*row)
            self.chart.redraw()
        elif run is not None:
            self._view_run = run_id
            self.chart.show_run(run, f"Run {run_id} ({_short_model(run.get('architecture'))})")

    def _chosen_checkpoint(self) -> Path | None:
        """The selected run's best checkpoint, if it is on disk and the run is not still going."""
        run_id = self.selected_run_id()
        if run_id is None or (self._thread is not None and run_id == self._live_run_id):
            return None
        path = None
        if self._done is not None and run_id == self._done.run_id and self._done.best_checkpoint:
            path = self._done.best_checkpoint
        elif run_id in self._runs:
            path = self._runs[run_id].get("checkpoint")
        if not path:
            return None
        resolved = self._resolve(path)
        return resolved if resolved.is_file() else None

    def _resolve(self, path: str) -> Path:
        return self.project.root / path  # absolute paths stay absolute

    def _update_use_button(self) -> None:
        self.use_button.setEnabled(self._chosen_checkpoint() is not None)

    # ------------------------------------------------------------------ pre-labeling with the result
    def use_for_prelabeling(self) -> bool:
        """Make the selected run's best checkpoint the pre-labeling model, then offer to pre-label the
        images not yet reviewed. False (with a message) when that cannot be done."""
        path = self._chosen_checkpoint()
        if path is None:
            self._say("Choose a finished run with a checkpoint first.", error=True)
            return False
        try:
            from labeler.ml.train import use_for_prelabeling

            use_for_prelabeling(self.project, str(path))
        except Exception as exc:  # a store error or an unreadable checkpoint: told, setting unchanged
            log.exception("Could not use %s for pre-labeling", path)
            self._say(f"Could not use this checkpoint for pre-labeling: {exc}", error=True)
            return False
        run_id = self.selected_run_id()
        self._say(f"Run {run_id}'s best checkpoint is now the pre-labeling model.")
        from labeler.jobs.prelabel import NOT_REVIEWED, images_to_prelabel

        ids = images_to_prelabel(self.project, NOT_REVIEWED)
        if not ids:
            return True
        many = f"{len(ids)} images" if len(ids) != 1 else "1 image"
        if self.ask_yes_no("Pre-label again?",
                           f"Pre-label the {many} not yet reviewed with the new model?\n"
                           "Their unreviewed predictions are replaced; accepted and drawn boxes stay."):
            self.prelabel_requested.emit(ids)
        return True

    def _ask_yes_no(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text)
        return answer == QMessageBox.StandardButton.Yes

    def _say(self, text: str, error: bool = False) -> None:
        note = getattr(self, "_note", "")
        if note and self._thread is not None and not text.startswith(note):
            text = f"{note}\n{text}"
        self.status_label.setStyleSheet("color: #c0392b;" if error else "")
        self.status_label.setText(text)
