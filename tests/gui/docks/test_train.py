"""The Fine-tune panel drives a training generator on a worker thread and charts what it yields.

Most tests inject a small fake engine that yields labeler.ml.train's own event classes (honours
should_stop, records its run in the store); the last one runs the real
engine for a tiny run.
"""

from __future__ import annotations

import importlib.util
import threading
import time

import pytest
from PySide6.QtCore import Qt

from labeler.gui.docks import train as tp
from labeler.gui.project_signals import ProjectSignals
from labeler.ml.train import EpochEvent, IterationEvent, RunStarted, TrainDone, TrainingError  # torch-free: torch loads lazily

ARCH = "fasterrcnn_mobilenet_v3_large_320_fpn"


# ---------------------------------------------------------------------- a fake engine
class FakeEngine:
    """train(project, settings, should_stop) as labeler.ml.train defines it, without a model.

    hold_at: (epoch, iteration) after which it waits for should_stop() (a Stop test's pause point).
    """

    def __init__(self, epochs=2, iterations=4, fail: Exception | None = None, hold_at=None, map_step=0.2):
        self.epochs, self.iterations, self.fail, self.hold_at = epochs, iterations, fail, hold_at
        self.map_step = map_step  # validation mAP@0.5 grows by this each epoch
        self.settings = None
        self.thread = None
        self.holding = threading.Event()

    def __call__(self, project, settings, should_stop=lambda: False):
        self.settings = settings
        self.thread = threading.current_thread()
        if self.fail is not None:
            raise self.fail
        epochs, per = self.epochs, self.iterations
        run_id = project.add_run(ARCH, {"epochs": epochs}, ["shape"])
        yield RunStarted(run_id, epochs, None, "scratch")
        rows, best, best_ckpt, stopped, step, started = [], None, None, False, 0, time.monotonic()
        for epoch in range(1, epochs + 1):
            for it in range(1, per + 1):
                step += 1
                loss = 2.0 / step
                yield IterationEvent(epoch, epochs, it, per, step, epochs * per, loss, loss * 1.1, 0.01,
                                     time.monotonic() - started, 5.0)
                if self.hold_at == (epoch, it):
                    self.holding.set()
                    deadline = time.monotonic() + 30
                    while not should_stop() and time.monotonic() < deadline:
                        time.sleep(0.01)
                if should_stop():
                    stopped = True
                    break
            if stopped:
                break
            map50 = self.map_step * epoch
            ckpt = save_fake_checkpoint(project.root / ".labeler" / "runs" / str(run_id) / f"epoch-{epoch}.pth")
            if best is None or map50 > best:
                best = map50
                best_ckpt = save_fake_checkpoint(project.root / ".labeler" / "runs" / str(run_id) / "best.pth")
            rows.append({"epoch": epoch, "loss": 1.0 / epoch, "map50": map50, "map": map50 / 2})
            project.update_run(run_id, epochs=rows, best_map=best,
                               checkpoint=best_ckpt.relative_to(project.root).as_posix())
            yield EpochEvent(epoch, epochs, {"loss": 1.0 / epoch}, map50, map50 / 2, 0.1, 0.1 * epoch,
                             str(ckpt), map50 == best)
        project.update_run(run_id, status="stopped" if stopped else "done", finished_at=time.time())
        done = TrainDone(run_id, str(best_ckpt) if best_ckpt else None, best, len(rows), stopped,
                         "Stopped; the best checkpoint is kept." if stopped else "Training finished.")
        yield done
        return done


def save_fake_checkpoint(path):
    import torch

    from labeler.ml.checkpoint import save_checkpoint

    return save_checkpoint(path, {"w": torch.zeros(1)}, {"architecture": ARCH, "classes": ["shape"]})


# ---------------------------------------------------------------------- fixtures
@pytest.fixture
def project(new_project):
    images = {**{f"img{i}.png": (40, 30) for i in range(6)}, "broken.jpg": b"not a picture"}
    return new_project(images, classes=["shape"], reviewed=["img0.png", "img1.png"])


