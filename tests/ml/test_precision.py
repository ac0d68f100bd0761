"""bfloat16 training on a CPU (labeler.ml.precision): which parts compute in bfloat16, and when."""

from __future__ import annotations

import copy

import pytest

torch = pytest.importorskip("torch")

from labeler.ml import plan as plan_mod  # noqa: E402
from labeler.ml import precision  # noqa: E402
from labeler.ml.models import build_model  # noqa: E402


def _model():
    torch.manual_seed(0)
    return build_model("fasterrcnn_small_fpn", 3, min_size=64, max_size=64)


def _batch():
    images = [torch.rand(3, 64, 64), torch.rand(3, 64, 48)]
    targets = [{"boxes": torch.tensor([[4.0, 6.0, 30.0, 28.0]]), "labels": torch.tensor([1])},
               {"boxes": torch.tensor([[10.0, 10.0, 40.0, 44.0], [2.0, 2.0, 12.0, 14.0]]), "labels": torch.tensor([2, 1])}]
    return images, targets


def _dtypes_seen(model):
    """dtype of the output of every Conv2d and Linear in the model, and of each part's output, per forward."""
    seen = {}

    def record(name):
        def hook(_module, _inputs, output):
            first = output if isinstance(output, torch.Tensor) else next(
                v for v in (output.values() if isinstance(output, dict) else output) if isinstance(v, torch.Tensor)
                or isinstance(v, list))
            if isinstance(first, list):
                first = first[0]
            seen.setdefault(name, set()).add(first.dtype)
        return hook

    for name, module in model.named_modules():
        if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
            module.register_forward_hook(record(name))
    for label, part in (("backbone out", model.backbone), ("rpn head out", model.rpn.head),
                        ("box head out", model.roi_heads.box_head)):
        part.register_forward_hook(record(label))
    return seen


def test_training_computes_the_heavy_parts_in_bf16_and_hands_float32_on():
    model = _model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    changed = precision.train_cpu_bf16(model)
    assert changed == [model.backbone, model.rpn.head, model.roi_heads.box_head]
    assert model.state_dict().keys() == before.keys()
    seen = _dtypes_seen(model)
    model.train()
    losses = model(*_batch())
    assert all(v.dtype == torch.float32 and torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    assert seen["backbone.stem.0.0"] == {torch.bfloat16}
    assert seen["rpn.head.conv.0.0"] == {torch.bfloat16}
    assert seen["roi_heads.box_head.fc7"] == {torch.bfloat16}
    # the class and box predictor, and what each part hands on, stay in float32
    assert seen["roi_heads.box_predictor.bbox_pred"] == {torch.float32}
    for part in ("backbone out", "rpn head out", "box head out"):
        assert seen[part] == {torch.float32}, part
    # the weights (the optimiser's copy) and their gradients stay float32
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert all(p.grad is None or p.grad.dtype == torch.float32 for p in model.parameters())


def test_evaluation_stays_in_float32_and_matches_an_unwrapped_model():
    plain, wrapped = _model(), _model()
    precision.train_cpu_bf16(wrapped)
    seen = _dtypes_seen(wrapped)
    plain.eval()
    wrapped.eval()
    images, _ = _batch()
    with torch.no_grad():
        a, b = plain(images), wrapped(images)
    assert seen["backbone.stem.0.0"] == {torch.float32}
    for x, y in zip(a, b):
        assert torch.equal(x["boxes"], y["boxes"]) and torch.equal(x["scores"], y["scores"])


def test_a_deep_copy_computes_in_bf16_with_its_own_weights():
    model = _model()
    precision.train_cpu_bf16(model)
    twin = copy.deepcopy(model)
    assert twin.backbone.forward.__self__ is twin.backbone
    seen = _dtypes_seen(twin)
    twin.train()
    twin(*_batch())
    assert seen["backbone.stem.0.0"] == {torch.bfloat16}


@pytest.mark.parametrize("asked, device, native, expected", [
    (True, "cpu", True, True),
    (True, "cpu", False, False),  # emulated bfloat16 is slower than float32: not used
    (False, "cpu", True, False),
    (True, "cuda", False, True),  # float16 autocast, whatever the CPU
    (False, "cuda", True, False),
    (True, "mps", True, False),
])
def test_mixed_precision_is_used_where_it_pays(monkeypatch, asked, device, native, expected):
    monkeypatch.setattr(precision, "native_cpu_bf16", lambda: native)
    assert plan_mod._amp(asked, torch.device(device)) is expected


def test_native_bf16_reads_the_cpu_probes(monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    assert precision.native_cpu_bf16() is False
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True, raising=False)
    assert precision.native_cpu_bf16() is True


@pytest.mark.parametrize("name", ["fasterrcnn_mobilenet_v3_large_320_fpn", "fasterrcnn_resnet50_fpn_v2"])
def test_the_coco_architectures_train_a_step_in_bf16_too(name):
    torch.manual_seed(0)
    model = build_model(name, 3, min_size=64, max_size=64)
    precision.train_cpu_bf16(model)
    model.train()
    losses = model(*_batch())
    assert all(v.dtype == torch.float32 and torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in model.parameters())
