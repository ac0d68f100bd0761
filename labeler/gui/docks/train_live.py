"""What the Fine-tune panel shows about a training run, as plain Python (no Qt): progress, ETA, the
status lines, and the chart's series. The panel and the chart only draw what this computes, so
every number and sentence here is tested without a display.

`LiveRun` collects one run's IterationEvents and EpochEvents (labeler.ml.train) as the worker hands
them over; `progress()` turns the newest into a fraction and a bar text, `epoch_text()` and
`finished_texts()` into the lines under the bar. The series helpers (`iteration_position`,
`run_epoch_rows`, `tick_step`) place points on the epoch axis.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

from labeler.core.runs import Run
from labeler.core.words import counted, duration  # noqa: F401  (duration re-exported)

#: at most this many intervals on the epoch axis: more labels than fit a narrow dock get elided to "..."
MAX_TICK_INTERVALS = 5


def number(value) -> float | None:
    """A finite float, or None for anything else (None, text, NaN)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if value == value else None  # NaN is "no value"


def iteration_position(event) -> float:
    """Where an IterationEvent sits on the epoch axis: epoch 1 ends at 1.0."""
    per_epoch = max(int(event.iterations_per_epoch or 1), 1)
    return event.step / per_epoch


def run_epoch_rows(run: Run) -> list[tuple[float, float | None, float | None, float | None]]:
    """(epoch, loss, mAP@0.5, mAP@[.5:.95]) for each epoch a stored run recorded (labeler.core.runs)."""
    rows = []
    for i, e in enumerate(run.epochs):
        if not isinstance(e, dict):
            continue
        losses = e.get("losses") if isinstance(e.get("losses"), dict) else {}
        loss = e.get("loss", losses.get("loss"))
        rows.append((float(e.get("epoch", i + 1)), number(loss), number(e.get("map50")), number(e.get("map"))))
    return rows


def tick_step(span: float, max_intervals: int = MAX_TICK_INTERVALS) -> float:
    """The smallest round step (0.1, 0.2, 0.5, 1, 2, 5, 10, 20...) that cuts `span` into at most
    `max_intervals` intervals (1 for a span that is not a positive finite number)."""
    if not 0 < span < math.inf:
        return 1.0
    for exponent in itertools.count(-1):
        for mantissa in (1, 2, 5):
            step = round(mantissa * 10.0 ** exponent, 10)
            if span / step <= max_intervals + 1e-9:
                return step


@dataclass
class Progress:
    """The bar: a fraction in [0, 1], or None for a busy bar; its text ("%p%" is Qt's percent)."""

    fraction: float | None
    text: str


@dataclass
class LiveRun:
    """One run as the panel saw it: its settings, every iteration event and epoch row so far."""

    settings: Any = None
    iterations: list = field(default_factory=list)
    #: (epoch, loss, mAP@0.5, mAP@[.5:.95]) per finished epoch
    epochs: list[tuple] = field(default_factory=list)
    #: the newest IterationEvent, and the one the display last showed
    last: Any = None
    shown: Any = None
    run_id: int | None = None
    #: the engine's TrainDone, once the run ended
    done: Any = None

    def add_iterations(self, events: list) -> None:
        if events:
            self.iterations.extend(events)
            self.last = events[-1]

    def add_epoch(self, ev) -> tuple:
        """Record an EpochEvent; returns its chart row."""
        losses = ev.losses if isinstance(ev.losses, dict) else {}
        row = (ev.epoch, losses.get("loss"), ev.map50, ev.map)
        self.epochs.append(row)
        return row

    def take_new(self):
        """The newest iteration event if the display has not shown it yet (then it has), else None."""
        if self.last is None or self.last is self.shown:
            return None
        self.shown = self.last
        return self.last

    def planned_epochs(self) -> int | None:
        """The epochs the run will do: the engine's figure once it said, else the user's."""
        if self.last is not None and self.last.epochs:
            return self.last.epochs
        return self.settings.epochs if self.settings is not None else None

    def progress(self, ev) -> Progress:
        """The bar for an IterationEvent: steps done, else time spent of a time budget, else busy."""
        minutes = getattr(self.settings, "minutes", None)
        if ev.total_steps:
            fraction = ev.step / ev.total_steps
        elif ev.eta_s is not None:  # a time budget (the user's, or the engine's default on a CPU)
            fraction = ev.elapsed_s / max(ev.elapsed_s + ev.eta_s, 1e-9)
        elif minutes:
            fraction = ev.elapsed_s / (minutes * 60)
        else:
            fraction = None
        of = f"/{ev.epochs}" if ev.epochs else ""
        eta = f" · ETA {duration(ev.eta_s)}" if ev.eta_s is not None else ""
        if fraction is None:
            return Progress(None, f"Epoch {ev.epoch}{of} · {duration(ev.elapsed_s)}{eta}")
        return Progress(min(max(fraction, 0.0), 1.0), f"Epoch {ev.epoch}{of} · %p%{eta}")

    def iteration_text(self, ev) -> str | None:
        """The line under the bar before the first epoch ends (after it, the epoch's line stays)."""
        if self.epochs:
            return None
        return (f"Training: iteration {ev.iteration}/{ev.iterations_per_epoch} of epoch {ev.epoch}, "
                f"loss {ev.smoothed_loss:.3f}")

    @staticmethod
    def epoch_text(ev) -> str:
        losses = ev.losses if isinstance(ev.losses, dict) else {}
        of = f"/{ev.epochs}" if ev.epochs else ""
        best = " (best so far)" if ev.is_best else ""
        loss = losses.get("loss")
        loss_text = f"loss {loss:.3f} · " if isinstance(loss, (int, float)) else ""
        return (f"Epoch {ev.epoch}{of} took {duration(ev.seconds)}: {loss_text}"
                f"val mAP@0.5 {ev.map50:.3f}{best} · mAP@[.5:.95] {ev.map:.3f}")

    def finish(self, done) -> tuple[str, str]:
        """Record the engine's TrainDone; returns (the bar's text, the status line)."""
        self.done, self.run_id = done, done.run_id
        bar = ("Stopped" if done.stopped else "Done") + f" after {counted(done.epochs_done, 'epoch', 'epochs')}"
        if done.best_detail:  # the kept epoch and both figures its rule weighs (the chart's peak may differ)
            best = f"Kept {done.best_detail}. "
        else:
            best = f"Best val mAP@0.5: {done.best_map50:.3f}. " if done.best_map50 is not None else ""
        kept = "" if done.best_checkpoint else "No checkpoint was kept. "
        status = f"{done.message} {best}{kept}".strip() if done.message else f"{best}{kept}".strip() or "Done."
        return bar, status