@pytest.fixture
def make_panel(qtbot, project):
    panels = []

    def make(engine=None):
        signals = ProjectSignals(project)
        panel = tp.TrainPanel(project, signals, train_fn=engine)
        qtbot.addWidget(panel)
        panels.append(panel)
        return panel

    yield make
    for panel in panels:
        panel.wait()
        panel.signals.detach()


def wait_idle(qtbot, panel):
    qtbot.waitUntil(lambda: not panel.is_running(), timeout=30_000)


def choose_epochs(panel, n):
    panel.length_box.setCurrentIndex(panel.length_box.findData(tp.EPOCHS))
    panel.epochs_box.setValue(n)


# ---------------------------------------------------------------------- tests
def test_events_fill_progress_bar_and_chart(qtbot, make_panel):
    engine = FakeEngine(epochs=3, iterations=4)
    panel = make_panel(engine)
    choose_epochs(panel, 3)
    panel.model_box.setCurrentIndex(panel.model_box.findData(ARCH))
    assert panel.start()
    assert not panel.start_button.isEnabled() and panel.stop_button.isEnabled()
    assert not panel.augment_button.isEnabled()  # the run took its settings: nothing to change now
    wait_idle(qtbot, panel)

    assert engine.thread is not threading.main_thread()  # the GUI thread never runs the engine
    assert engine.settings.epochs == 3 and engine.settings.minutes is None
    assert engine.settings.architecture == ARCH
    chart = panel.chart
    assert chart.iteration_loss.count() == 12
    assert chart.epoch_loss.count() == 3 and chart.map50.count() == 3 and chart.map.count() == 3
    assert chart.map50.at(2).y() == pytest.approx(0.6)
    assert chart.iteration_loss.at(3).x() == pytest.approx(1.0)  # iteration 4 of 4 ends epoch 1
    assert chart.map_axis.max() == 1.0 and chart.loss_axis.max() >= 2.2
    assert panel.progress_bar.value() == panel.progress_bar.maximum()
    assert panel.progress_bar.format() == "Done after 3 epochs"
    assert "Training finished" in panel.status_label.text()
    assert panel.start_button.isEnabled() and not panel.stop_button.isEnabled()
    assert panel.augment_button.isEnabled()
    assert panel.use_button.isEnabled()


def test_progress_and_chart_update_on_the_timer_while_running(qtbot, make_panel):
    engine = FakeEngine(epochs=3, iterations=4, hold_at=(2, 1))
    panel = make_panel(engine)
    panel.start()
    # paused mid-epoch 2: only the display timer can have moved the buffered points into the series
    assert engine.holding.wait(30)
    qtbot.waitUntil(lambda: panel.chart.iteration_loss.count() == 5, timeout=10_000)
    assert panel.chart.epoch_loss.count() == 1 and panel.chart.map50.count() == 1
    qtbot.waitUntil(lambda: panel.progress_bar.value() > 0, timeout=10_000)
    assert panel.progress_bar.value() == round(5 / 12 * 1000)
    assert panel.progress_bar.format().startswith("Epoch 2/3") and "ETA 5.0 s" in panel.progress_bar.format()
    assert "Epoch 1/3" in panel.status_label.text() and "mAP@0.5 0.200" in panel.status_label.text()
    assert not panel.use_button.isEnabled()  # the run is still going

    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    assert "Stopping" in panel.status_label.text()
    wait_idle(qtbot, panel)
    assert panel.progress_bar.format() == "Stopped after 1 epoch"
    assert "best checkpoint is kept" in panel.status_label.text()
    run = panel.project.runs()[-1]
    assert run["status"] == "stopped" and len(run["epochs"]) == 1
    assert panel.use_button.isEnabled()  # epoch 1's checkpoint was kept


