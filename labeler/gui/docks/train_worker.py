"""The fine-tuning run on a worker thread.

`TrainThread` is a labeler.gui.workers.GeneratorWorker (the one worker shape: tracebacks logged,
exactly one end signal) that drives labeler.ml.train's generator and relays its events as signals; the GUI
thread never touches the model. Iteration events go into a buffer that the GUI thread drains
(`take_iterations`); `iterations_ready` is emitted only when the buffer goes from empty to not
empty, so at most one such signal waits in the GUI's event queue however fast the engine yields, and
no event waits for a later one to be delivered. Epoch events and the end of the run are signals of
their own, emitted after the iterations before them were buffered.

Events are told apart by their class name (RunStarted, IterationEvent, EpochEvent, TrainDone) rather than by
isinstance, so that this module need not import labeler.ml.train (and torch) at start-up, and so a
test can drive it with a small generator of its own.
"""

from __future__ import annotations

import logging
import threading
import traceback
from typing import Callable

from PySide6.QtCore import Signal

from labeler.gui import gc_guard
from labeler.gui.workers import GeneratorWorker

log = logging.getLogger(__name__)

def default_train_fn() -> Callable:
    """labeler.ml.train.train, imported when a run starts (it pulls in torch lazily)."""
    from labeler.ml.train import train

    return train


class TrainThread(GeneratorWorker):
    """Runs `train_fn(project, settings, should_stop=...)` on a GeneratorWorker and relays what it yields."""

    #: IterationEvents wait in the buffer: call take_iterations()
    iterations_ready = Signal()
    #: the engine's RunStarted: the live run's id (announced, never guessed) and its plan
    run_started = Signal(object)
    #: an EpochEvent
    epoch_ended = Signal(object)
    #: the TrainDone that ended the run (also after Stop)
    finished_run = Signal(object)
    #: the message for the user (a TrainingError's text, or the error's type and text)
    failed = Signal(str)
    #: before the run: labeler.jobs.train.Readiness (reviewed images, boxes per class, warnings)
    prepared = Signal(object)
    #: after a run that left a checkpoint: labeler.jobs.train.Decision (applied already when .use)
    decided = Signal(object)

    def __init__(self, project, settings, train_fn: Callable | None = None, parent=None):
        super().__init__("Training", _run_events, parent=parent)
        self._args = (self,)  # the generator reads the run's inputs and buffer from this worker
        self.project, self.settings = project, settings
        self._train_fn = train_fn
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._buffer: list = []
        # each (signal name, payload) the generator yields is re-emitted here, on the GUI thread, in order
        self.yielded.connect(self._relay)
        self.errored.connect(self.failed)

    def stop(self) -> None:
        """Ask the engine to end after the current iteration; it keeps the best checkpoint."""
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def take_iterations(self) -> list:
        """The IterationEvents yielded since the last call, oldest first (GUI thread)."""
        with self._lock:
            events, self._buffer = self._buffer, []
        return events

    def describe(self, exc: Exception) -> str:
        if type(exc).__name__ == "TrainingError":
            return str(exc)
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

    def _relay(self, item) -> None:
        name, payload = item
        if name == "iterations_ready":
            self.iterations_ready.emit()
        else:
            getattr(self, name).emit(payload)

    def _buffer_iteration(self, event) -> bool:
        """Buffer one IterationEvent; True when the buffer was empty (the GUI must hear of it)."""
        with self._lock:
            was_empty = not self._buffer
            self._buffer.append(event)
        return was_empty

    def _prepare(self):
        from labeler.jobs.train import readiness

        try:
            return readiness(self.project)
        except Exception:  # counting is advice: the engine itself says what stops a run
            log.error("Could not count the training data:\n%s", traceback.format_exc())
            return None

    def _decide(self, done):
        """The same rule as `labeler train`: the new model takes over pre-labeling only when better on
        the same validation images (the current one is scored here, off the GUI thread)."""
        from labeler.jobs.train import decide
        from labeler.ml.train import use_for_prelabeling

        if getattr(done, "best_checkpoint", None) is None:
            return None
        try:
            decision = decide(self.project, done.best_checkpoint, done.best_map50, done.run_id,
                              device=getattr(self.settings, "device", "auto"))
            if decision.use:
                use_for_prelabeling(self.project, done.best_checkpoint)
        except Exception:
            log.error("Could not compare the new model with the current one:\n%s", traceback.format_exc())
            return None
        return decision


def _run_events(worker: TrainThread):
    """The generator the worker runs (on its thread): yields (signal name, payload), returns the TrainDone."""
    gc_guard.import_torch_in_worker()  # the first import would stall the GUI thread
    train_fn = worker._train_fn or default_train_fn()
    readiness = worker._prepare()
    if readiness is not None:
        yield "prepared", readiness
    events = train_fn(worker.project, worker.settings, should_stop=worker._stop.is_set)
    done = None
    while True:
        try:
            event = next(events)
        except StopIteration as end:
            done = done or end.value  # the generator's return value is the TrainDone too
            break
        kind = type(event).__name__
        if kind == "IterationEvent":
            if worker._buffer_iteration(event):
                yield "iterations_ready", None
        elif kind == "RunStarted":
            yield "run_started", event
        elif kind == "EpochEvent":
            yield "epoch_ended", event
        elif kind == "TrainDone":
            done = event
        else:
            log.warning("The training engine yielded an unknown event %r; ignored", event)
    if done is None:
        raise RuntimeError("The training engine ended without reporting its result")
    yield "finished_run", done
    decision = worker._decide(done)
    if decision is not None:
        yield "decided", decision
    return done
