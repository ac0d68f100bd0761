"""The optimisation recipe's pieces: the step budget that ties the schedule to steps, and the weight average."""

from __future__ import annotations

import pytest

from labeler.ml.recipe import StepBudget, lr_at


def test_planned_epochs_fix_the_steps_from_the_start():
    b = StepBudget(iters=10, epochs=3, budget_s=None)
    assert b.total == 30 and b.frac(15, 999.0) == 0.5


def test_a_time_budget_counts_its_steps_after_a_quarter_of_it_and_then_follows_them_unless_late():
    b = StepBudget(iters=10, epochs=None, budget_s=100.0)
    assert b.total is None and b.frac(5, 10.0) == pytest.approx(0.1)  # before the count: share of the budget
    b.epoch_ended(1, 10, 9.0)  # the first epochs decode, cache and warm up: not measured
    b.epoch_ended(2, 20, 16.0)
    assert b.total is None
    b.epoch_ended(3, 30, 21.0)  # 5 s an epoch from here on, validation included, but under a quarter spent
    assert b.total is None
    b.epoch_ended(4, 40, 26.0)  # a quarter spent: 20 steps in 10 s since epoch 2, 74 s left -> 148 more
    assert b.total == 188
    assert b.frac(50, 26.0) == pytest.approx(50 / 188)
    assert b.frac(90, 40.0) == pytest.approx(90 / 188)  # a faster machine does not squeeze the schedule
    assert b.frac(80, 60.0) == pytest.approx(0.6)  # a busy machine: the schedule keeps up with the clock
    assert b.frac(100, 100.0) == pytest.approx(1.0)  # and ends at the time limit on the final rate
    assert lr_at(1.0, 100, 10, b.frac(100, 100.0)) == pytest.approx(0.02)
    assert b.frac(250, 99.0) > 1  # steps past the count (a faster machine) train at the schedule's final rate
    assert lr_at(1.0, 250, 10, b.frac(250, 99.0)) == pytest.approx(0.02)
    b.epoch_ended(5, 50, 80.0)  # nor does a slow epoch change the count
    assert b.total == 188


def test_weight_average_follows_the_model_and_copies_integer_buffers():
    torch = pytest.importorskip("torch")
    from labeler.ml.recipe import WeightAverage

    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    avg = WeightAverage(model, decay=0.9, tau=1.0)
    start = avg.model[0].weight.clone()
    with torch.no_grad():
        model[0].weight.add_(1.0)
    model[1].num_batches_tracked.fill_(7)
    avg.update(model)
    d = 0.9 * (1 - torch.exp(torch.tensor(-1.0)))
    assert torch.allclose(avg.model[0].weight, d * start + (1 - d) * model[0].weight)
    assert int(avg.model[1].num_batches_tracked) == 7
    assert not any(p.requires_grad for p in avg.model.parameters())
    for _ in range(200):
        avg.update(model)
    assert torch.allclose(avg.model[0].weight, model[0].weight, atol=1e-6)


def test_tail_average_is_the_mean_of_the_weights_after_its_start():
    torch = pytest.importorskip("torch")
    from labeler.ml.recipe import TailAverage

    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    avg = TailAverage(start=0.5)
    seen = []
    for step in range(10):
        with torch.no_grad():
            model[0].weight.add_(float(step))
        model[1].num_batches_tracked.fill_(step)
        avg.update(model, frac=step / 10)
        if step / 10 >= 0.5:
            seen.append(model[0].weight.detach().clone())
        else:
            assert avg.model is None  # before its start validation uses the trained weights
    assert avg.updates == len(seen) == 5
    assert torch.allclose(avg.model[0].weight, torch.stack(seen).mean(0), atol=1e-5)
    assert not torch.allclose(avg.model[0].weight, model[0].weight)
    assert int(avg.model[1].num_batches_tracked) == 9
    assert not any(p.requires_grad for p in avg.model.parameters())