@pytest.mark.parametrize("error, shown", [
    (TrainingError("Only 2 images are reviewed; fine-tuning needs at least 4."),
     "Training failed: Only 2 images are reviewed; fine-tuning needs at least 4."),
    (ValueError("bad shape"), "Training failed: ValueError: bad shape"),
])
def test_failure_shows_the_engines_message(qtbot, make_panel, error, shown):
    panel = make_panel(FakeEngine(fail=error))
    panel.start()
    wait_idle(qtbot, panel)
    assert panel.status_label.text().splitlines()[-1] == shown  # below what the run would learn from
    assert "c0392b" in panel.status_label.styleSheet()
    assert panel.progress_bar.format() == "Failed"
    assert panel.start_button.isEnabled() and not panel.use_button.isEnabled()


def test_use_for_prelabeling_sets_model_and_offers_the_unreviewed_images(qtbot, make_panel, project):
    panel = make_panel(FakeEngine(epochs=2, iterations=2))
    panel.start()
    wait_idle(qtbot, panel)
    questions = []
    panel.ask_yes_no = lambda title, text: questions.append(text) or True
    with qtbot.waitSignal(panel.prelabel_requested) as emitted:
        qtbot.mouseClick(panel.use_button, Qt.MouseButton.LeftButton)
    expected = sorted(im.id for im in project.images() if im.file_name in {"img2.png", "img3.png", "img4.png",
                                                                           "img5.png"})
    assert sorted(emitted.args[0]) == expected  # not the reviewed ones, not the unreadable one
    assert "4 images" in questions[0]
    run_id = project.runs()[-1]["id"]
    assert project.get_setting("prelabel.model") == {"kind": "checkpoint", "path": f".labeler/runs/{run_id}/best.pth"}

    panel.ask_yes_no = lambda title, text: False
    with qtbot.assertNotEmitted(panel.prelabel_requested):
        panel.use_for_prelabeling()


def test_past_runs_are_listed_and_charted(qtbot, make_panel, project):
    old = project.add_run(ARCH, {"epochs": 5}, ["shape"])
    ckpt = save_fake_checkpoint(project.root / ".labeler" / "runs" / str(old) / "best.pth")
    project.update_run(old, status="done", best_map=0.456, checkpoint=f".labeler/runs/{old}/best.pth",
                       epochs=[{"epoch": e, "loss": 1 / e, "map50": 0.1 * e, "map": 0.05 * e} for e in (1, 2, 3)])
    failed = project.add_run("fasterrcnn_resnet50_fpn", {}, ["shape"])
    project.update_run(failed, status="failed", message="NaN loss")
    panel = make_panel(FakeEngine())
    table = panel.runs_table
    assert table.rowCount() == 2
    row = [table.item(0, c).text() for c in range(table.columnCount())]  # newest first
    assert row == [str(failed), "resnet50_fpn", "0", "—", "failed"]
    assert table.item(0, 0).toolTip().startswith(f"Run {failed}: fasterrcnn_resnet50_fpn, started 20")
    assert table.item(0, 3).toolTip().endswith("\nNaN loss")
    assert [table.item(1, c).text() for c in range(5)] == [str(old), "mobilenet_v3_large_320_fpn", "3/5", "0.456", "done"]
    # in a dock of 340 px the model's name is not cut down to "m..."
    panel.resize(340, 700)
    panel.show()
    qtbot.waitExposed(panel)
    assert table.columnWidth(1) >= table.fontMetrics().horizontalAdvance("small_fpn") + 8
    assert "Last checkpoint: run 1" in panel.weights_label.text()

    table.selectRow(1)
    assert panel.chart.epoch_loss.count() == 3 and panel.chart.map50.count() == 3
    assert panel.chart.iteration_loss.count() == 0 and panel.chart.x_axis.max() == 5
    assert panel.use_button.isEnabled()
    panel.ask_yes_no = lambda title, text: False
    assert panel.use_for_prelabeling()
    assert project.get_setting("prelabel.model")["path"] == ckpt.relative_to(project.root).as_posix()

    table.selectRow(0)
    assert panel.chart.epoch_loss.count() == 0 and not panel.use_button.isEnabled()

    newer = project.add_run(ARCH, {}, ["shape"])  # the store's change notice refreshes the table
    assert table.rowCount() == 3 and table.item(0, 0).data(Qt.ItemDataRole.UserRole) == newer
    assert panel.selected_run_id() == failed  # the selection survives the refresh


