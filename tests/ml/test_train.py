"""The training engine on tiny generated projects (64-px images, one epoch of 1-3 iterations)."""

from __future__ import annotations

import dataclasses

import pytest

torch = pytest.importorskip("torch")

from labeler.core.store import Box, Project  # noqa: E402
from labeler.ml import train as train_mod  # noqa: E402
from labeler.ml.checkpoint import load_checkpoint  # noqa: E402
from labeler.ml.dataset import AUGMENTATIONS  # noqa: E402
from labeler.ml.models import build_model  # noqa: E402
from labeler.ml.precision import native_cpu_bf16  # noqa: E402
from labeler.ml.train import (EpochEvent, IterationEvent, RunStarted, TrainDone, TrainingError, train,  # noqa: E402
                              use_for_prelabeling)

from tests.ml.train_fixtures import SIZE, make_project, tiny_settings  # noqa: E402


@pytest.fixture(autouse=True)
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no COCO weights: "auto" means scratch


def run_all(project, settings, should_stop=lambda: False):
    return list(train(project, settings, should_stop))


def test_short_run_emits_events_and_writes_a_loadable_checkpoint(tmp_path):
    root = make_project(tmp_path / "p", n_images=5)
    with Project.open(root) as p:
        events = run_all(p, tiny_settings())
        runs = p.runs()
    iters = [e for e in events if isinstance(e, IterationEvent)]
    epochs = [e for e in events if isinstance(e, EpochEvent)]
    assert iters and len(epochs) == 1 and isinstance(events[-1], TrainDone)
    assert isinstance(events[0], RunStarted) and events[0].run_id == runs[-1]["id"]  # announced, not guessed
    assert (events[0].epochs, events[0].start) == (runs[-1]["settings"]["resolved"]["epochs"], "scratch")
    assert iters[-1].iteration == iters[-1].iterations_per_epoch and iters[-1].total_steps == iters[-1].step
    assert set(epochs[0].losses) == {"loss", "loss_classifier", "loss_box_reg", "loss_objectness", "loss_rpn_box_reg"}
    assert 0.0 <= epochs[0].map50 <= 1.0 and 0.0 <= epochs[0].map <= epochs[0].map50
    done = events[-1]
    assert not done.stopped and done.epochs_done == 1 and done.best_checkpoint.endswith("best.pth")
    state, meta = load_checkpoint(done.best_checkpoint)
    assert meta["architecture"] == "fasterrcnn_small_fpn" and meta["classes"] == ["red", "blue"]
    assert meta["min_size"] == SIZE and meta["epoch"] == 1 and "map50" in meta["metrics"]
    # what pre-labeling does with it
    model = build_model(meta["architecture"], len(meta["classes"]) + 1, min_size=meta["min_size"],
                        max_size=meta["max_size"])
    model.load_state_dict(state)
    assert runs[-1]["status"] == "finished" and len(runs[-1]["epochs"]) == 1
    assert (root / runs[-1]["checkpoint"]).resolve() == (root / ".labeler/runs/1/best.pth").resolve()
    assert runs[-1]["settings"]["resolved"]["start"] == "scratch"


def test_checkpoint_serves_prelabeling(tmp_path):
    from labeler.ml.predict import ModelChoice, default_model_choice, load_model

    root = make_project(tmp_path / "p", n_images=4)
    with Project.open(root) as p:
        done = run_all(p, tiny_settings())[-1]
        use_for_prelabeling(p, done.best_checkpoint)
        choice = default_model_choice(p)
        assert choice == ModelChoice("checkpoint", path=".labeler/runs/1/best.pth")
        loaded = load_model(choice, project_root=p.root, device="cpu")
        assert loaded.label_names == ["__background__", "red", "blue"]
        with pytest.raises(TrainingError, match="Cannot pre-label"):
            use_for_prelabeling(p, tmp_path / "nothing.pth")
        assert default_model_choice(p) == choice  # the setting is unchanged


def test_stop_ends_within_one_iteration_and_keeps_a_checkpoint(tmp_path):
    root = make_project(tmp_path / "p", n_images=8)
    calls = []
    with Project.open(root) as p:
        events = run_all(p, tiny_settings(epochs=5), should_stop=lambda: calls.append(1) or True)
        run = p.runs()[-1]
    iters = [e for e in events if isinstance(e, IterationEvent)]
    assert len(calls) == 1 and [e.step for e in iters] == [1]
    done = events[-1]
    assert done.stopped and done.epochs_done == 1 and done.best_checkpoint
    assert run["status"] == "stopped" and "Stopped" in run["message"]


