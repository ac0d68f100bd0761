"""The time-to-accuracy benchmark's scenes: labeler's own split keeps exactly the intended
validation scenes, held-out scenes stay outside the project, and fitted anchors cover their boxes."""

from pathlib import Path

import numpy as np
import pytest

from labeler.core.split import validation_paths
from labeler.core.store import Project
from labeler.ml.anchors import centred_iou, fit_anchors, project_boxes
from tests.benchmarks import load_benchmark


def _bench(monkeypatch):
    module = load_benchmark("time_to_accuracy")
    monkeypatch.setattr(module, "N_TRAIN", 8)
    monkeypatch.setattr(module, "N_VAL", 3)
    monkeypatch.setattr(module, "N_HELD_OUT", 2)
    return module


def test_hard_domain_project_split_and_anchors(tmp_path, monkeypatch):
    bench = _bench(monkeypatch)
    project_dir, held = bench.write_domain(tmp_path, "hard")
    assert len(held) == 2 and all(Path(s["path"]).is_file() for s in held)
    with Project.open(project_dir) as project:
        images = project.images()
        assert len(images) == 11 and all(im.reviewed for im in images)
        val = validation_paths([im.path for im in images])
        assert len(val) == 3  # exactly the scenes meant for validation
        boxes = project_boxes(project)
    assert len(boxes) >= 11 * 3  # many objects per scene
    wh = np.array([(x2 - x1, y2 - y1) for x1, y1, x2, y2 in boxes])
    assert np.median(wh.max(axis=1)) < 32  # small objects
    fitted = fit_anchors(boxes, k=5)
    assert fitted.sizes[-1] < 40
    assert centred_iou(wh, np.array(fitted.centres)).max(axis=1).mean() > 0.6


def test_shapes_domain_scene_has_one_to_four_of_its_classes(monkeypatch):
    import random

    bench = _bench(monkeypatch)
    rng = random.Random(0)
    seen = set()
    for _ in range(12):
        img, boxes = bench.scene("shapes", rng)
        assert img.size == (320, 240)
        assert len(boxes) <= 4
        seen |= {b[0] for b in boxes}
        for _kind, x1, y1, x2, y2 in boxes:
            assert 0 <= x1 < x2 <= 320 and 0 <= y1 < y2 <= 240
    assert seen == {"circle", "square", "triangle"}


def test_saved_runs_make_the_table_and_refuse_mixed_setups(tmp_path, monkeypatch, capsys):
    bench = _bench(monkeypatch)
    runs = tmp_path / "runs.jsonl"
    for seed, end in ((0, 0.9), (1, 0.8)):
        bench.save_run(runs, trainer="labeler", domain="shapes", seed=seed, minutes=2.0, settings={},
                       commit="abc", curve=[(1.0, 0.5, 0.3), (2.0, end, 0.6)])
    bench.save_run(runs, trainer="yolov8n", domain="shapes", seed=0, minutes=2.0, settings={},
                   commit="abc", curve=[(1.0, 0.0, 0.0), (2.0, 0.4, 0.2)])
    assert bench.main(["--table", str(runs)]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.strip().startswith("2.0 |"))
    assert "0.850/0.600" in row and "0.800/0.600" in row and "0.100/0.000" in row  # mean, worst, spread
    assert "0.400/0.200" in row and "2.12/3.00" in row  # YOLO's mean and the ratio of the means
    bench.save_run(runs, trainer="labeler", domain="shapes", seed=2, minutes=2.0, settings={"ema": True},
                   commit="abc", curve=[(1.0, 0.5, 0.3), (2.0, 0.9, 0.6)])
    assert bench.main(["--table", str(runs)]) == 2
    assert "mix setups" in capsys.readouterr().err


def test_skip_labeler_needs_a_yolo_interpreter(monkeypatch, capsys):
    bench = _bench(monkeypatch)
    with pytest.raises(SystemExit) as exc:
        bench.main(["--skip-labeler", "--minutes", "1"])
    assert exc.value.code == 2
    assert "--skip-labeler needs --yolo-python" in capsys.readouterr().err


def test_other_checkpoint_rules_are_tabled_beside_labelers_own(tmp_path, monkeypatch, capsys):
    bench = _bench(monkeypatch)
    rules = bench.ALT_RULES
    # (epoch, val mAP@0.5, val mAP): the fitness rule weighs the strict IoUs; a tie goes to the later epoch
    assert rules["val fitness"](2, 0.90, 0.70) > rules["val fitness"](1, 0.95, 0.60)
    assert rules["val mAP@0.5"](3, 0.9, 0.5) > rules["val mAP@0.5"](2, 0.9, 0.6)
    assert rules["last epoch"](4, 0.1, 0.1) > rules["last epoch"](3, 0.9, 0.9)
    runs = tmp_path / "runs.jsonl"
    for seed, end in ((0, 0.9), (1, 0.8)):
        bench.save_run(runs, trainer="labeler", domain="hard", seed=seed, minutes=2.0, settings={}, commit="abc",
                       curve=[(1.0, 0.5, 0.3), (2.0, end, 0.6)],
                       alt_curves={"last epoch": [(1.0, 0.5, 0.3), (2.0, end + 0.05, 0.65)]})
    assert bench.main(["--table", str(runs)]) == 0
    out = capsys.readouterr().out
    assert "had it kept by last epoch: 1 min 0.500/0.300, 2 min 0.950/0.650" in out
    kept = out[out.index("\n  kept by last epoch:"):]
    row = next(line for line in kept.splitlines() if line.strip().startswith("2.0 |"))
    assert "0.900/0.650" in row and "0.850/0.650" in row  # the other rule's mean and worst