@pytest.mark.parametrize("bad", [-0.1, 1.0, 2, True, "0.5", [0.5]])
def test_a_tail_start_outside_the_schedule_is_refused_in_words(bad):
    from labeler.ml.plan import TrainingError, _tail

    with pytest.raises(TrainingError, match="share of the schedule"):
        _tail(bad)
    assert _tail(None) == 0.0 and _tail(0.75) == 0.75


def test_both_weight_averages_at_once_are_refused(tmp_path):
    torch = pytest.importorskip("torch")
    from labeler.core.store import Project
    from labeler.ml.plan import TrainingError, TrainSettings, plan

    from .train_fixtures import make_project

    with Project.open(make_project(tmp_path / "p", n_images=2)) as p:
        with pytest.raises(TrainingError, match="not both"):
            plan(p, TrainSettings(ema=True, tail=0.7, start="scratch"), n_train=2, device=torch.device("cpu"))
        assert plan(p, TrainSettings(tail=0.7, start="scratch"), n_train=2, device=torch.device("cpu")).tail == 0.7


@pytest.mark.parametrize("bad", [0, -0.1, 1.5, True, "0.8"])
def test_a_mosaic_end_outside_the_schedule_is_refused_in_words(bad):
    from labeler.ml.plan import DEFAULT_MOSAIC_UNTIL, TrainingError, _mosaic_until

    with pytest.raises(TrainingError, match="Mosaic's end must be a share of the schedule"):
        _mosaic_until(bad)
    assert _mosaic_until(None) == DEFAULT_MOSAIC_UNTIL and _mosaic_until(1) == 1.0


def _small_detector():
    torch = pytest.importorskip("torch")
    from labeler.ml.models import build_model

    torch.manual_seed(0)
    return build_model("fasterrcnn_small_fpn", 3, min_size=64, max_size=64)


def test_precise_batchnorm_averages_the_statistics_of_the_given_images_and_puts_the_rest_back():
    torch = pytest.importorskip("torch")
    from labeler.ml import recipe

    model = _small_detector()
    names = recipe.trained_batchnorms(model)
    assert "stem.0.1" in names and len(names) == 9  # each of the small backbone's nine convolutions has one
    model.train()
    images = [[torch.rand(3, 64, 64) for _ in range(2)], [torch.rand(3, 64, 64) * 0.5 for _ in range(2)]]
    norm = model.backbone.stem[0][1]
    norm.running_mean.fill_(7.0)  # what training's moving average left
    recipe.precise_batchnorm(model, names, images)
    assert model.training and norm.training and norm.momentum == 0.1
    # the first norm's statistics: the mean over the two batches of each batch's per-channel mean
    conv = model.backbone.stem[0][0]
    with torch.no_grad():
        means = [conv(model.transform(batch)[0].tensors).mean(dim=(0, 2, 3)) for batch in images]
    assert torch.allclose(norm.running_mean, (means[0] + means[1]) / 2, atol=1e-5)
    assert int(norm.num_batches_tracked) == 2


def test_precise_batchnorm_leaves_frozen_norms_and_weights_alone():
    torch = pytest.importorskip("torch")
    from labeler.ml import recipe

    model = _small_detector()
    recipe.freeze_batchnorm(model.backbone.stem)  # as a COCO start freezes the backbone's
    names = recipe.trained_batchnorms(model)
    assert not any(n.startswith("stem.") for n in names) and "stage8.0.1" in names
    frozen = {k: v.clone() for k, v in model.backbone.stem.state_dict().items()}
    weights = {k: v.clone() for k, v in model.state_dict().items() if "running" not in k and "num_batches" not in k}
    model.eval()
    recipe.precise_batchnorm(model, names, [[torch.rand(3, 64, 64)]])
    assert not model.training
    assert all(torch.equal(v, model.backbone.stem.state_dict()[k]) for k, v in frozen.items())
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in weights.items())
    assert not torch.equal(model.backbone.stage8[0][1].running_var, torch.ones_like(model.backbone.stage8[0][1].running_var))
    recipe.precise_batchnorm(model, [], [[torch.rand(3, 64, 64)]])  # nothing to do: no error