def test_copes_with_empty_images_degenerate_boxes_and_unused_classes(tmp_path):
    root = make_project(tmp_path / "p", n_images=6, classes=("red",))
    with Project.open(root) as p:
        p.add_category("never used")  # a class without boxes
        ims = p.images()
        p.delete_boxes([b.id for b in p.boxes(ims[0].id)])  # a reviewed image without boxes: a negative
        cat = p.categories()[0].id
        # a zero-width box (the store refuses to draw one, but an old or imported store may hold it)
        p.restore_boxes([Box(10_000, ims[1].id, cat, 20.0, 10.0, 20.0, 30.0)])
        events = run_all(p, tiny_settings(augment=AUGMENTATIONS))
        run = p.runs()[-1]
    assert isinstance(events[-1], TrainDone) and events[-1].best_checkpoint
    assert run["settings"]["dropped_boxes"] == 1
    _, meta = load_checkpoint(events[-1].best_checkpoint)
    assert meta["classes"] == ["red", "never used"]


@pytest.mark.parametrize("case, message", [
    ("one reviewed", "at least 2 reviewed images"),
    ("no classes", "no classes"),
    ("no boxes", "hold no boxes"),
])
def test_clear_messages_for_data_that_cannot_train(tmp_path, case, message):
    if case == "one reviewed":
        root = make_project(tmp_path / "p", n_images=3, reviewed=1)
    elif case == "no classes":
        root = make_project(tmp_path / "p", n_images=3, classes=(), boxes=False)
    else:
        root = make_project(tmp_path / "p", n_images=3, boxes=False)
    with Project.open(root) as p:
        with pytest.raises(TrainingError, match=message):
            run_all(p, tiny_settings())
        assert p.runs() == []  # nothing recorded, nothing written
    assert not (root / ".labeler" / "runs").exists()


@pytest.mark.parametrize("change, message", [
    (dict(start="coco"), "COCO weights"),
    (dict(start="last"), "no checkpoint yet"),
    (dict(architecture="no_such_model"), "Unknown model"),
    (dict(epochs=0), "at least 1"),
    (dict(val_fraction=1.5), "between 0 and 1"),
    (dict(augment=("hflip", "mirror-universe")), "Unknown augmentation"),
])
def test_clear_messages_for_bad_settings(tmp_path, change, message):
    root = make_project(tmp_path / "p", n_images=3)
    with Project.open(root) as p:
        with pytest.raises(TrainingError, match=message):
            run_all(p, tiny_settings(**change))


def test_nan_loss_stops_with_a_message(tmp_path, monkeypatch):
    import torchvision.models.detection.roi_heads as roi_heads

    def nan_loss(class_logits, box_regression, labels, regression_targets):
        nan = class_logits.sum() * float("nan")
        return nan, nan

    monkeypatch.setattr(roi_heads, "fastrcnn_loss", nan_loss)
    root = make_project(tmp_path / "p", n_images=4)
    with Project.open(root) as p:
        with pytest.raises(TrainingError, match="loss became nan.*lower learning rate"):
            run_all(p, tiny_settings())
        run = p.runs()[-1]
    assert run["status"] == "failed" and "nan" in run["message"]


def test_continue_from_the_last_checkpoint_with_a_new_class(tmp_path):
    root = make_project(tmp_path / "p", n_images=4)
    with Project.open(root) as p:
        first = run_all(p, tiny_settings())[-1]
        old_state, _ = load_checkpoint(first.best_checkpoint)
        p.add_category("green", position=0)  # the class order changes: rows must follow the names
        events = run_all(p, tiny_settings(start="last", lr=1e-12))
        run = p.runs()[-1]
    assert run["settings"]["resolved"]["start"] == "last"
    state, meta = load_checkpoint(events[-1].best_checkpoint)
    assert meta["classes"] == ["green", "red", "blue"]
    key = "roi_heads.box_predictor.cls_score.weight"
    # with a negligible learning rate the shared rows keep their values; red was row 1 and is now row 2
    assert torch.allclose(state[key][2], old_state[key][1], atol=1e-4)
    assert torch.allclose(state[key][3], old_state[key][2], atol=1e-4)
    assert torch.allclose(state["backbone.stem.0.0.weight"], old_state["backbone.stem.0.0.weight"], atol=1e-4)


