import math

import pytest

from labeler.core.geometry import clip_box


def test_a_box_inside_the_image_is_kept_as_it_is():
    assert clip_box(1, 2, 30, 40, 100, 50) == (1.0, 2.0, 30.0, 40.0)


def test_corners_are_put_in_order_and_clipped_to_the_image():
    assert clip_box(120, 60, -5, 10, 100, 50) == (0.0, 10.0, 100.0, 50.0)


@pytest.mark.parametrize("box", [(10, 10, 10.5, 30), (10, 10, 30, 10.99), (-20, 0, -1, 10), (0, 60, 10, 80),
                                 (math.nan, 0, 10, 10)])
def test_what_is_less_than_a_pixel_inside_the_image_is_refused(box):
    assert clip_box(*box, 100, 50) is None


def test_an_unknown_size_clips_nothing():
    assert clip_box(-5, -5, 500, 500, 0, 0) == (-5.0, -5.0, 500.0, 500.0)
