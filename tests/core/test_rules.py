"""Each domain rule tested once, directly: image status and needs_review, the threshold that hides
predictions, the ground-truth query, and the validation split."""

import pytest

from labeler.core.records import (ACCEPTED, HUMAN, IMAGE_STATUSES, IN_PROGRESS, MISSING, PREDICTED, PRELABELED,
                                  REVIEWED, UNLABELED, UNREADABLE, Box, ImageRecord)
from labeler.core.split import split_of, validation_paths
from labeler.core.truth import ground_truth, trains_on


def record(**kw):
    base = dict(id=1, path="a.jpg", width=64, height=48, error=None, missing=False, reviewed=False)
    base.update(kw)
    return ImageRecord(**base)


@pytest.mark.parametrize("kw, status, needs", [
    ({}, UNLABELED, True),
    ({"box_count": 2, "predicted_count": 1}, PRELABELED, True),
    ({"box_count": 2}, IN_PROGRESS, True),  # only people's boxes: not "predicted"
    ({"box_count": 2, "predicted_count": 2, "reviewed": True}, REVIEWED, False),
    ({"error": "cannot identify image file", "width": 0, "height": 0}, UNREADABLE, False),
    ({"missing": True, "reviewed": True, "box_count": 1}, MISSING, False),
])
def test_image_status_and_needs_review(kw, status, needs):
    r = record(**kw)
    assert r.status == status and r.needs_review is needs
    assert status in IMAGE_STATUSES


def test_image_statuses_never_share_a_word_with_box_states():
    assert not set(IMAGE_STATUSES) & {PREDICTED, ACCEPTED, HUMAN}


def test_hidden_at_hides_only_predictions_below_the_threshold():
    def box(state, score):
        return Box(1, 1, 1, 0, 0, 5, 5, score=score, state=state)
    assert box(PREDICTED, 0.3).hidden_at(0.5)
    assert not box(PREDICTED, 0.5).hidden_at(0.5)  # at the threshold it shows
    assert not box(PREDICTED, None).hidden_at(0.99)  # no score counts as certain
    assert not box(ACCEPTED, 0.1).hidden_at(0.5)
    assert not box(HUMAN, None).hidden_at(1.0)


def test_ground_truth_is_accepted_and_human_boxes_on_reviewed_usable_images(project):
    cat = project.add_category("dog")
    ims = {im.path: im for im in project.images()}
    a, b, rot = ims["a.jpg"], ims["sub/b.PNG"], ims["rot.JPEG"]
    human = project.add_box(a.id, cat.id, 1, 1, 20, 20)
    accepted = project.add_box(a.id, cat.id, 5, 5, 30, 30, state=ACCEPTED, score=0.9)
    project.add_box(a.id, cat.id, 2, 2, 9, 9, state=PREDICTED, score=0.95)  # never ground truth
    project.add_box(rot.id, cat.id, 1, 1, 9, 9)  # rot is not reviewed
    project.set_reviewed([a.id, b.id, ims["broken.jpg"].id])
    truth = ground_truth(project)
    assert [(im.path, [x.id for x in boxes]) for im, boxes in truth.images] == [
        ("a.jpg", [human.id, accepted.id]), ("sub/b.PNG", [])]  # b: a negative; broken: unusable
    assert truth.unreviewed == 1 and truth.dropped == 0 and truth.box_count == 2
    assert [im.path for im in project.images() if trains_on(im)] == ["a.jpg", "sub/b.PNG"]
    every = ground_truth(project, all_images=True)
    assert [im.path for im, _b in every.images] == ["a.jpg", "rot.JPEG", "sub/b.PNG"] and every.unreviewed == 0


def test_ground_truth_drops_what_clip_box_refuses(project):
    cat = project.add_category("dog")
    a = next(im for im in project.images() if im.path == "a.jpg")
    box = project.add_box(a.id, cat.id, 1, 1, 20, 20)
    project.set_reviewed(a.id)
    # a box stored before the rule (or by an older version) with a sub-pixel side
    project.update_boxes([Box(box.id, a.id, cat.id, 3, 3, 3.5, 20, state=HUMAN)])
    truth = ground_truth(project)
    assert truth.images[0][1] == [] and truth.dropped == 1


def test_the_stores_fit_test_agrees_with_clip_box(project):
    """ground_truth skips clip_box for boxes the query says fit: the query and clip_box must agree."""
    from labeler.core.geometry import clip_box

    cat = project.add_category("dog")
    a = next(im for im in project.images() if im.path == "a.jpg")
    w, h = a.width, a.height
    box = project.add_box(a.id, cat.id, 1, 1, 20, 20)
    edges = [0.0, 0.5, 1.0, 1.5, w - 1.0, w - 0.5, float(w), w + 0.5, -0.5, 3.0, 3.999, 4.0]
    rects = [(x1, y1, x2, y2) for x1 in edges for x2 in edges
             for (y1, y2) in ((0.0, float(h)), (2.0, 2.5), (h - 1.0, h + 1.0))]
    rects += [(5.0, 9.0, 3.0, 1.0), (0.0, 0.0, 1.0, 1.0), (w - 1.0, h - 1.0, float(w), float(h))]
    fits = 0
    for r in rects:  # raw rows, as a store written before the rule (or by another tool) may hold them
        project.update_boxes([Box(box.id, a.id, cat.id, *r, state=HUMAN)])
        (row,) = project.box_rows_with_fit((HUMAN,))
        assert bool(row[7]) == (clip_box(*r, w, h) == r), r
        fits += bool(row[7])
    assert 0 < fits < len(rects)  # both answers were seen


def test_validation_split_is_stable_and_keeps_one_image_each_side():
    paths = [f"img_{i:03d}.jpg" for i in range(200)]
    val = validation_paths(paths)
    assert val == {p for p in paths if split_of(p) == "val"}  # no boundary move needed here
    assert 20 < len(val) < 60
    assert validation_paths(reversed(paths)) == val  # order does not matter
    assert split_of("a\\b.jpg") == split_of("a/b.jpg")
    two = [p for p in paths if split_of(p) == "train"][:2]
    assert len(validation_paths(two)) == 1  # both would train: the one nearest the boundary validates
    assert len(validation_paths(paths[:3], 0.999)) == 2  # all would validate: one trains
    assert validation_paths(paths[:1]) <= set(paths[:1]) and validation_paths([]) == set()

