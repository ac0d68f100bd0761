"""derive_rounds, the review queue and `labeler stats --json` on a project whose numbers are known."""

import json

import pytest

from labeler.cli import main
from labeler.core import commands as C
from labeler.core import history as H
from labeler.core.review import informativeness, review_queue
from labeler.core.rounds import derive_rounds
from labeler.core.store import Project


def by_path(p, path):
    return p.image_by_path(path).id


@pytest.fixture
def loop(tmp_path):
    """Round "m1" (COCO weights) on i1, i2; round "run 1" on j1; two images drawn by hand; one
    pre-labeled image not yet reviewed."""
    p = Project.open(tmp_path)
    p.add_image_records([(n, 64, 48) for n in ("h1.jpg", "h2.jpg", "i1.jpg", "i2.jpg", "j1.jpg", "u1.jpg")])
    dog, cat = p.add_category("dog").id, p.add_category("cat").id
    i1, i2, j1, u1, h1, h2 = (by_path(p, n) for n in ("i1.jpg", "i2.jpg", "j1.jpg", "u1.jpg", "h1.jpg", "h2.jpg"))
    b = [x.id for x in p.replace_predictions(i1, [(dog, 0, 0, 10, 10, 0.9), (dog, 20, 20, 30, 30, 0.8),
                                                  (cat, 40, 0, 50, 10, 0.3), (dog, 0, 20, 10, 30, 0.6)],
                                             model="coco:m1")]
    (p5,) = [x.id for x in p.replace_predictions(i2, [(cat, 5, 5, 15, 15, 0.95)], model="coco:m1")]
    p.replace_predictions(u1, [(dog, 1, 1, 9, 9, 0.5)], model="coco:m1")
    run = p.add_run("fasterrcnn_x", {}, ["dog", "cat"])
    p.update_run(run, checkpoint="runs/1/best.pt")
    p.replace_predictions(j1, [(dog, 3, 3, 13, 13, 0.9)], model="checkpoint:runs/1/best.pt")
    edits = {
        i1: [C.SetBoxRect(b[1], (21, 21, 31, 31)), C.DeleteBoxes([b[3]]), C.AddBoxes(i1, [(dog, 50, 30, 60, 40)]),
             C.ReviewImage(i1, 0.5)],
        i2: [C.SetCategory([p5], dog), C.ReviewImage(i2, 0.5)],
        j1: [C.ReviewImage(j1, 0.5)],
        h1: [C.AddBoxes(h1, [(dog, k, k, k + 5, k + 5)]) for k in (0, 10, 20, 30)] + [C.ReviewImage(h1)],
        h2: [C.AddBoxes(h2, [(cat, k, k, k + 5, k + 5)]) for k in (0, 10, 20)] + [C.ReviewImage(h2)],
    }
    for image_id, cmds in edits.items():
        for cmd in cmds:
            H.perform(p, cmd)
    for image_id, secs in ((i1, 10), (i2, 20), (h1, 40), (h2, 50)):
        H.add_seconds(p, image_id, secs)
    yield p, edits
    p.close()


def test_rounds_on_known_numbers(loop):
    p, _ = loop
    progress = derive_rounds(p)
    m1, r1 = progress.rounds
    assert (m1.model, r1.model) == ("m1", "run 1")
    assert (m1.images_reviewed, m1.predictions, m1.accepted_unchanged, m1.corrected, m1.rejected, m1.not_shown,
            m1.drawn) == (2, 5, 1, 2, 1, 1, 1)
    # shown (>= 0.5): 0.9 and the moved 0.8 match kept boxes, 0.6 was deleted, the re-classed cat misses
    assert m1.precision == 0.5 and m1.recall == 0.5
    # dog: 4 kept boxes, hits at 0.9 and 0.8, a false one at 0.6 -> precision 1 up to recall 0.5: 51 of 101 points
    assert m1.ap50 == pytest.approx(51 / 101)
    assert m1.actions_per_image == 3.0 and m1.seconds_per_image == 15.0
    assert (progress.baseline.images_reviewed, progress.baseline.actions_per_image,
            progress.baseline.seconds_per_image, progress.baseline.drawn) == (2, 4.5, 45.0, 7)
    assert m1.share_saved_actions == pytest.approx(1 - 3 / 4.5)
    assert m1.share_saved_seconds == pytest.approx(1 - 15 / 45)
    assert m1.acceptance_rate == pytest.approx(1 / 4)
    assert (r1.accepted_unchanged, r1.precision, r1.recall, r1.actions_per_image, r1.seconds_per_image) \
        == (1, 1.0, 1.0, 1.0, None)
    assert r1.ap50 == pytest.approx(1.0)
    assert (progress.images_total, progress.images_reviewed) == (6, 5)
    # i1 at 0.5: the moved box fixed, the false 0.6 deleted, one drawn (2) = 4; i2: one re-class = 1. From 0.65
    # the 0.6 box is hidden: 3 + 1 (labeler.core.threshold counts); j1 needed nothing at the threshold used
    assert (m1.suggested_threshold, m1.estimated_corrections_at_used, m1.estimated_corrections_at_suggested) \
        == (0.65, 2.5, 2.0)
    assert (r1.suggested_threshold, r1.estimated_corrections_at_used) == (0.5, 0.0)


