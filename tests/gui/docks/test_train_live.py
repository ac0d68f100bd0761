"""The Fine-tune panel's live-run model: progress, ETA, status lines and chart rows, without Qt."""

import subprocess
import sys
from pathlib import Path

import pytest

from labeler.core.runs import Run
from labeler.gui.docks.train_live import (LiveRun, duration, iteration_position, number,
                                          run_epoch_rows, tick_step)
from labeler.ml.train import EpochEvent, IterationEvent, TrainDone, TrainSettings


def it(step, *, epoch=1, epochs=3, per_epoch=4, total=12, elapsed=1.0, eta=None, loss=1.5):
    return IterationEvent(epoch, epochs, (step - 1) % per_epoch + 1, per_epoch, step, total, loss, loss, 0.01,
                          elapsed, eta)


def epoch_event(epoch, loss=0.8, map50=0.5, best=True):
    return EpochEvent(epoch, 3, {"loss": loss}, map50, map50 / 2, 12.0, 30.0, "ckpt.pt", best)


def test_the_model_imports_no_qt():
    code = "import sys, labeler.gui.docks.train_live; print(sorted(m for m in sys.modules if 'PySide6' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_progress_counts_steps_then_time_budget_then_is_busy():
    live = LiveRun(TrainSettings(epochs=3))
    p = live.progress(it(3, eta=90.0))
    assert p.fraction == pytest.approx(3 / 12) and p.text == "Epoch 1/3 · %p% · ETA 1:30"
    # no step count: the share of the time budget spent so far
    p = live.progress(it(3, total=None, elapsed=30.0, eta=90.0))
    assert p.fraction == pytest.approx(0.25)
    # no step count and no ETA from the engine: the user's minutes
    live = LiveRun(TrainSettings(minutes=2.0))
    assert live.progress(it(3, total=None, epochs=None, elapsed=60.0)).fraction == pytest.approx(0.5)
    # nothing to measure against: a busy bar that still says the time spent
    p = LiveRun(TrainSettings()).progress(it(3, total=None, epochs=None, elapsed=4.0))
    assert p.fraction is None and p.text == "Epoch 1 · 4.0 s"
    # a late ETA never pushes the bar past its ends
    assert LiveRun().progress(it(20, total=12)).fraction == 1.0


def test_the_display_shows_each_new_iteration_once_and_the_epoch_line_replaces_the_iteration_line():
    live = LiveRun(TrainSettings())
    assert live.take_new() is None
    events = [it(1), it(2)]
    live.add_iterations(events)
    assert live.take_new() is events[-1] and live.take_new() is None
    assert live.iteration_text(events[-1]) == "Training: iteration 2/4 of epoch 1, loss 1.500"
    row = live.add_epoch(epoch_event(1))
    assert row == (1, 0.8, 0.5, 0.25) and live.epochs == [row]
    assert live.iteration_text(it(5, epoch=2)) is None
    assert live.epoch_text(epoch_event(1)) == ("Epoch 1/3 took 12 s: loss 0.800 · val mAP@0.5 0.500 (best so far)"
                                               " · mAP@[.5:.95] 0.250")
    assert [ev.step for ev in live.iterations] == [1, 2]


def test_planned_epochs_come_from_the_engine_once_it_says():
    live = LiveRun(TrainSettings(epochs=7))
    assert live.planned_epochs() == 7
    live.add_iterations([it(1, epochs=3)])
    assert live.planned_epochs() == 3


def test_finish_texts():
    live = LiveRun()
    bar, status = live.finish(TrainDone(4, "best.pt", 0.61, 1, False, ""))
    assert live.run_id == 4 and bar == "Done after 1 epoch" and status == "Best val mAP@0.5: 0.610."
    bar, status = live.finish(TrainDone(5, None, None, 2, True, "Stopped by you."))
    assert bar == "Stopped after 2 epochs" and status == "Stopped by you. No checkpoint was kept."
    # the best result comes from the event's field, said once after the engine's reason
    _, status = live.finish(TrainDone(6, "b.pt", 0.7, 3, False, "Finished 3 epochs."))
    assert status == "Finished 3 epochs. Best val mAP@0.5: 0.700."
    # a run that names its kept epoch says which, with both figures (its mAP@0.5 need not be the peak)
    _, status = live.finish(TrainDone(7, "b.pt", 0.843, 134, False, "Reached the time limit of 10 minutes.",
                                      "epoch 103, validation mAP@0.5 0.843, mAP@[.5:.95] 0.675"))
    assert status == ("Reached the time limit of 10 minutes. "
                      "Kept epoch 103, validation mAP@0.5 0.843, mAP@[.5:.95] 0.675.")


def test_chart_series_helpers():
    assert iteration_position(it(6)) == pytest.approx(1.5)
    rows = run_epoch_rows(Run.from_row({"id": 1, "epochs": [
        {"epoch": 1, "losses": {"loss": 2.0}, "map50": 0.1, "map": "x"}, "junk",
        {"loss": float("nan"), "map50": 0.3, "map": 0.2}]}, Path(".")))
    assert rows == [(1.0, 2.0, 0.1, None), (3.0, None, 0.3, 0.2)]
    assert number("1.5") == 1.5 and number(None) is None
    assert tick_step(3) == 1 and tick_step(30) == 10 and tick_step(0) == 1.0
    assert [duration(s) for s in (None, 4.24, 42, 425, 3723)] == ["?", "4.2 s", "42 s", "7:05", "1:02:03"]
