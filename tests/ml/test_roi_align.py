"""labeler.ml.roi_align: torchvision's RoIAlign forward, a backward split by image across threads."""

import pytest

torch = pytest.importorskip("torch")

from collections import OrderedDict  # noqa: E402

from torchvision.ops import MultiScaleRoIAlign  # noqa: E402

from labeler.ml.models import build_model  # noqa: E402
from labeler.ml.roi_align import ParallelMultiScaleRoIAlign  # noqa: E402


def features_and_boxes(seed: int, images: int = 3):
    g = torch.Generator().manual_seed(seed)
    feats = OrderedDict((name, torch.randn(images, 8, 64 // s, 80 // s, generator=g).requires_grad_())
                        for name, s in (("0", 1), ("1", 2), ("2", 4)))
    boxes = []
    for i in range(images):
        xy = torch.rand(20, 2, generator=g) * torch.tensor([300.0, 230.0])
        wh = torch.rand(20, 2, generator=g) * 200 + 2
        boxes.append(torch.cat([xy, torch.minimum(xy + wh, torch.tensor([319.0, 255.0]))], 1))
    boxes[1] = boxes[1][:0] if images > 1 else boxes[1]  # an image without proposals
    return feats, boxes


@pytest.mark.parametrize("threads", [1, 2])
def test_forward_and_gradients_equal_torchvisions(threads):
    shapes = [(256, 320)] * 3
    kept = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for seed in range(3):
            feats, boxes = features_and_boxes(seed)
            theirs = MultiScaleRoIAlign(["0", "1", "2"], 7, 2)
            ours = ParallelMultiScaleRoIAlign.like(MultiScaleRoIAlign(["0", "1", "2"], 7, 2))
            a, b = theirs(feats, boxes, shapes), ours(feats, boxes, shapes)
            assert torch.equal(a, b)
            upstream = torch.randn_like(a)
            ga = torch.autograd.grad(a, list(feats.values()), upstream)
            gb = torch.autograd.grad(b, list(feats.values()), upstream)
            for x, y in zip(ga, gb):
                assert torch.allclose(x, y, atol=1e-5), (x - y).abs().max()
    finally:
        torch.set_num_threads(kept)


def test_every_built_model_uses_it_and_still_loads_torchvision_state_dicts():
    model = build_model("fasterrcnn_small_fpn", 4, min_size=64, max_size=96)
    assert isinstance(model.roi_heads.box_roi_pool, ParallelMultiScaleRoIAlign)
    coco_shaped = build_model("fasterrcnn_mobilenet_v3_large_320_fpn", 4)
    assert isinstance(coco_shaped.roi_heads.box_roi_pool, ParallelMultiScaleRoIAlign)
    import torchvision

    plain = torchvision.models.detection.fasterrcnn_mobilenet_v3_large_320_fpn(weights=None, weights_backbone=None,
                                                                               num_classes=4)
    assert coco_shaped.load_state_dict(plain.state_dict()) is not None  # the pooler holds no weights


def test_the_backward_threads_run_alone_and_leave_the_thread_count_as_it_was():
    """Each pool thread runs its own ops on one thread (no OpenMP team of its own spinning beside the
    convolutions'); the caller's count, and the count a thread started afterwards gets, stay as they were."""
    import threading

    from labeler.ml import roi_align

    kept = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        roi_align._executor(1)  # a fresh pool below: its threads start (and set themselves up) in this backward
        feats, boxes = features_and_boxes(0)
        pooled = ParallelMultiScaleRoIAlign.like(MultiScaleRoIAlign(["0", "1", "2"], 7, 2))(feats, boxes,
                                                                                             [(256, 320)] * 3)
        pooled.sum().backward()
        assert roi_align._pool_size == 2
        assert set(roi_align._executor(2).map(lambda _: torch.get_num_threads(), range(8))) == {1}
        assert torch.get_num_threads() == 2
        later = []
        thread = threading.Thread(target=lambda: later.append(torch.get_num_threads()))
        thread.start()
        thread.join()
        assert later == [2]
    finally:
        torch.set_num_threads(kept)
