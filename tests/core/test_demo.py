from labeler.cli import main
from labeler.core.demo import CLASSES, write_demo
from labeler.core.store import Project


def test_demo_is_a_labeled_project_and_deterministic(tmp_path):
    a = write_demo(tmp_path / "a", n_images=12, n_reviewed=5, seed=3)
    b = write_demo(tmp_path / "b", n_images=12, n_reviewed=5, seed=3)
    with Project.open(a, readonly=True) as pa, Project.open(b, readonly=True) as pb:
        assert [c.name for c in pa.categories()] == list(CLASSES)
        counts = pa.status_counts()
        assert counts["reviewed"] == 5 and counts["unlabeled"] == 7
        boxes_a = sorted((im.path, bx.rect) for im in pa.images() for bx in pa.boxes(im.id))
        boxes_b = sorted((im.path, bx.rect) for im in pb.images() for bx in pb.boxes(im.id))
        assert boxes_a == boxes_b and boxes_a
        for im in pa.images():
            assert im.error is None
            for bx in pa.boxes(im.id):
                assert 0 <= bx.x1 < bx.x2 <= im.width and 0 <= bx.y1 < bx.y2 <= im.height
    assert (a / "scenes" / "scene_000.jpg").read_bytes() == (b / "scenes" / "scene_000.jpg").read_bytes()


def test_rewriting_keeps_edits(tmp_path):
    d = write_demo(tmp_path / "d", n_images=3, n_reviewed=2)
    with Project.open(d) as p:
        im = p.images()[0]
        for bx in p.boxes(im.id):
            p.delete_boxes([bx.id])
        p.add_box(im.id, p.categories()[0].id, 1, 1, 30, 30)
    write_demo(d, n_images=3, n_reviewed=2)
    with Project.open(d, readonly=True) as p:
        assert [bx.rect for bx in p.boxes(im.id)] == [(1.0, 1.0, 30.0, 30.0)]


def test_cli_demo(tmp_path, capsys):
    assert main(["demo", str(tmp_path / "demo"), "--images", "4", "--reviewed", "2"]) == 0
    assert "Demo project written" in capsys.readouterr().out
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "thesis.txt").write_text("mine")
    assert main(["demo", str(tmp_path / "full"), "--images", "2"]) == 2
    assert "not empty" in capsys.readouterr().err


def test_labels_are_what_a_person_sees():
    """An object hidden for the most part is not labeled; a partly hidden one gets the box of its
    visible part; one in full view keeps its exact (sub-pixel) box."""
    import numpy as np

    from labeler.core.demo import _visible_boxes

    ids = np.zeros((40, 60), np.uint8)
    ids[5:15, 5:15] = 1  # square 1: 100 px, later covered on its right half by object 3
    ids[20:30, 40:50] = 2  # object 2: in full view
    ids[2:18, 10:30] = 3  # object 3 covers the right part of object 1
    ids[32:40, 0:8] = 4  # object 4 drawn, then almost all hidden by object 5
    ids[32:40, 0:7] = 5
    objects = [("square", 5.0, 5.0, 15.0, 15.0, 100), ("circle", 39.6, 19.8, 50.2, 30.1, 100),
               ("star", 10.0, 2.0, 30.0, 18.0, 320), ("cross", 0.0, 32.0, 8.0, 40.0, 64),
               ("triangle", 0.0, 32.0, 7.0, 40.0, 56)]
    boxes = _visible_boxes(objects, ids)
    assert boxes == [("square", 5.0, 5.0, 10.0, 15.0), ("circle", 39.6, 19.8, 50.2, 30.1),
                     ("star", 10.0, 2.0, 30.0, 18.0), ("triangle", 0.0, 32.0, 7.0, 40.0)]


def test_hidden_objects_of_a_demo_scene_are_not_labeled():
    """Scene 47 of the demo: a big circle is drawn over a cross and a triangle (fully hidden) and a
    green circle over most of a magenta one. Only the two circles in view are labeled."""
    import random

    from labeler.core import demo

    rng = random.Random(0)
    for _ in range(48):
        w, h = rng.choice(demo.SIZES)
        _, boxes = demo._scene(rng, w, h)
    assert [(k, round(x1), round(y1), round(x2), round(y2)) for k, x1, y1, x2, y2 in boxes] == [
        ("circle", 12, 81, 169, 234), ("circle", 217, 25, 337, 132)]
