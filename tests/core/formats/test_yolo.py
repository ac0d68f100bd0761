"""YOLO import (Ultralytics, Darknet, bare classes.txt, with the quirks converters trip on) and export."""

import pytest

from labeler.core.formats import detect, export_project, import_path
from labeler.core.formats.common import FormatError
from labeler.core.store import Project

from .. import imagefactory as f


def boxes_by_path(project):
    out = {}
    names = {c.id: c.name for c in project.categories()}
    for im in project.images():
        out[im.path] = sorted((names[b.category_id], round(b.x1, 3), round(b.y1, 3), round(b.x2, 3), round(b.y2, 3))
                              for b in project.boxes(im.id))
    return out


@pytest.fixture
def roboflow(tmp_path):
    """A Roboflow/Ultralytics export: data.yaml with names as a dict, train/ and valid/ folders."""
    root = tmp_path / "ds"
    for side in ("train", "valid"):
        (root / side / "images").mkdir(parents=True)
        (root / side / "labels").mkdir(parents=True)
    f.rgb(root / "train" / "images" / "a.jpg", (100, 50))
    f.exif_rotated_jpeg(root / "train" / "images" / "rot.jpg", stored_size=(80, 40), orientation=6)  # shown 40x80
    f.rgb(root / "valid" / "images" / "neg.jpg", (20, 20))
    f.rgb(root / "valid" / "images" / "nolabel.jpg", (20, 20))
    # CRLF, blank line, extra spaces, scientific notation, no final newline
    (root / "train" / "labels" / "a.txt").write_bytes(b"0 0.5 0.5 0.2 0.4\r\n\r\n 1   2.5e-1 0.5  1e-1 2E-1")
    # a segment: its bounding box
    (root / "train" / "labels" / "rot.txt").write_text("1 0.25 0.25 0.75 0.25 0.75 0.5 0.25 0.5\n")
    (root / "valid" / "labels" / "neg.txt").write_text("")
    (root / "data.yaml").write_text("path: .\ntrain: train/images\nval: [valid/images]\nnc: 2\n"
                                    "names:\n  0: cat\n  1: dog\n")
    return root


def test_ultralytics_layout_with_quirks(roboflow):
    with Project.open(roboflow) as p:
        p.scan()
        assert detect(roboflow) == "yolo"
        report = import_path(p, roboflow / "data.yaml")
        got = boxes_by_path(p)
        assert got["train/images/a.jpg"] == [("cat", 40.0, 15.0, 60.0, 35.0), ("dog", 20.0, 20.0, 30.0, 30.0)]
        # EXIF-rotated: fractions of the displayed 40 x 80 image, as Ultralytics' exif_size gives
        assert got["train/images/rot.jpg"] == [("dog", 10.0, 20.0, 30.0, 40.0)]
        assert got["valid/images/neg.jpg"] == []
        assert p.image_by_path("valid/images/neg.jpg").reviewed  # empty label file: reviewed negative
        assert not p.image_by_path("valid/images/nolabel.jpg").reviewed  # no label file: left as it was
        assert [c.name for c in p.categories()] == ["cat", "dog"]
        assert report.boxes_added == 3 and report.images_matched == 3
        assert "1 listed images have no label file" in report.summary()


@pytest.mark.parametrize("line, message", [
    ("5 0.5 0.5 0.1 0.1", ":1: class id 5 has no name"),
    ("0 1.5 0.5 0.1 0.1", ":1: coordinates outside 0..1"),
    ("0 0.5 0.5 x 0.1", ":1: expected numbers"),
    ("0 0.5 0.5", ":1: expected 'class cx cy w h'"),
    ("0 0.5 0.5 0.1 0.1\n\n0 nan 0.5 0.1 0.1", ":3: coordinates must be finite numbers"),
    ("0.0 0.5 0.5 0.1 1.2", ":1: coordinates outside 0..1"),  # an id written as a float takes the long way
    ("0 0.5 0.5 0.1 -0.2", ":1: coordinates outside 0..1"),
])
def test_bad_lines_name_file_and_line_and_change_nothing(roboflow, line, message):
    (roboflow / "train" / "labels" / "a.txt").write_text(line + "\n")
    with Project.open(roboflow) as p:
        p.scan()
        before = boxes_by_path(p), [c.name for c in p.categories()]
        with pytest.raises(FormatError, match="a.txt" + message.replace("(", r"\(").replace(".", r"\.")):
            import_path(p, roboflow)
        assert (boxes_by_path(p), [c.name for c in p.categories()]) == before