def test_a_flood_of_iterations_arrives_in_order(qtbot, make_panel):
    panel = make_panel(FakeEngine(epochs=1, iterations=600))
    panel.start()
    wait_idle(qtbot, panel)
    xs = [p.x() for p in panel.chart.iteration_loss.points()]
    assert len(xs) == 600 and xs == sorted(xs)


def test_choices_are_remembered_per_project(qtbot, make_panel):
    panel = make_panel(FakeEngine(epochs=1, iterations=1))
    panel.length_box.setCurrentIndex(panel.length_box.findData(tp.MINUTES))
    panel.minutes_box.setValue(2.5)
    panel.start_box.setCurrentIndex(panel.start_box.findData("scratch"))
    panel.start()
    wait_idle(qtbot, panel)
    again = make_panel()
    assert again.length_box.currentData() == tp.MINUTES and again.minutes_box.value() == 2.5
    assert again.start_box.currentData() == "scratch"
    assert again.settings().minutes == 2.5 and again.settings().epochs is None



def test_augmentations_are_chosen_in_a_menu_sent_to_the_engine_and_remembered(qtbot, make_panel):
    from labeler.ml.dataset import AUGMENTATIONS, DEFAULT_AUGMENT

    engine = FakeEngine(epochs=1, iterations=1)
    panel = make_panel(engine)
    assert panel.augmentations() == DEFAULT_AUGMENT
    assert panel.augment_button.text() == "default: " + ", ".join(DEFAULT_AUGMENT)
    names = [a.text() for a in panel.augment_button.menu().actions() if a.isCheckable()]
    assert len(names) == len(AUGMENTATIONS) and all(f"({n})" in t for n, t in zip(AUGMENTATIONS, names))
    # classes that depend on orientation: no vertical flips, no quarter turns
    panel.augment_actions["vflip"].setChecked(False)
    panel.augment_actions["rot90"].trigger()  # as a click in the menu does
    assert panel.augmentations() == ("hflip", "color")
    assert panel.augment_button.text() == "hflip, color"
    panel.start()
    wait_idle(qtbot, panel)
    assert engine.settings.augment == ("hflip", "color")
    again = make_panel()
    assert again.augmentations() == ("hflip", "color")
    for action in again.augment_actions.values():
        action.setChecked(False)
    assert again.augment_button.text() == "none" and again.settings().augment == ()
    defaults = next(a for a in again.augment_button.menu().actions() if a.text() == "Defaults")
    defaults.trigger()
    assert again.augmentations() == DEFAULT_AUGMENT
    for action in again.augment_actions.values():
        action.setChecked(True)
    assert again.augment_button.text() == "all" and again.settings().augment == AUGMENTATIONS

# ---------------------------------------------------------------------- the real engine
@pytest.mark.skipif(importlib.util.find_spec("labeler.ml.train") is None,
                    reason="the training engine (labeler.ml.train) is not written yet")
