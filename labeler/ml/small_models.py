"""A small Faster R-CNN that trains from scratch on a CPU in minutes.

It is torchvision's FasterRCNN class with a small backbone: eight 3x3 convolutions with batch norm
(strides 4 to 32), a feature pyramid over the stride-8, -16 and -32 maps, anchors from 16 to 160
pixels (the sizes of objects in photos of a few hundred pixels), fewer RPN proposals and a narrow
box head. The torchvision builders (ResNet-50, MobileNetV3) are made for COCO weights and spend most
of their time on features a few dozen training images cannot teach; this model does ~10x fewer
multiply-adds per image, so it sees many more augmented images per minute.

`build_small_fasterrcnn` takes the same keyword arguments as torchvision's builders, so
labeler.ml.models.build_model (and pre-labeling, which rebuilds a checkpoint's model from its
metadata) treats it like any other architecture.
"""

from __future__ import annotations

#: (out_channels, stride) of each backbone stage; the last three feed the feature pyramid
STAGES = ((32, 4), (64, 8), (128, 16), (192, 32))
FPN_CHANNELS = 64
ANCHOR_SIZES = ((16, 28), (44, 72), (108, 168))  # one tuple per pyramid level (strides 8, 16, 32)
ANCHOR_STRIDES = (8, 16, 32)
ASPECT_RATIOS = (0.5, 1.0, 2.0)


def _conv(cin: int, cout: int, stride: int):
    import torch.nn as nn

    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def _backbone():
    """Conv stages returning the stride-8/16/32 maps through a small FPN."""
    from collections import OrderedDict

    import torch.nn as nn
    from torchvision.ops.feature_pyramid_network import FeaturePyramidNetwork

    class SmallBackbone(nn.Module):
        def __init__(self):
            super().__init__()
            (c4, _), (c8, _), (c16, _), (c32, _) = STAGES
            self.stem = nn.Sequential(_conv(3, 16, 2), _conv(16, c4, 2), _conv(c4, c4, 1))
            self.stage8 = nn.Sequential(_conv(c4, c8, 2), _conv(c8, c8, 1))
            self.stage16 = nn.Sequential(_conv(c8, c16, 2), _conv(c16, c16, 1))
            self.stage32 = nn.Sequential(_conv(c16, c32, 2), _conv(c32, c32, 1))
            self.fpn = FeaturePyramidNetwork([c8, c16, c32], FPN_CHANNELS)
            self.out_channels = FPN_CHANNELS
            for m in self.modules():
                if isinstance(m, nn.Conv2d) and m not in set(self.fpn.modules()):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

        def forward(self, x):
            x = self.stem(x)
            f8 = self.stage8(x)
            f16 = self.stage16(f8)
            f32 = self.stage32(f16)
            return self.fpn(OrderedDict([("0", f8), ("1", f16), ("2", f32)]))

    return SmallBackbone()


def build_small_fasterrcnn(*, num_classes: int, min_size: int, max_size: int, box_score_thresh: float = 0.05,
                           box_nms_thresh: float = 0.5, box_detections_per_img: int = 100,
                           weights=None, weights_backbone=None, trainable_backbone_layers=None,
                           anchor_sizes=None):
    """torchvision FasterRCNN with the small backbone. There are no pretrained weights for it:
    `weights` and `weights_backbone` must be None (they are accepted to match torchvision's builders).
    `anchor_sizes`: per pyramid level, as many sizes as ANCHOR_SIZES has (labeler.ml.anchors fits
    them to a project's boxes); None: ANCHOR_SIZES."""
    from torchvision.models.detection import FasterRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.ops import MultiScaleRoIAlign

    if weights is not None or weights_backbone is not None:
        raise ValueError("the small Faster R-CNN has no pretrained weights")
    sizes = ANCHOR_SIZES if anchor_sizes is None else tuple(tuple(float(s) for s in level) for level in anchor_sizes)
    if len(sizes) != len(ANCHOR_SIZES) or any(len(a) != len(b) or min(a) <= 0 for a, b in zip(sizes, ANCHOR_SIZES)):
        raise ValueError(f"anchor sizes must be {len(ANCHOR_SIZES)} levels of {len(ANCHOR_SIZES[0])} positive sizes, "
                         f"not {anchor_sizes!r}")
    anchors = AnchorGenerator(sizes, (ASPECT_RATIOS,) * len(sizes))
    # one bilinear sample per output bin: the RoIs here span 2-20 cells of the stride-8 map, so 2x2
    # samples per bin (torchvision's default) add little, and RoIAlign's backward was the largest op
    # after the convolutions (15 % of a step; 15 epochs of the demo took 4.1 min instead of 4.9, with the
    # same mAP on 160 held-out scenes: 0.19 against 0.20)
    roi_pool = MultiScaleRoIAlign(["0", "1", "2"], output_size=7, sampling_ratio=1)
    representation = 256
    model = FasterRCNN(
        _backbone(), num_classes=None,
        min_size=min_size, max_size=max_size,
        rpn_anchor_generator=anchors,
        rpn_pre_nms_top_n_train=600, rpn_post_nms_top_n_train=300,
        rpn_pre_nms_top_n_test=300, rpn_post_nms_top_n_test=100,
        rpn_batch_size_per_image=128,
        box_roi_pool=roi_pool,
        box_head=TwoMLPHead(FPN_CHANNELS * 7 * 7, representation),
        box_predictor=FastRCNNPredictor(representation, num_classes),
        box_batch_size_per_image=128,
        box_score_thresh=box_score_thresh, box_nms_thresh=box_nms_thresh,
        box_detections_per_img=box_detections_per_img,
    )
    return model
