"""Anchors fitted where the feature pyramid puts them (issue 18): the search's answer, the IoU it
maximises against torchvision's own anchor grid, and a run that trains, saves and reloads them."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from labeler.core.store import Project  # noqa: E402
from labeler.ml.anchors import fit_pyramid_anchors, grid_best_iou  # noqa: E402
from labeler.ml.checkpoint import load_checkpoint  # noqa: E402
from labeler.ml.models import ModelError, build_model  # noqa: E402
from labeler.ml.small_models import ANCHOR_SIZES, ANCHOR_STRIDES, ASPECT_RATIOS  # noqa: E402
from labeler.ml.train import TrainDone, TrainingError, TrainSettings, train  # noqa: E402

from tests.ml.train_fixtures import make_project, tiny_settings  # noqa: E402


def _boxes(rng, n, lo, hi, width=448, height=320):
    side = rng.uniform(lo, hi, n)
    x = rng.uniform(0, width - hi, n)
    y = rng.uniform(0, height - hi, n)
    return np.stack([x, y, x + side, y + side * rng.uniform(0.8, 1.25, n)], 1)


def _torchvision_best_iou(boxes, sizes, width=448, height=320):
    """Each box's best IoU over the anchors torchvision's AnchorGenerator really makes."""
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.image_list import ImageList
    from torchvision.ops import box_iou

    gen = AnchorGenerator(sizes, (ASPECT_RATIOS,) * len(sizes))
    images = ImageList(torch.zeros(1, 3, height, width), [(height, width)])
    maps = [torch.zeros(1, 1, height // s, width // s) for s in ANCHOR_STRIDES]
    anchors = gen(images, maps)[0]
    return box_iou(torch.tensor(boxes, dtype=torch.float32), anchors).max(1).values.numpy()


def test_grid_best_iou_is_the_iou_with_torchvisions_own_anchors():
    rng = np.random.default_rng(0)
    boxes = np.concatenate([_boxes(rng, 80, 6, 30), _boxes(rng, 80, 30, 150)])
    for sizes in (ANCHOR_SIZES, ((10, 20), (30, 60), (90, 200))):
        mine = grid_best_iou(boxes, ANCHOR_STRIDES, sizes, ASPECT_RATIOS)
        theirs = _torchvision_best_iou(boxes, sizes)
        assert np.allclose(mine, theirs, atol=1e-4)


def test_fitted_sizes_cover_the_boxes_better_and_stay_ordered_by_level():
    rng = np.random.default_rng(1)
    boxes = _boxes(rng, 300, 30, 150)  # the shapes domain's sizes: the fixed anchors leave many below 0.7
    fitted = fit_pyramid_anchors(boxes, ANCHOR_STRIDES, ANCHOR_SIZES, ASPECT_RATIOS)
    before = grid_best_iou(boxes, ANCHOR_STRIDES, ANCHOR_SIZES, ASPECT_RATIOS)
    after = grid_best_iou(boxes, ANCHOR_STRIDES, fitted, ASPECT_RATIOS)
    assert after.mean() > before.mean() + 0.03
    assert (after >= 0.7).mean() > (before >= 0.7).mean()
    assert [len(level) for level in fitted] == [len(level) for level in ANCHOR_SIZES]
    flat = [s for level in fitted for s in level]
    assert flat == sorted(flat) and min(flat) > 0  # small objects stay on the fine maps


def test_the_search_never_does_worse_than_where_it_starts_and_refuses_no_boxes():
    rng = np.random.default_rng(2)
    boxes = _boxes(rng, 100, 5, 12)  # smaller than any anchor can reach on the stride-8 grid
    fitted = fit_pyramid_anchors(boxes, ANCHOR_STRIDES, ANCHOR_SIZES, ASPECT_RATIOS)
    assert (grid_best_iou(boxes, ANCHOR_STRIDES, fitted, ASPECT_RATIOS).mean()
            >= grid_best_iou(boxes, ANCHOR_STRIDES, ANCHOR_SIZES, ASPECT_RATIOS).mean())
    with pytest.raises(ValueError, match="no boxes"):
        fit_pyramid_anchors([(5, 5, 5, 9)], ANCHOR_STRIDES, ANCHOR_SIZES, ASPECT_RATIOS)


def test_bad_anchor_sizes_and_coco_models_are_refused_in_words():
    with pytest.raises(ModelError, match="anchor sizes must be 3 levels of 2"):
        build_model("fasterrcnn_small_fpn", 3, anchor_sizes=((16,), (32,), (64,)))
    with pytest.raises(ModelError, match="keeps the anchors of its COCO weights"):
        build_model("fasterrcnn_mobilenet_v3_large_320_fpn", 3, anchor_sizes=ANCHOR_SIZES)


def test_a_fitted_run_saves_its_anchors_prelabels_with_them_and_a_continued_run_keeps_them(tmp_path, monkeypatch):
    from labeler.ml.predict import ModelChoice, load_model

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    root = make_project(tmp_path / "p", n_images=5)
    with Project.open(root) as p:
        done = [e for e in train(p, tiny_settings(anchors="fitted")) if isinstance(e, TrainDone)][0]
        _, meta = load_checkpoint(done.best_checkpoint)
        sizes = tuple(tuple(level) for level in meta["anchor_sizes"])
        assert sizes != tuple(tuple(float(s) for s in level) for level in ANCHOR_SIZES)  # 64-px images: smaller
        assert meta["settings"]["resolved"]["anchors"] == "fitted"
        loaded = load_model(ModelChoice.checkpoint(done.best_checkpoint), device="cpu")
        assert tuple(loaded.model.rpn.anchor_generator.sizes) == sizes
        with torch.no_grad():
            loaded.model([torch.rand(3, 64, 64)])  # it predicts with them
        again = [e for e in train(p, tiny_settings(start="last", anchors="fixed")) if isinstance(e, TrainDone)][0]
        assert tuple(tuple(level) for level in load_checkpoint(again.best_checkpoint)[1]["anchor_sizes"]) == sizes
        fixed = [e for e in train(p, tiny_settings(anchors="fixed")) if isinstance(e, TrainDone)][0]
        assert load_checkpoint(fixed.best_checkpoint)[1]["anchor_sizes"] is None  # the fixed sizes: the model's own
        default = [e for e in train(p, tiny_settings()) if isinstance(e, TrainDone)][0]
        assert tuple(tuple(level) for level in load_checkpoint(default.best_checkpoint)[1]["anchor_sizes"]) == sizes
        with pytest.raises(TrainingError, match="Unknown anchors 'kmeans'"):
            list(train(p, tiny_settings(anchors="kmeans")))
    assert TrainSettings().anchors is None


@pytest.mark.parametrize("bad", [5, "16,32", [[16, 28], "x", [64, 96]], [[16, float("nan")], [32, 56], [64, 96]],
                                 [[16, -1], [32, 56], [64, 96]], [], [[True, 2], [32, 56], [64, 96]]])
def test_a_checkpoint_with_hostile_anchor_sizes_is_refused_in_words(tmp_path, bad):
    import json

    from labeler.ml.checkpoint import CheckpointError, load_meta, meta_path, save_checkpoint
    from labeler.ml.predict import ModelChoice, load_model

    model = build_model("fasterrcnn_small_fpn", 3)
    path = save_checkpoint(tmp_path / "m.pth", model.state_dict(),
                           {"architecture": "fasterrcnn_small_fpn", "classes": ["a", "b"], "anchor_sizes": None})
    load_meta(path)  # None: the architecture's own sizes
    meta = json.loads(meta_path(path).read_text())
    meta["anchor_sizes"] = bad
    meta_path(path).write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="anchor_sizes"):
        load_meta(path)
    with pytest.raises(CheckpointError, match="anchor_sizes"):
        load_model(ModelChoice.checkpoint(path), device="cpu")


def test_a_big_project_is_fitted_on_evenly_spaced_boxes_scaled_as_the_model_sees_them(monkeypatch):
    from labeler.ml import anchors
    from labeler.ml.dataset import Sample

    rng = np.random.default_rng(0)
    samples = []
    for k in range(10):  # 640x480 images the model sees at 320x240: boxes at half size
        xy = rng.uniform(0, 500, (3, 2))
        wh = rng.uniform(10, 120, (3, 2))
        samples.append(Sample(f"{k}.png", f"/x/{k}.png", 640, 480,
                              tuple(tuple(map(float, (*a, *(a + b)))) for a, b in zip(xy, wh)), (1, 1, 1)))
    every = [tuple(v / 2 for v in box) for s in samples for box in s.boxes]
    monkeypatch.setattr(anchors, "MAX_FIT_BOXES", 10)
    got = anchors.fit_for_samples(samples, 240, 320)
    assert got == fit_pyramid_anchors(every[::3], ANCHOR_STRIDES, ANCHOR_SIZES, ASPECT_RATIOS)
    assert got != fit_pyramid_anchors(every, ANCHOR_STRIDES, ANCHOR_SIZES, ASPECT_RATIOS)
