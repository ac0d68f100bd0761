"""Training data: the split, the snapshot, augmentations that move boxes with the pixels, batching."""

from __future__ import annotations

import random

import pytest

torch = pytest.importorskip("torch")

from labeler.core.store import Project  # noqa: E402
from labeler.ml.dataset import (Augmenter, DetectionData, GroupedBatches, Sample, snapshot, split_of,  # noqa: E402
                                split_samples)

from tests.ml.train_fixtures import make_project  # noqa: E402


def sample(path: str, w=40, h=30) -> Sample:
    return Sample(path, path, w, h, (), ())


def test_split_is_stable_and_keeps_one_image_on_each_side():
    paths = [f"dir/img_{i}.jpg" for i in range(200)]
    first = [split_of(p) for p in paths]
    assert first == [split_of(p) for p in paths]  # the same every time (no salted hash)
    assert 20 < first.count("val") < 60
    assert split_of("a\\b.jpg") == split_of("a/b.jpg")
    assert [split_of(p, 0.5) == "val" for p in paths].count(True) > first.count("val")
    for n in (2, 3):
        train, val = split_samples([sample(f"x{i}.png") for i in range(n)], 0.2)
        assert len(val) >= 1 and len(train) >= 1 and len(train) + len(val) == n
    train, val = split_samples([sample(f"x{i}.png") for i in range(5)], 0.999)
    assert len(train) == 1 and len(val) == 4


def test_snapshot_takes_reviewed_images_and_their_kept_boxes(tmp_path):
    root = make_project(tmp_path / "p", n_images=4, reviewed=3)
    with Project.open(root) as p:
        im = p.images()[0]
        cat = p.categories()[1]
        p.add_box(im.id, cat.id, 1, 1, 9, 9, state="predicted")  # not confirmed by a person: left out
        classes, samples, dropped = snapshot(p)
        p.delete_boxes([b.id for b in p.boxes(im.id)])  # edits after the snapshot do not change it
    assert classes == ["red", "blue"] and len(samples) == 3 and dropped == 0
    assert samples[0].labels == (1, 2) and len(samples[0].boxes) == 2
    assert samples[0].path == "img_0.png" and samples[0].file.endswith("img_0.png")


def test_snapshot_leaves_crowd_regions_out_but_trains_difficult_boxes(tmp_path):
    """A COCO crowd region is not an object (torchvision's COCO reference drops it from targets),
    and an image whose only boxes are crowd regions is no negative either; a VOC difficult box
    trains like any other."""
    from labeler.core.records import CROWD, DIFFICULT

    root = make_project(tmp_path / "p", n_images=3, boxes=False)
    with Project.open(root) as p:
        first, second, third = p.images()
        red = p.categories()[0]
        p.add_boxes(first.id, [(red.id, 1, 1, 9, 9, None, CROWD), (red.id, 10, 10, 20, 20, None, DIFFICULT)])
        p.add_boxes(second.id, [(red.id, 1, 1, 30, 30, None, CROWD)])
        _classes, samples, _dropped = snapshot(p)
    assert [(s.path, s.boxes) for s in samples] == [
        (first.path, ((10.0, 10.0, 20.0, 20.0),)),  # the difficult box; the crowd region is gone
        (third.path, ()),  # a reviewed negative stays one
    ]


def marked(h=30, w=40, box=(5, 8, 15, 12)):
    """A black image with one white rectangle and its box."""
    img = torch.zeros(3, h, w, dtype=torch.uint8)
    x1, y1, x2, y2 = box
    img[:, y1:y2, x1:x2] = 255
    return img, torch.tensor([box], dtype=torch.float32), torch.tensor([1])


def white_extent(img):
    ys, xs = torch.nonzero(img[0] > 0.5, as_tuple=True)
    return [xs.min().item(), ys.min().item(), xs.max().item() + 1, ys.max().item() + 1]


@pytest.mark.parametrize("augment, turns", [(("hflip",), 0), (("vflip",), 0), ((), 1), ((), 2), ((), 3),
                                            (("hflip", "vflip", "zoom"), 1), (("zoom",), 0)])
def test_boxes_move_with_the_pixels(augment, turns):
    aug = Augmenter(augment)
    for seed in range(12):
        img, boxes, labels = marked()
        out, target = aug(img, boxes, labels, turns, random.Random(seed))
        assert out.dtype == torch.float32 and out.shape[0] == 3
        if turns % 2:
            assert out.shape[1:] == (40, 30) or "zoom" in augment
        if len(target["boxes"]):
            assert target["boxes"][0].tolist() == white_extent(out)
            assert target["labels"].tolist() == [1]


def test_colour_jitter_keeps_the_range_and_boxes():
    img, boxes, labels = marked()
    out, target = Augmenter(("color",))(img, boxes, labels, 0, random.Random(3))
    assert 0.0 <= out.min() and out.max() <= 1.0 and torch.equal(target["boxes"], boxes)


def test_batches_group_orientation_and_shard_evenly():
    samples = [sample(f"l{i}.png", 40, 30) for i in range(5)] + [sample(f"p{i}.png", 30, 40) for i in range(4)]
    data = DetectionData(samples, max_side=64)
    for world in (1, 2):
        per_rank = [GroupedBatches(data, 2, turns=True, repeat=2, rank=r, world_size=world).batches(3, seed=1)
                    for r in range(world)]
        assert len({len(b) for b in per_rank}) == 1  # every rank runs as many iterations
        assert len(per_rank[0]) == len(GroupedBatches(data, 2, turns=True, repeat=2, world_size=world))
        for batch in (b for rank in per_rank for b in rank):
            landscape = {data.landscape(i) != (t % 2 == 1) for i, t, _ in batch}
            assert len(landscape) == 1  # one orientation after turning: little padding
    one = GroupedBatches(data, 2, turns=False).batches(0, seed=1)
    assert one == GroupedBatches(data, 2, turns=False).batches(0, seed=1)
    assert one != GroupedBatches(data, 2, turns=False).batches(1, seed=1)


def _color_jitter_step_by_step(img, rng: random.Random):
    """The jitter as written in the first place (float image in [0, 1]): the reference."""
    from labeler.ml.dataset import GRAY_WEIGHTS, _color_factors

    b, c, s = _color_factors(rng)
    gray = img.mul(img.new_tensor(GRAY_WEIGHTS).view(3, 1, 1)).sum(0, keepdim=True)
    img = gray + (img - gray) * s  # saturation
    mean = gray.mean()
    img = (img - mean) * c + mean * b  # contrast about the mean, then brightness
    return img.clamp_(0.0, 1.0)


def test_one_pass_colour_jitter_equals_the_step_by_step_one():
    from labeler.ml.dataset import _color_jitter_uint8

    g = torch.Generator().manual_seed(1)
    pixels = torch.randint(0, 256, (3, 37, 53), dtype=torch.uint8, generator=g)
    for seed in range(20):
        fast = _color_jitter_uint8(pixels, random.Random(seed))
        slow = _color_jitter_step_by_step(pixels.float() / 255.0, random.Random(seed))
        assert fast.dtype == torch.float32 and fast.shape == (3, 37, 53)
        assert torch.allclose(fast, slow, atol=1e-5), (seed, (fast - slow).abs().max())