def test_plan_defaults_suit_the_device(tmp_path):
    root = make_project(tmp_path / "p", n_images=3)
    with Project.open(root) as p:
        plan = train_mod.plan(p, train_mod.TrainSettings(), n_train=32, device=torch.device("cpu"))
        assert plan.architecture == "fasterrcnn_small_fpn" and plan.start == "scratch"
        assert plan.minutes == 10 and plan.epochs is None and plan.workers == 0
        # bfloat16 where the CPU computes it natively (labeler.ml.precision), float32 elsewhere
        assert plan.amp is native_cpu_bf16()
        assert plan.repeat * 32 >= train_mod.EPOCH_IMAGES
        gpu = train_mod.plan(p, train_mod.TrainSettings(), n_train=32, device=torch.device("cuda"))
        assert gpu.epochs and gpu.minutes is None and gpu.amp
        explicit = train_mod.plan(p, dataclasses.replace(train_mod.TrainSettings(), minutes=3.0, batch_size=1),
                                  n_train=32, device=torch.device("cpu"))
        assert explicit.minutes == 3.0 and explicit.batch_size == 1


def test_a_run_continuing_the_small_model_keeps_the_from_scratch_rate(tmp_path, monkeypatch):
    from labeler.ml import plan as plan_mod

    root = make_project(tmp_path / "p", n_images=3)
    with Project.open(root) as p:
        run_all(p, tiny_settings())
        cpu = torch.device("cpu")
        scratch = train_mod.plan(p, tiny_settings(lr=None), n_train=3, device=cpu)
        again = train_mod.plan(p, tiny_settings(start="last", lr=None), n_train=3, device=cpu)
        assert again.start == "last" and again.lr == scratch.lr == 1e-3  # the small model has no COCO weights
        monkeypatch.setattr(plan_mod, "_coco_weights", lambda name: tmp_path / "coco.pth")
        coco = train_mod.plan(p, tiny_settings(architecture="fasterrcnn_mobilenet_v3_large_fpn", start="coco",
                                               lr=None), n_train=3, device=cpu)
        assert coco.start == "coco" and coco.lr == 2e-4  # pretrained weights keep the gentle rate


def test_validation_keeps_low_scores_and_gives_the_model_its_threshold_back():
    import torch

    from labeler.ml.evaluate import EVAL_SCORE_THRESH, predict_for_eval

    model = build_model("fasterrcnn_small_fpn", 3, min_size=64, max_size=64).eval()
    model.roi_heads.score_thresh = 0.05  # pre-labeling's
    seen = []
    model.roi_heads.register_forward_pre_hook(lambda heads, args: seen.append(heads.score_thresh))
    out = predict_for_eval(model, [torch.rand(3, 64, 64)], torch.device("cpu"))
    assert seen == [EVAL_SCORE_THRESH] and len(out) == 1
    assert model.roi_heads.score_thresh == 0.05


def test_a_run_with_the_weight_average_keeps_the_average_as_its_checkpoint(tmp_path, monkeypatch):
    from labeler.ml import recipe

    made = []

    class Recorded(recipe.WeightAverage):
        def __init__(self, model, **kw):
            super().__init__(model, **kw)
            made.append((self, model))

    monkeypatch.setattr(recipe, "WeightAverage", Recorded)
    root = make_project(tmp_path / "p", n_images=5)
    with Project.open(root) as p:
        events = run_all(p, tiny_settings(ema=True, epochs=2))
        runs = p.runs()
    assert runs[-1]["settings"]["resolved"]["ema"] is True and len(made) == 1
    average, trained = made[0]
    assert average.updates == max(e.step for e in events if isinstance(e, IterationEvent))  # one per step
    last, meta = load_checkpoint(str(root / ".labeler/runs/1/epoch-2.pth"))
    kept = average.model.state_dict()
    weights = [k for k, v in last.items() if v.dtype.is_floating_point and v.numel() > 1]
    assert all(torch.equal(last[k], kept[k]) for k in weights)  # the checkpoint is the average...
    assert not all(torch.equal(last[k], trained.state_dict()[k]) for k in weights)  # ...not the trained weights
    model = build_model(meta["architecture"], len(meta["classes"]) + 1, min_size=meta["min_size"],
                        max_size=meta["max_size"])
    model.load_state_dict(last)  # and pre-labeling loads it like any other


