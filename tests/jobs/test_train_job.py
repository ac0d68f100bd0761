"""labeler.jobs.train: what a run learns from (said before it starts), and when a new run takes over
pre-labeling (only when better on the same validation images, or when the user says so)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from labeler.cli import main  # noqa: E402
from labeler.core.store import Project  # noqa: E402
from labeler.jobs import train as job  # noqa: E402
from labeler.ml.train import _minutes  # noqa: E402
from tests.ml.train_fixtures import make_project  # noqa: E402

TINY = ["--model", "fasterrcnn_small_fpn", "--size", "64", "--repeat", "1", "--batch-size", "2", "--device", "cpu",
        "-q", "--epochs", "1"]
MODEL = "prelabel.model"


@pytest.fixture(autouse=True)
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))


def test_readiness_counts_reviewed_images_and_boxes_per_class_and_warns(tmp_path):
    root = make_project(tmp_path / "p", n_images=4, reviewed=3)
    with Project.open(root) as p:
        r = job.readiness(p)
    assert (r.images, r.boxes_per_class) == (3, {"red": 3, "blue": 3})
    lines = r.lines()
    assert lines[0] == "Training on 3 reviewed images; boxes per class: red 3, blue 3."
    assert "3 reviewed images is very few" in lines[1]
    assert "fewer than 10 boxes of red, blue" in lines[2] and lines[2].endswith("them.")
    assert job.Readiness(12, {"red": 12}).warnings() == []


def test_time_limit_words():
    assert (_minutes(1), _minutes(2.0), _minutes(1.5)) == ("1 minute", "2 minutes", "1.5 minutes")


def _decide(p, new_map, monkeypatch, current_map, **kw):
    monkeypatch.setattr(job, "score_current", lambda *a, **k: current_map)
    return job.decide(p, str(p.root / ".labeler/runs/2/best.pth"), new_map, 2, **kw)


def test_policy_keeps_the_better_model_and_never_offers_a_zero(tmp_path, monkeypatch):
    from tests.ml.prelabel_fixtures import save_tiny_checkpoint

    root = make_project(tmp_path / "p", n_images=2)
    with Project.open(root) as p:
        assert not job.decide(p, None, None, None).use
        zero = job.decide(p, "x.pth", 0.0, 1)
        assert not zero.use and "scored 0" in zero.message
        poor = job.decide(p, "x.pth", 0.06, 1)  # the project's first model, but nearly useless
        assert not poor.use and "mAP@0.5 0.060 on its validation images, below 0.20" in poor.message
        assert '"Use for pre-labeling"' in poor.message and "--checkpoint x.pth" in poor.message
        assert job.decide(p, "x.pth", 0.06, 1, force=True).use  # asked for: used
        assert p.get_setting(MODEL) is None
        first = job.decide(p, "x.pth", job.MIN_USEFUL_MAP50, 1)
        assert first.use and "no trained model yet" in first.message
        save_tiny_checkpoint(p.root / ".labeler/runs/1/best.pth")
        p.set_setting(MODEL, {"kind": "checkpoint", "path": ".labeler/runs/1/best.pth"})
        worse = _decide(p, 0.352, monkeypatch, 0.693)
        assert not worse.use and "mAP@0.5 0.693 against 0.352 (0.341 more), so it stays" in worse.message
        better = _decide(p, 0.5, monkeypatch, 0.25)
        assert better.use and "0.500 against 0.250" in better.message and "(+0.250)" in better.message
        forced = _decide(p, 0.1, monkeypatch, 0.9, force=True)
        assert forced.use and "as asked" in forced.message
        unscored = _decide(p, 0.5, monkeypatch, None)
        assert not unscored.use and "could not be scored" in unscored.message


def test_second_run_continues_from_the_best_and_is_compared_on_its_own_validation_images(tmp_path, capsys):
    root = make_project(tmp_path / "p", n_images=6)
    assert main(["train", str(root), "--from", "scratch", "--use", *TINY]) == 0
    err = capsys.readouterr().err
    assert "Training on 6 reviewed images; boxes per class: red 6, blue 6." in err and "very few" in err
    with Project.open(root) as p:
        first = p.runs()[0]
        # a tiny one-epoch run may score 0, which Automatic never continues from: let it have scored
        p.update_run(first["id"], best_map=max(first["best_map"] or 0.0, 0.3))
        assert p.get_setting(MODEL) == {"kind": "checkpoint", "path": ".labeler/runs/1/best.pth"}
        val_paths = first["settings"]["val_paths"]
        assert val_paths and all(isinstance(v, str) for v in val_paths)
    assert main(["train", str(root), *TINY]) == 0  # Automatic: continues from run 1's best checkpoint
    out = capsys.readouterr().out
    with Project.open(root) as p:
        second = p.runs()[1]
        assert second["settings"]["resolved"]["start"] == "best"
        assert second["settings"]["resolved"]["start_weights"].endswith("runs/1/best.pth")
        current = job.score_current(p, p.root / ".labeler/runs/1/best.pth", second["id"], "cpu")
        assert 0.0 <= current <= 1.0
        model = p.get_setting(MODEL)["path"]
    if model == ".labeler/runs/2/best.pth":
        assert "It is now the pre-labeling model: mAP@0.5" in out and "previous one on the same validation" in out
    else:
        assert "is better on the same validation images" in out or "scored 0" in out
    assert main(["train", str(root), "--use", *TINY]) == 0
    with Project.open(root) as p:
        assert p.get_setting(MODEL) == {"kind": "checkpoint", "path": ".labeler/runs/3/best.pth"}
