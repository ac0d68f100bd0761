"""labeler.core.threshold: the review threshold a round's reviewed images argue for."""

import pytest

from labeler.core.threshold import DRAW_COST, suggest

DOG, CAT = 1, 2
KEPT = [(DOG, (0, 0, 10, 10)), (DOG, (20, 20, 30, 30))]
PREDS = [(DOG, (0, 0, 10, 10), 0.9),  # accepted as proposed: no correction instead of drawing K1
         (DOG, (60, 60, 70, 70), 0.6),  # over no kept box: a delete when shown
         (CAT, (20, 20, 30, 30), 0.4)]  # K2 at the wrong class: one re-class instead of drawing K2


def test_the_threshold_with_the_fewest_corrections_and_both_estimates():
    s = suggest([(KEPT, PREDS, 0.5)])
    # at 0.5: K2 drawn (2) + the false box deleted (1) = 3; from 0.65 to 0.9 only the right box shows: K2 drawn = 2;
    # the tie goes to the threshold nearest the one used; 0.4 cannot be judged, nothing was kept below 0.5 maybe
    assert (s.threshold, s.corrections_per_image, s.used_corrections_per_image) == (0.65, 2.0, 3.0)


def test_below_the_threshold_used_only_as_far_down_as_images_were_reviewed():
    s = suggest([(KEPT, PREDS, 0.3)])
    # at 0.3 to 0.4 every box shows: one delete, one re-class = 2, as at 0.65; the tie goes to 0.3, the one used
    assert (s.threshold, s.corrections_per_image, s.used_corrections_per_image) == (0.3, 2.0, 2.0)


def test_hiding_everything_costs_drawing_every_kept_box():
    s = suggest([(KEPT, [(DOG, (60, 60, 70, 70), 0.9)], 0.5)])
    assert s.threshold == 0.95 and s.corrections_per_image == 2 * DRAW_COST
    assert s.used_corrections_per_image == 2 * DRAW_COST + 1


def test_nothing_to_judge():
    assert suggest([]) is None
    assert suggest([([], [], 0.5)]) is None


def test_a_kept_box_is_matched_once_highest_score_first():
    two_over_one = [(DOG, (0, 0, 10, 10), 0.9), (DOG, (1, 1, 11, 11), 0.8)]
    s = suggest([([(DOG, (0, 0, 10, 10))], two_over_one, 0.5)])
    assert (s.threshold, s.corrections_per_image, s.used_corrections_per_image) == (0.85, 0.0, 1.0)
    assert suggest([([(DOG, (0, 0, 10, 10))], two_over_one, 0.5), ([], [], 0.9)]).corrections_per_image \
        == pytest.approx(0.0)
