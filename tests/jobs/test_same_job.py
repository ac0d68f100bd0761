"""The same pre-labeling job through the window's path and the command line's chooses the same
images, class mapping and thresholds (the project's saved ones)."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from labeler.cli import main  # noqa: E402
from labeler.core.store import Project  # noqa: E402
from labeler.gui.docks.prelabel import UNLABELED, PrelabelPanel  # noqa: E402
from labeler.gui.project_signals import ProjectSignals  # noqa: E402
from labeler.ml import predict  # noqa: E402
from labeler.ml.predict import ModelChoice  # noqa: E402
from tests.ml.prelabel_fixtures import make_folder, save_tiny_checkpoint  # noqa: E402


@pytest.fixture(autouse=True)
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))


@pytest.fixture
def recorded(monkeypatch):
    """What each run asked the engine for; the engine itself does nothing (the choice is under test)."""
    calls = []

    def fake_predict_images(project, loaded, image_ids, labels, settings=None, **_):
        calls.append({"images": list(image_ids), "labels": dict(labels), "model": loaded.key,
                      "thresholds": (settings.score_threshold, settings.nms_iou, settings.max_boxes),
                      "across": settings.class_overlap_iou, "tta": settings.flip_fusion})
        return iter(())

    monkeypatch.setattr(predict, "predict_images", fake_predict_images)
    return calls


def test_window_and_cli_choose_the_same_run(qtbot, tmp_path, recorded, capsys):
    folder = make_folder(tmp_path / "photos")
    with Project.open(folder) as p:
        p.scan()
        p.add_category("dog")  # the checkpoint's "cat" maps nowhere, its "dog" here
        p.add_box(p.image_by_path("a.jpg").id, p.category_by_name("dog").id, 1, 1, 9, 9)  # not unlabeled
        ckpt = save_tiny_checkpoint(folder / ".labeler" / "runs" / "1" / "best.pth")
        p.set_setting("prelabel.model", ModelChoice.checkpoint(ckpt, p.root).to_setting())
        panel = PrelabelPanel(p, ProjectSignals(p))
        qtbot.addWidget(panel)
        panel.score_box.setValue(0.3)  # saved per project, as the user leaves it
        panel.nms_box.setValue(0.4)
        assert panel.across_box.value() == 0.5 and panel.across_box.text() == "0.50"
        panel.across_box.setValue(0.0)
        assert not panel.tta_box.isChecked()
        panel.tta_box.setChecked(True)
        assert panel.across_box.text() == "off"
        panel.max_box.setValue(12)
        panel.device_box.setCurrentText("cpu")
        assert panel.run_scope(UNLABELED)
        qtbot.waitUntil(lambda: not panel.is_running(), timeout=60_000)
        panel.wait()
    assert main(["prelabel", str(folder)]) == 0  # no thresholds given: the project's saved ones
    said = capsys.readouterr().err
    assert "score ≥ 0.3, overlap 0.4, across classes off, test-time flip, at most 12 per image" in said
    window, cli = recorded
    assert window == cli
    assert window["thresholds"] == (0.3, 0.4, 12) and len(window["images"]) == 2
    assert window["across"] == 0 and window["tta"] is True
    assert main(["prelabel", str(folder), "--score", "0.9"]) == 0  # the command line still wins
    assert recorded[-1]["thresholds"] == (0.9, 0.4, 12)
    assert main(["prelabel", str(folder), "--class-overlap", "0.6"]) == 0
    assert recorded[-1]["across"] == 0.6
    assert "across classes 0.6," in capsys.readouterr().err
    assert main(["prelabel", str(folder), "--no-tta"]) == 0
    assert recorded[-1]["tta"] is False and "flip" not in capsys.readouterr().err


@pytest.mark.parametrize("flag,value", [("--class-overlap", "1.5"), ("--score", "-0.1"), ("--nms-iou", "x")])
def test_a_threshold_out_of_range_is_refused_with_its_reason(tmp_path, capsys, flag, value):
    folder = make_folder(tmp_path / "photos")
    with pytest.raises(SystemExit) as stop:
        main(["prelabel", str(folder), flag, value])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert flag in err and ("not between 0 and 1" in err or "is not a number" in err)
    assert not (folder / ".labeler").exists()  # refused before anything was opened
