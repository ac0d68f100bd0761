"""Issue 18's cheap levers: anchors fitted to a project's boxes, and mosaic augmentation."""

import random

import numpy as np
import pytest
from PIL import Image, ImageDraw

from labeler.ml.anchors import centred_iou, fit_anchors
from labeler.ml.mosaic import mosaic


def _anchor_shapes(fitted):
    # torchvision's AnchorGenerator: for size s and ratio r = h / w, h = s * sqrt(r), w = s / sqrt(r)
    return np.array([(s / np.sqrt(r), s * np.sqrt(r)) for s in fitted.sizes for r in fitted.aspect_ratios])


def test_fitted_anchors_cover_boxes_of_two_size_groups():
    rng = np.random.default_rng(1)
    small = [(0, 0, w, h) for w, h in rng.uniform(8, 14, (60, 2))]
    tall = [(5, 5, 5 + w, 5 + 3 * w) for w in rng.uniform(40, 60, 60)]
    fitted = fit_anchors(small + tall, k=4, seed=0)
    assert list(fitted.sizes) == sorted(fitted.sizes)
    assert fitted.sizes[0] < 15 and fitted.sizes[-1] > 60  # both groups have their own anchors
    wh = np.array([(x2 - x1, y2 - y1) for x1, y1, x2, y2 in small + tall])
    best = centred_iou(wh, _anchor_shapes(fitted)).max(axis=1)
    assert best.min() >= 0.5, f"a box matches no anchor: IoU {best.min():.2f}"
    assert fitted.mean_best_iou >= 0.7
    assert any(r >= 2.5 for r in fitted.aspect_ratios)  # the tall boxes' ratio (3) is found


def test_fit_anchors_refuses_no_boxes_and_handles_fewer_sizes_than_k():
    with pytest.raises(ValueError, match="no boxes"):
        fit_anchors([(0, 0, 0, 5)])
    fitted = fit_anchors([(0, 0, 10, 10)] * 3, k=5)
    assert fitted.sizes == (10.0,) and fitted.aspect_ratios == (1.0,)


def _scene(seed, w, h, n):
    """A black image with `n` filled rectangles of distinct colours; label k is colour k."""
    rng = random.Random(seed)
    img = Image.new("RGB", (w, h), (0, 0, 0))
    d = ImageDraw.Draw(img)
    boxes, labels = [], []
    for k in range(n):
        x1, y1 = rng.randint(0, w - 12), rng.randint(0, h - 12)
        x2, y2 = min(w, x1 + rng.randint(8, 40)), min(h, y1 + rng.randint(8, 40))
        label = seed * 10 + k + 1
        d.rectangle((x1, y1, x2 - 1, y2 - 1), fill=(label, 255 - label, 200))
        boxes.append((x1, y1, x2, y2))
        labels.append(label)
    return np.asarray(img), boxes, labels


def _overlap_free(scene):
    # keep only rectangles no later one covers, so each colour's pixels are its whole shape
    img, boxes, labels = scene
    keep = [k for k, b in enumerate(boxes) if not any(
        min(b[2], c[2]) > max(b[0], c[0]) and min(b[3], c[3]) > max(b[1], c[1]) for c in boxes[k + 1:])]
    return img, [boxes[k] for k in keep], [labels[k] for k in keep]


@pytest.mark.parametrize("seed", range(6))
def test_mosaic_keeps_each_box_on_its_shape(seed):
    scenes = [_overlap_free(_scene(seed * 4 + q, 160 + 10 * q, 120 - 5 * q, 8)) for q in range(4)]
    result = mosaic([s[0] for s in scenes], [s[1] for s in scenes], [s[2] for s in scenes], (200, 150),
                    random.Random(seed))
    assert result.image.shape == (150, 200, 3)
    assert len(result.boxes) + result.dropped == sum(len(s[1]) for s in scenes)
    assert len(result.boxes) > 0
    for (x1, y1, x2, y2), label in zip(result.boxes, result.labels):
        ys, xs = np.nonzero((result.image[..., 0] == label) & (result.image[..., 1] == 255 - label))
        assert len(xs), f"box {label} has no pixels of its shape"
        # the box is exactly the visible part of its rectangle
        assert (x1, y1, x2, y2) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    # a shape whose box was dropped shows at most a sliver of itself
    kept = set(result.labels)
    for _, bxs, lbs in scenes:
        for (x1, y1, x2, y2), label in zip(bxs, lbs):
            if label not in kept:
                shown = np.count_nonzero((result.image[..., 0] == label) & (result.image[..., 1] == 255 - label))
                assert shown < 0.25 * (x2 - x1) * (y2 - y1)


def test_mosaic_refuses_wrong_counts():
    img = np.zeros((10, 10, 3), np.uint8)
    with pytest.raises(ValueError, match="4 images"):
        mosaic([img] * 3, [[]] * 3, [[]] * 3, (20, 20), random.Random(0))
    with pytest.raises(ValueError, match="2 boxes but 1 labels"):
        mosaic([img] * 4, [[(0, 0, 5, 5)] * 2, [], [], []], [[1], [], [], []], (20, 20), random.Random(0))


class _Scenes:
    """DetectionData's load() over colour-coded scenes of different sizes."""

    def __init__(self, scenes):
        import torch

        self.items = [(torch.from_numpy(img.copy()).permute(2, 0, 1).contiguous(),
                       torch.tensor(b, dtype=torch.float32).reshape(-1, 4), torch.tensor(lab), 1.0)
                      for img, b, lab in scenes]

    def __len__(self):
        return len(self.items)

    def load(self, i):
        return self.items[i]


def test_training_mosaics_keep_each_box_on_its_shape_and_the_image_size():
    from labeler.ml.dataset import Augmenter, load_maybe_mosaic

    data = _Scenes([_overlap_free(_scene(s, 160 + 20 * (s % 3), 120 + 10 * (s % 2), 8)) for s in range(6)])
    aug = Augmenter(("mosaic", "hflip"))
    mosaics = 0
    for seed in range(20):
        index = seed % len(data)
        pixels, boxes, labels = load_maybe_mosaic(data, index, aug, random.Random(seed))
        assert tuple(pixels.shape) == tuple(data.load(index)[0].shape)  # orientation kept for the batches
        mosaics += not torch_equal(pixels, data.load(index)[0])
        img = pixels.permute(1, 2, 0).numpy()
        for (x1, y1, x2, y2), label in zip(boxes.tolist(), labels.tolist()):
            # a scene can be drawn twice: look at the box and the ring of pixels around it
            x1, y1, x2, y2 = map(int, (x1, y1, x2, y2))
            ox, oy = max(0, x1 - 1), max(0, y1 - 1)
            near = img[oy:y2 + 1, ox:x2 + 1]
            ys, xs = np.nonzero((near[..., 0] == label) & (near[..., 1] == 255 - label))
            assert (x1, y1, x2, y2) == (xs.min() + ox, ys.min() + oy, xs.max() + 1 + ox, ys.max() + 1 + oy)
    assert 4 <= mosaics <= 16  # about MOSAIC_SHARE of them
    plain = Augmenter(("hflip",))
    rng = random.Random(5)
    assert load_maybe_mosaic(data, 2, plain, rng)[0] is data.load(2)[0]
    assert rng.random() == random.Random(5).random()  # without mosaic, nothing drawn


def torch_equal(a, b):
    import torch

    return a.shape == b.shape and torch.equal(a, b)