def test_a_tiny_real_run(qtbot, tmp_path, new_project):
    import dataclasses

    from labeler.ml import train

    from labeler.core.demo import write_demo
    from labeler.ml.models import SMALL_ARCHITECTURE

    root = write_demo(tmp_path / "demo", n_images=10, n_reviewed=8, seed=3)
    project = new_project(folder=root, scan=False)
    panel = None
    try:
        def tiny(project, settings, should_stop=lambda: False):
            # the panel's choices, made small: one pass over the images at a low resolution
            small = dataclasses.replace(settings, batch_size=2, workers=0, repeat=1, min_size=128, max_size=160)
            return train.train(project, small, should_stop)

        panel = tp.TrainPanel(project, ProjectSignals(project), train_fn=tiny)
        qtbot.addWidget(panel)
        panel.model_box.setCurrentIndex(panel.model_box.findData(SMALL_ARCHITECTURE))
        panel.start_box.setCurrentIndex(panel.start_box.findData("scratch"))
        panel.device_box.setCurrentText("cpu")
        choose_epochs(panel, 1)
        assert panel.start()
        qtbot.waitUntil(lambda: not panel.is_running(), timeout=240_000)
        assert "failed" not in panel.status_label.text().lower(), panel.status_label.text()
        assert panel.chart.iteration_loss.count() >= 1
        assert panel.chart.map50.count() == 1 and 0.0 <= panel.chart.map50.at(0).y() <= 1.0
        run = project.runs()[-1]
        assert run["status"] not in ("running", "failed") and len(run["epochs"]) == 1
        assert panel.selected_run_id() == run["id"] and panel.use_button.isEnabled()
        panel.ask_yes_no = lambda title, text: False
        assert panel.use_for_prelabeling()
        chosen = project.get_setting("prelabel.model")
        assert chosen["kind"] == "checkpoint" and (project.root / chosen["path"]).is_file()
    finally:
        if panel is not None:
            panel.wait()
            panel.signals.detach()
        project.close()


@pytest.mark.parametrize("epochs, step", [(0.3, 0.1), (1, 0.2), (5, 1), (10, 2), (24, 5), (52, 20), (300, 100)])
def test_the_epoch_axis_has_a_few_round_ticks(qtbot, epochs, step):
    """A 10-minute run has ~50 epochs: its axis shows 0, 20, 40, not eleven labels elided to '...'."""
    from labeler.gui.docks.train_chart import MAX_TICK_INTERVALS, TrainChart, tick_step

    assert tick_step(epochs) == pytest.approx(step) and epochs / step <= MAX_TICK_INTERVALS
    chart = TrainChart()
    qtbot.addWidget(chart)
    for e in range(1, int(epochs) + 1):
        chart.add_epoch(e, 1.0 / e, 0.01 * e, 0.005 * e)
    if epochs < 1:
        chart.add_epoch(epochs, 1.0, None, None)
    chart.redraw()
    axis = chart.x_axis
    assert axis.tickInterval() == pytest.approx(tick_step(max(epochs, 1.0)))
    assert axis.labelFormat() == ("%.0f" if axis.tickInterval() >= 1 else "%.1f")


def test_the_panel_says_what_it_learns_from_and_switches_models_by_the_cli_rule(qtbot, make_panel, project):
    panel = make_panel(FakeEngine(epochs=2, iterations=2))
    assert panel.start()
    qtbot.waitUntil(lambda: "pre-labeling model" in panel.status_label.text(), timeout=30_000)
    wait_idle(qtbot, panel)
    text = panel.status_label.text()
    assert "Training on 2 reviewed images; boxes per class: shape" in text and "is very few" in text
    assert "It is now the pre-labeling model (mAP@0.5 0.400; the project had no trained model yet)" in text
    assert project.get_setting("prelabel.model") == {"kind": "checkpoint", "path": ".labeler/runs/1/best.pth"}
    panel2 = make_panel(FakeEngine(epochs=2, iterations=2))  # a second run cannot be scored against the first
    assert panel2.start()  # (the fake checkpoints hold no model): the first stays, and the panel says so
    qtbot.waitUntil(lambda: "could not be scored" in panel2.status_label.text(), timeout=30_000)
    assert project.get_setting("prelabel.model") == {"kind": "checkpoint", "path": ".labeler/runs/1/best.pth"}


def test_a_nearly_useless_first_model_does_not_take_over_and_the_panel_says_how_to_use_it(qtbot, make_panel, project):
    panel = make_panel(FakeEngine(epochs=2, iterations=2, map_step=0.03))  # best mAP@0.5 0.06
    assert panel.start()
    qtbot.waitUntil(lambda: "below 0.20" in panel.status_label.text(), timeout=30_000)
    wait_idle(qtbot, panel)
    text = panel.status_label.text()
    assert "It scored mAP@0.5 0.060 on its validation images" in text and '"Use for pre-labeling"' in text
    assert project.get_setting("prelabel.model") is None
