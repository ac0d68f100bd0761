"""The informativeness candidates, the score stored at pre-label / import time, and the indexed
"next most informative" query."""

import pytest

from labeler.core import informativeness as I
from labeler.core.review import image_informativeness, next_informative, review_queue
from labeler.core.store import Project


def test_score_candidates_rank_borderline_before_sure():
    sure, unsure = [0.99, 0.98], [0.55]
    for name in ("near_threshold", "least_confidence", "mean_uncertainty", "entropy"):
        f = I.SCORE_CANDIDATES[name]
        assert f(unsure, 0.5) > f(sure, 0.5), name
    assert I.entropy([0.5], 0.5) == pytest.approx(1.0)
    assert I.near_threshold([0.5, 0.75, 1.0], 0.5) == pytest.approx(1.0 + 0.5 + 0.0)
    assert I.least_confidence([], 0.5) == 1.0 and I.box_count([0.9, 0.6], 0.5) == 2.0


def test_flip_disagreement_counts_shifted_and_unmatched_boxes():
    box = (1, 10.0, 10.0, 30.0, 30.0, 0.9)
    assert I.flip_disagreement([box], [box]) == 0.0
    assert I.flip_disagreement([], []) == 0.0
    shifted = (1, 12.0, 10.0, 32.0, 30.0, 0.8)  # IoU 18*20 / (2*400 - 360) = 0.818...
    assert I.flip_disagreement([box], [shifted]) == pytest.approx(1 - 360 / 440)
    other_class = (2, 10.0, 10.0, 30.0, 30.0, 0.8)
    assert I.flip_disagreement([box], [other_class]) == 2.0  # neither matches: two unmatched
    # mirror maps a box found on the flipped image back (x -> width - x)
    assert I.mirror([(1, 0.0, 5.0, 10.0, 15.0, 0.7)], 100) == [(1, 90.0, 5.0, 100.0, 15.0, 0.7)]


def test_flip_formula_without_a_second_pass_falls_back_to_scores():
    assert I.informativeness([0.6], 0.5, formula="flip", flip=2.5) == 2.5
    assert I.informativeness([0.6], 0.5, formula="flip") == I.informativeness([0.6], 0.5, formula=I.FALLBACK)
    with pytest.raises(ValueError, match="Unknown informativeness formula 'nope'"):
        I.informativeness([0.6], 0.5, formula="nope")


def _project(tmp_path, names):
    p = Project.open(tmp_path)
    p.add_image_records([(n, 64, 48) for n in names])
    return p, p.add_category("dog").id, {n: p.image_by_path(n).id for n in names}


def test_stored_at_prelabel_time_given_or_from_scores(tmp_path):
    p, dog, ids = _project(tmp_path, ["a.jpg", "b.jpg", "c.jpg"])
    with p:
        p.replace_predictions(ids["a.jpg"], [(dog, 0, 0, 9, 9, 0.6)], model="coco:m")
        p.replace_predictions(ids["b.jpg"], [(dog, 0, 0, 9, 9, 0.6)], model="coco:m", informativeness=3.25)
        assert image_informativeness(p, ids["a.jpg"]) == pytest.approx(I.informativeness([0.6], 0.5))
        assert image_informativeness(p, ids["b.jpg"]) == 3.25  # as pre-labeling computed it
        assert image_informativeness(p, ids["c.jpg"]) is None  # never pre-labeled
        p.replace_predictions(ids["a.jpg"], [], model="coco:m")  # a rerun that found nothing
        assert image_informativeness(p, ids["a.jpg"]) == I.informativeness([], 0.5)


def test_next_informative_matches_the_queue_and_skips_the_image_shown(tmp_path):
    names = ["a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg", "f.jpg"]
    p, dog, ids = _project(tmp_path, names)
    with p:
        for name, score in (("a.jpg", 1.0), ("b.jpg", 3.0), ("c.jpg", 3.0), ("d.jpg", 5.0)):
            p.replace_predictions(ids[name], [(dog, 0, 0, 9, 9, 0.7)], model="m", informativeness=score)
        p.set_reviewed(ids["d.jpg"])
        queue = [im.id for im in review_queue(p, "informative")]
        assert queue == [ids[n] for n in ("b.jpg", "c.jpg", "a.jpg", "e.jpg", "f.jpg")]
        assert next_informative(p) == queue[0]
        assert next_informative(p, exclude=ids["b.jpg"]) == ids["c.jpg"]  # ties by path
        for n in ("b.jpg", "c.jpg", "a.jpg"):
            p.set_reviewed(ids[n])
        assert next_informative(p) == ids["e.jpg"]  # then those not pre-labeled, in path order
        assert next_informative(p, exclude=ids["e.jpg"]) == ids["f.jpg"]
        p.set_reviewed(ids["e.jpg"])
        assert next_informative(p, exclude=ids["f.jpg"]) is None


@pytest.mark.parametrize("order", ["file", "random", "informative"])
def test_next_to_review_walks_the_queue_in_its_order(tmp_path, order):
    from labeler.core.review import next_to_review

    names = [f"im_{k:02d}.jpg" for k in range(12)]
    p, dog, ids = _project(tmp_path, names)
    with p:
        for k, name in enumerate(names[:8]):
            p.replace_predictions(ids[name], [(dog, 0, 0, 9, 9, 0.7)], model="m", informativeness=float(k % 3))
        p.set_reviewed(ids["im_04.jpg"])
        queue = [im.id for im in review_queue(p, order)]
        if order == "informative":  # always the top of what is left
            walked, current = [], None
            while (current := next_to_review(p, current, order)) is not None:
                walked.append(current)
                p.set_reviewed(current)
            assert walked == queue
            return
        walked, current = [], None
        for _ in queue:
            current = next_to_review(p, current, order)
            walked.append(current)
        assert walked == queue  # nothing reviewed meanwhile: each next one in turn
        assert next_to_review(p, current, order) == queue[0]  # wraps around
        assert next_to_review(p, ids["im_04.jpg"], order) in queue  # from a reviewed image too
        for i in queue[1:]:
            p.set_reviewed(i)
        assert next_to_review(p, queue[0], order) is None  # only the one shown is left