def test_a_run_with_the_tail_average_checkpoints_the_average_once_it_starts(tmp_path, monkeypatch):
    from labeler.ml import recipe

    made = []

    class Recorded(recipe.TailAverage):
        def __init__(self, start):
            super().__init__(start)
            made.append(self)

    monkeypatch.setattr(recipe, "TailAverage", Recorded)
    root = make_project(tmp_path / "p", n_images=5)
    with Project.open(root) as p:
        events = run_all(p, tiny_settings(tail=0.5, epochs=2))
        runs = p.runs()
    assert runs[-1]["settings"]["resolved"]["tail"] == 0.5 and len(made) == 1
    steps = max(e.step for e in events if isinstance(e, IterationEvent))
    assert 0 < made[0].updates < steps  # the second half of the steps only
    last, meta = load_checkpoint(str(root / ".labeler/runs/1/epoch-2.pth"))
    kept = made[0].model.state_dict()
    assert all(torch.equal(last[k], kept[k]) for k in last if last[k].dtype.is_floating_point)


def test_mosaics_stop_after_their_share_of_the_schedule(tmp_path, monkeypatch):
    allowed = []
    real = train_mod.load_maybe_mosaic

    def recorded(data, index, augmenter, rng, allow_mosaic=True):
        allowed.append(allow_mosaic)
        return real(data, index, augmenter, rng, allow_mosaic)

    monkeypatch.setattr(train_mod, "load_maybe_mosaic", recorded)
    root = make_project(tmp_path / "p", n_images=5)
    with Project.open(root) as p:
        run_all(p, tiny_settings(augment=("mosaic", "hflip"), mosaic_until=0.5, epochs=4))
        runs = p.runs()
    assert runs[-1]["settings"]["resolved"]["mosaic_until"] == 0.5
    first_off = allowed.index(False)
    assert 0 < first_off < len(allowed) and not any(allowed[first_off:])  # mosaics, then whole images only
    assert abs(first_off / len(allowed) - 0.5) <= 0.3  # about half way (whole batches; the last one may end early)


def test_the_run_keeps_the_checkpoint_with_the_best_fitness_not_the_best_map50(tmp_path, monkeypatch):
    from labeler.ml import evaluate

    scores = iter([(0.90, 0.50), (0.85, 0.60), (0.95, 0.52)])  # fitness 0.54, 0.625, 0.563
    monkeypatch.setattr(evaluate, "coco_map", lambda *a, **k: next(scores))
    root = make_project(tmp_path / "p", n_images=4)
    with Project.open(root) as p:
        events = run_all(p, tiny_settings(epochs=3))
        run = p.runs()[-1]
    epochs = [e for e in events if isinstance(e, EpochEvent)]
    assert [e.is_best for e in epochs] == [True, True, False]
    done = events[-1]
    assert done.best_map50 == 0.85 and run["best_map"] == 0.85
    _state, meta = load_checkpoint(done.best_checkpoint)
    assert meta["epoch"] == 2
    assert "Best checkpoint: epoch 2, validation mAP@0.5 0.850, mAP@[.5:.95] 0.600" in run["message"]


def test_validation_uses_batch_norm_statistics_recomputed_from_training_images(tmp_path, monkeypatch):
    from labeler.ml import recipe

    calls = []
    real = recipe.precise_batchnorm

    def recorded(model, names, batches):
        calls.append((model.training, list(names), [len(b) for b in batches]))
        real(model, names, batches)

    monkeypatch.setattr(recipe, "precise_batchnorm", recorded)
    root = make_project(tmp_path / "p", n_images=6)
    with Project.open(root) as p:
        run_all(p, tiny_settings(epochs=2, val_fraction=0.3))
        n_train = p.runs()[-1]["settings"]["train_images"]
    # each epoch: every trained norm of the backbone, from every training image (under 16) in batches of 2
    assert len(calls) == 2 and all(names == recipe.trained_batchnorms(_small()) for _t, names, _b in calls)
    assert all(sum(sizes) == n_train and max(sizes) <= 2 for _t, _n, sizes in calls)


def _small():
    return build_model("fasterrcnn_small_fpn", 3, min_size=SIZE, max_size=SIZE)
