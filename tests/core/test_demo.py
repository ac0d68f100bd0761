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