def test_darknet_layout(tmp_path):
    root = tmp_path / "darknet"
    (root / "data" / "obj").mkdir(parents=True)
    f.rgb(root / "data" / "obj" / "x.png", (50, 100))
    (root / "data" / "obj" / "x.txt").write_text("1 0.5 0.5 0.2 0.1\n")
    (root / "data" / "obj.names").write_text("person\ncar\n")
    (root / "data" / "train.txt").write_text("data/obj/x.png\n")
    (root / "data" / "obj.data").write_text("classes = 2\ntrain = data/train.txt\nnames = data/obj.names\n")
    with Project.open(root) as p:
        p.scan()
        report = import_path(p, root / "data" / "obj.data")
        assert boxes_by_path(p)["data/obj/x.png"] == [("car", 20.0, 45.0, 30.0, 55.0)]
        assert report.categories_created == ["person", "car"]


def test_labelimg_classes_txt_beside_images(tmp_path):
    root = tmp_path / "li"
    root.mkdir()
    f.rgb(root / "p.jpg", (10, 10))
    (root / "classes.txt").write_text("dog\ncat\n")
    (root / "p.txt").write_text("1 0.5 0.5 0.4 0.4\n")
    with Project.open(root) as p:
        p.scan()
        import_path(p, root, "yolo")
        assert boxes_by_path(p)["p.jpg"] == [("cat", 3.0, 3.0, 7.0, 7.0)]


def test_export_round_trip_and_reader(project, folder, tmp_path):
    dog = project.add_category("dog")
    cat = project.add_category("cat")
    a = project.image_by_path("a.jpg")
    rot = project.image_by_path("rot.JPEG")
    b = project.image_by_path("sub/b.PNG")
    project.add_box(a.id, dog.id, 1.25, 2.5, 30.75, 40.0)
    project.add_box(rot.id, cat.id, 3, 4, 35, 70)
    project.set_reviewed([a.id, rot.id, b.id])  # b: a reviewed negative
    out = tmp_path / "yolo"
    report = export_project(project, "yolo", out, val_split=lambda paths: {"sub/b.PNG"})
    assert (report.images, report.boxes, report.train, report.val) == (3, 2, 2, 1)
    assert (out / "labels" / "val" / "sub" / "b.txt").read_text() == ""
    assert (out / "images" / "train" / "a.jpg").resolve() == (folder / "a.jpg").resolve()
    import yaml

    doc = yaml.safe_load((out / "data.yaml").read_text())
    assert doc["names"] == {0: "dog", 1: "cat"} and doc["train"] == "images/train" and doc["val"] == "images/val"
    line = (out / "labels" / "train" / "a.txt").read_text().split()
    assert line[0] == "0" and all(len(v.split(".")[1]) == 6 for v in line[1:])
    # import into a fresh project over the export's own image links: same boxes within 6 decimals
    with Project.open(out) as fresh:
        fresh.scan()
        import_path(fresh, out)
        got = boxes_by_path(fresh)
    assert got["images/train/a.jpg"] == [pytest.approx(("dog", 1.25, 2.5, 30.75, 40.0), abs=1e-4)]
    assert got["images/train/rot.JPEG"] == [pytest.approx(("cat", 3, 4, 35, 70), abs=1e-4)]
    assert got["images/val/sub/b.PNG"] == []
    project.set_reviewed([b.id], False)  # exported again without b: its old label file is named
    report = export_project(project, "yolo", out, val_split=lambda paths: {"sub/b.PNG"})
    assert "1 label file in" in report.summary()
    assert "labels/val/sub/b.txt" in report.summary()


def test_export_read_by_globox(tmp_path):
    from globox import AnnotationSet

    d = tmp_path / "p"
    d.mkdir()
    f.rgb(d / "a.jpg", (64, 48))
    with Project.open(d) as p:
        p.scan()
        c = p.add_category("dog")
        im = p.image_by_path("a.jpg")
        p.add_box(im.id, c.id, 4, 6, 40, 30)
        p.set_reviewed([im.id])
        export_project(p, "yolo", tmp_path / "y", copy_images=True, val_split=lambda paths: set())
    labels = tmp_path / "y" / "labels" / "train"
    (labels.parent.parent / "names.txt").write_text("dog\n")
    ann = AnnotationSet.from_yolo_v5(labels, image_folder=tmp_path / "y" / "images" / "train")
    boxes = [b for a in ann for b in a.boxes]
    assert len(boxes) == 1
    assert boxes[0].ltrb == pytest.approx((4, 6, 40, 30), abs=1e-3)
