"""What pre-labeling does after torchvision's NMS: one box per object, and the test-time flip."""

import pytest

pytest.importorskip("torch")

from labeler.ml.postprocess import fuse_flipped, one_box_per_object  # noqa: E402


def test_one_box_per_object_keeps_the_best_class_on_each_object():
    items = [
        (1, 0, 0, 10, 10, 0.6),    # second best on the first object: dropped (IoU 0.82 with the 0.9)
        (2, 0, 0, 10, 11, 0.9),
        (3, 30, 30, 40, 40, 0.4),  # alone: kept
        (1, 5, 0, 15, 10, 0.8),    # IoU 0.33 with the 0.9: a neighbour, kept
    ]
    assert one_box_per_object(items, 0.5) == [items[1], items[3], items[2]]
    assert one_box_per_object(items, 0.2) == [items[1], items[2]]
    assert one_box_per_object(items, 0.0) == items
    assert one_box_per_object(items, None) == items
    assert one_box_per_object(items[:1], 0.5) == items[:1]


def test_the_flip_fuses_twins_and_halves_what_the_mirror_does_not_confirm():
    items = [(1, 10, 10, 30, 30, 0.8), (2, 50, 50, 70, 70, 0.6), (1, 80, 0, 90, 10, 0.4)]
    mirrored = [
        (1, 12, 10, 32, 30, 0.4),  # the first box's twin, shifted 2 px: IoU 0.82
        (1, 50, 50, 70, 70, 0.9),  # on the second box, but another class: no twin
        (2, 0, 100, 10, 110, 0.9),  # only on the mirror: left out
    ]
    fused = fuse_flipped(items, mirrored)
    assert [f[0] for f in fused] == [1, 2, 1]
    (c, x1, y1, x2, y2, s) = fused[0]
    assert (x1, x2) == pytest.approx((10 + 2 * 0.4 / 1.2, 30 + 2 * 0.4 / 1.2))  # weighted by score
    assert (y1, y2, s) == pytest.approx((10, 30, 0.6))  # score: the mean of both
    assert fused[1] == pytest.approx((2, 50, 50, 70, 70, 0.3))  # unconfirmed: half its score
    assert fused[2] == pytest.approx((1, 80, 0, 90, 10, 0.2))
    assert fuse_flipped(items, []) == [(*it[:5], it[5] / 2) for it in items]
    assert fuse_flipped([], mirrored) == []