def test_outcomes_follow_undo_and_redo(loop):
    p, edits = loop
    i2 = by_path(p, "i2.jpg")
    review, reclass = edits[i2][1], edits[i2][0]
    H.revert(p, review)
    H.revert(p, reclass)
    assert derive_rounds(p).rounds[0].images_reviewed == 1  # i2 is no longer reviewed
    H.perform(p, C.ReviewImage(i2, 0.5))
    m1 = derive_rounds(p).rounds[0]
    assert (m1.accepted_unchanged, m1.corrected) == (2, 1)  # the cat box, accepted as proposed
    i1 = by_path(p, "i1.jpg")
    H.revert(p, edits[i1][3])  # undo the review of i1: its hidden box is back
    H.revert(p, edits[i1][1])  # undo the delete: no longer rejected
    H.perform(p, edits[i1][1])
    H.perform(p, edits[i1][3])
    m1 = derive_rounds(p).rounds[0]
    assert (m1.rejected, m1.not_shown, m1.accepted_unchanged, m1.corrected) == (1, 1, 2, 1)


def test_stats_json_has_the_issues_keys(loop, capsys):
    p, _ = loop
    root = str(p.root)
    p.close()
    assert main(["stats", root, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    keys = {"model", "images_reviewed", "predictions", "accepted_unchanged", "corrected", "rejected", "drawn",
            "precision", "recall", "ap50", "actions_per_image", "seconds_per_image"}
    assert [r["model"] for r in out["rounds"]] == ["m1", "run 1"]
    assert keys <= set(out["rounds"][0])
    assert out["rounds"][0]["corrected"] == 2 and out["rounds"][1]["seconds_per_image"] is None
    assert main(["stats", root]) == 0
    text = capsys.readouterr().out
    assert "m1" in text and "by hand" in text and "5 images of 6 reviewed" in text
    assert ("Review threshold for m1: 0.65 on the score slider would have needed about 2.0 corrections an image on "
            "the 2 images reviewed with its boxes, not 2.5.") in text
    assert "Review threshold for run 1: the one used needed the fewest corrections (about 0.0 an image)." in text
    assert out["rounds"][0]["suggested_threshold"] == 0.65


def test_informativeness_ranks_borderline_before_sure():
    assert informativeness([0.99, 0.99, 0.99]) < informativeness([0.55])
    assert informativeness([0.5, 0.45]) > informativeness([0.5])
    assert informativeness([]) == 0.0


def test_queue_puts_borderline_images_first(tmp_path, capsys):
    with Project.open(tmp_path) as p:
        p.add_image_records([(n, 64, 48) for n in ("a_sure.jpg", "b_unsure.jpg", "c_new.jpg", "d_done.jpg")])
        dog = p.add_category("dog").id
        p.replace_predictions(by_path(p, "a_sure.jpg"), [(dog, 0, 0, 9, 9, 0.99), (dog, 20, 20, 29, 29, 0.99)],
                              model="coco:m")
        p.replace_predictions(by_path(p, "b_unsure.jpg"), [(dog, 0, 0, 9, 9, 0.52)], model="coco:m")
        p.set_reviewed(by_path(p, "d_done.jpg"))
        assert [im.path for im in review_queue(p, "informative")] == ["b_unsure.jpg", "a_sure.jpg", "c_new.jpg"]
        assert [im.path for im in review_queue(p, "file")] == ["a_sure.jpg", "b_unsure.jpg", "c_new.jpg"]
        assert sorted(im.path for im in review_queue(p, "random")) == ["a_sure.jpg", "b_unsure.jpg", "c_new.jpg"]
    assert main(["queue", str(tmp_path), "-n", "2"]) == 0
    assert capsys.readouterr().out.splitlines() == ["b_unsure.jpg", "a_sure.jpg"]


def test_images_reviewed_before_predictions_were_kept_are_left_out_and_said(tmp_path):
    from labeler.core.store import ACCEPTED, SOURCE_MODEL

    with Project.open(tmp_path) as p:
        p.add_image_records([("old.jpg", 64, 48), ("hand.jpg", 64, 48)])
        dog = p.add_category("dog").id
        old, hand = by_path(p, "old.jpg"), by_path(p, "hand.jpg")
        p.add_boxes(old, [(dog, 1, 1, 9, 9, 0.8)], source=SOURCE_MODEL, state=ACCEPTED)  # as schema 1 left it
        p.add_boxes(hand, [(dog, 1, 1, 9, 9)])
        p.set_reviewed([old, hand])
        progress = derive_rounds(p)
        assert progress.rounds == [] and progress.baseline.images_reviewed == 1
        assert progress.skipped == ["1 reviewed image pre-labeled before this store kept predictions "
                                    "(left out: which model, and what it proposed, is unknown)"]
