"""The Fine-tune panel: choose a model, a length and a starting point; Start and Stop a training run
that goes on in the background; watch its progress, ETA and a live chart of loss and validation
mAP; list past runs with their charts; make a run's best checkpoint the pre-labeling model.

The parts: the options form (train_options.py), the past-runs table (train_runs.py), the chart
(train_chart.py), and `LiveRun` (train_live.py), plain Python that turns the run's events into the
progress, ETA, status lines and chart rows shown here. The run happens in `TrainThread`
(train_worker.py), which drives labeler.ml.train's generator. Its signals only fill buffers here;
a display timer (`REDRAW_MS`) moves them into the progress bar and the chart, so the GUI thread's
work does not grow with the engine's event rate.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QCoreApplication, Qt, QTimer, Signal
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QMessageBox, QProgressBar, QPushButton, QScrollArea,
                               QTabWidget, QVBoxLayout, QWidget)

from labeler.core import runs
from labeler.core.runs import Run
from labeler.core.store import Project
from labeler.gui.docks.augment import AugmentButton
from labeler.gui.project_signals import ProjectSignals
from labeler.core.words import counted
from labeler.gui.docks.train_chart import TrainChart
from labeler.gui.docks.train_live import LiveRun, duration  # noqa: F401  (re-exported)
from labeler.gui.docks.train_options import (AUTO, EPOCHS, MINUTES, SETTING_OPTIONS,  # noqa: F401
                                             START_CHOICES, TrainOptionsForm, coco_weights_present, short_model)
from labeler.gui.docks.train_runs import COLUMNS, RunTable  # noqa: F401
from labeler.gui.docks.train_worker import TrainThread
from labeler.gui.project_signals import ProjectSignals

log = logging.getLogger(__name__)

#: chart and progress refresh period (4 Hz)
REDRAW_MS = 250


class TrainPanel(QWidget):
    #: image ids the user wants pre-labeled again with the newly chosen model
    prelabel_requested = Signal(list)

    def __init__(self, project: Project, signals: ProjectSignals, parent: QWidget | None = None,
                 train_fn: Callable | None = None):
        super().__init__(parent)
        self.project, self.signals = project, signals
        self._train_fn = train_fn
        self._thread: TrainThread | None = None
        self.live = LiveRun()  # the current (or last) run, as the panel saw it
        self._view_run: int | None = None  # run shown in the chart; None: the live (or last) run
        self._runs: dict[int, Run] = {}
        #: ask_yes_no(title, text) -> bool; tests replace it
        self.ask_yes_no = self._ask_yes_no

        self.options = TrainOptionsForm(project)
        o = self.options
        self.model_box, self.length_box, self.epochs_box, self.minutes_box = (
            o.model_box, o.length_box, o.epochs_box, o.minutes_box)
        self.auto_length_label, self.start_box, self.weights_label = o.auto_length_label, o.start_box, o.weights_label
        self.device_box, self.augment_button = o.device_box, o.augment_button
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
        self.runs_table = RunTable()
        self.runs_table.itemSelectionChanged.connect(self._on_runs_table_selection)
        self.use_button = QPushButton("Use for pre-labeling")
        self.use_button.setToolTip("Make this run's best checkpoint the pre-labeling model")
        self.use_button.setEnabled(False)
        self.use_button.clicked.connect(lambda: self.use_for_prelabeling())

        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.progress_bar, 1)  # one row: the chart keeps the height
        # the choices and the run's state keep their room (wrapped notes are never cut); below them
        # the chart and the past runs share one place as two tabs, so both are a click away without
        # scrolling at the window's default size (as a splitter they were not: 580 px of minimum
        # height in a dock of about 500)
        chart_pane = QWidget()
        chart_lay = QVBoxLayout(chart_pane)
        chart_lay.setContentsMargins(0, 0, 0, 0)
        chart_lay.addWidget(self.chart, 1)
        chart_lay.addWidget(self.chart.legend)
        runs_pane = QWidget()
        runs_lay = QVBoxLayout(runs_pane)
        runs_lay.setContentsMargins(0, 0, 0, 0)
        runs_lay.addWidget(self.runs_table, 1)
        runs_lay.addWidget(self.use_button)
        self.runs_table.setMinimumHeight(3 * self.runs_table.verticalHeader().defaultSectionSize())
        self.views = QTabWidget()
        self.views.setDocumentMode(True)
        self.views.addTab(chart_pane, "Chart")
        self.views.addTab(runs_pane, "Past runs")
        self.views.setTabToolTip(1, "Every run of this project: pick one to chart it, or to use its best checkpoint "
                                    "for pre-labeling")
        content = QWidget()
        lay = QVBoxLayout(content)
        lay.addWidget(self.options)
        lay.addLayout(buttons)
        lay.addWidget(self.status_label)
        lay.addWidget(self.views, 1)
        # a short dock (a small screen, the window at 1024 x 700) scrolls the panel instead of
        # cutting its words or making the window taller than the screen
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroll)

        self.timer = QTimer(self)
        self.timer.setInterval(REDRAW_MS)
        self.timer.timeout.connect(self._on_timer_timeout)

        self.model_box.currentIndexChanged.connect(self._update_start_state)
        self.reload_runs()
        signals.runs_changed.connect(self._on_signals_runs_changed)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.wait)  # a QThread destroyed while running aborts the process

    # ------------------------------------------------------------------ choices
    def _checkpoint_runs(self) -> list[Run]:
        return [r for r in self._runs.values() if r.checkpoint_path is not None]

    def _update_start_state(self, *_):
        """Say whether the COCO weights and a last checkpoint exist, so "Start from" is an informed choice."""
        self.options.update_start_state([r.id for r in self._checkpoint_runs()])

    def showEvent(self, event) -> None:
        # weights may have been downloaded or imported (Pre-label panel) since the panel was last shown
        self._update_start_state()
        super().showEvent(event)

    def augmentations(self) -> tuple[str, ...]:
        return self.options.augmentations()

    def settings(self):
        """The TrainSettings the panel's choices describe."""
        return self.options.settings()

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
            self.options.save()
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
        thread.run_started.connect(self._on_thread_run_started)
        thread.decided.connect(self._on_thread_decided)
        thread.finished.connect(self._on_thread_finished)
        self._thread = thread
        self._note = ""
        self.live = LiveRun(settings)
        self._view_run = None
        self.runs_table.clearSelection()
        self.chart.clear("This run", settings.epochs)
        self.views.setCurrentIndex(0)  # a run that starts is watched on its chart
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
                        thread.prepared, thread.run_started, thread.decided, thread.finished):
                sig.disconnect()
            thread.stop()
            thread.wait()
            self._thread = None
            self.timer.stop()
            self._set_running(False)

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.options.set_running(running)
        self.stop_button.setEnabled(running)
        self._update_use_button()

    def _stopping(self) -> bool:
        return bool(self._thread and self._thread.stop_requested)

    def _drain_iterations(self) -> None:
        """Take the worker's buffered IterationEvents into ours; the display timer draws them."""
        events = self._thread.take_iterations() if self._thread is not None else []
        if not events:
            return
        self.live.add_iterations(events)
        if self._view_run is None:
            self.chart.add_iterations(events)

    def _on_thread_epoch_ended(self, ev) -> None:
        self._drain_iterations()  # the epoch's iterations come first
        row = self.live.add_epoch(ev)
        if self._view_run is None:
            self.chart.add_epoch(*row)
        if not self._stopping():
            self._say(self.live.epoch_text(ev))

    def _on_timer_timeout(self) -> None:
        self.chart.redraw()
        ev = self.live.take_new()
        if ev is None:
            return
        progress = self.live.progress(ev)
        if progress.fraction is None:
            self.progress_bar.setRange(0, 0)
        else:
            self.progress_bar.setRange(0, 1000)
            self.progress_bar.setValue(round(progress.fraction * 1000))
        self.progress_bar.setFormat(progress.text)
        self.chart.set_planned_epochs(ev.epochs)
        text = self.live.iteration_text(ev)
        if text and not self._stopping():
            self._say(text)

    def _on_thread_finished_run(self, done) -> None:
        self._drain_iterations()
        self._on_timer_timeout()
        bar, status = self.live.finish(done)
        self.timer.stop()
        self.progress_bar.setRange(0, 1000)
        if not done.stopped:
            self.progress_bar.setValue(1000)
        self.progress_bar.setFormat(bar)
        self._say(status)
        self.reload_runs()
        self._select_run(done.run_id, redraw=self._view_run is not None)

    def _on_thread_run_started(self, event) -> None:
        self.live.run_id = event.run_id
        self.reload_runs()

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
        self._runs = {r.id: r for r in runs.load(self.project)}
        self.runs_table.fill(list(self._runs.values()))
        if selected is not None and selected in self._runs:
            self._select_run(selected, redraw=self._view_run == selected and self._view_run != self.live.run_id)
        self._update_start_state()
        self._update_use_button()

    def selected_run_id(self) -> int | None:
        return self.runs_table.selected_run_id()

    def _select_run(self, run_id: int, redraw: bool = False) -> None:
        self.runs_table.select_run(run_id)
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
        live = self.live
        if run_id == live.run_id and (self._thread is not None or live.iterations):
            self._view_run = None
            self.chart.clear(f"Run {run_id}" if self._thread is None else "This run", live.planned_epochs())
            self.chart.add_iterations(live.iterations)
            for row in live.epochs:
                self.chart.add_epoch(*row)
            self.chart.redraw()
        elif run is not None:
            self._view_run = run_id
            self.chart.show_run(run, f"Run {run_id} ({short_model(run.architecture)})")

    def _chosen_checkpoint(self) -> Path | None:
        """The selected run's best checkpoint, if it is on disk and the run is not still going."""
        run_id = self.selected_run_id()
        if run_id is None or (self._thread is not None and run_id == self.live.run_id):
            return None
        done = self.live.done
        if done is not None and run_id == done.run_id and done.best_checkpoint:
            path = runs.resolve(self.project.root, done.best_checkpoint)
            return path if path.is_file() else None
        run = self._runs.get(run_id)
        return run.checkpoint_path if run is not None else None

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
        many = counted(len(ids), "image")
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
