"""Pascal VOC: labelImg/CVAT files in their quirky forms, at the same pixels; export round trip."""

import pytest

from labeler.core.formats import detect, export_project, import_path
from labeler.core.formats.common import FormatError

from .. import imagefactory as f
from .test_yolo import boxes_by_path

LABELIMG = """<annotation>
\t<folder>imgs</folder>
\t<filename>a.jpg</filename>
\t<path>/home/someone/imgs/a.jpg</path>
\t<source><database>Unknown</database></source>
\t<size><width>64</width><height>48</height><depth>3</depth></size>
\t<segmented>0</segmented>
\t<object>
\t\t<name>dog</name><pose>Unspecified</pose><truncated>1</truncated><difficult>0</difficult>
\t\t<bndbox><xmin>3</xmin><ymin>4</ymin><xmax>30</xmax><ymax>40</ymax></bndbox>
\t</object>
</annotation>"""

# CVAT/datumaro style: other element order, float coordinates, self-closing tags, no <size>
CVAT = """<?xml version="1.0" encoding="utf-8"?>
<annotation><object><bndbox><ymax>70.5</ymax><xmin>2.25</xmin><xmax>35.75</xmax><ymin>5.5</ymin></bndbox>
<occluded>1</occluded><name>cat</name><attributes/></object>
<filename>rot.JPEG</filename><folder/></annotation>"""


def test_labelimg_and_cvat_files_at_the_same_pixels(project, folder):
    (folder / "a.xml").write_text(LABELIMG)
    ann = folder / "ann"
    ann.mkdir()
    (ann / "rot.xml").write_text(CVAT)
    assert detect(folder) == "voc"
    report = import_path(project, folder, "voc")
    got = boxes_by_path(project)
    assert got["a.jpg"] == [("dog", 3.0, 4.0, 30.0, 40.0)]  # no 1-pixel shift
    assert got["rot.JPEG"] == [("cat", 2.25, 5.5, 35.75, 70.5)]  # size read from the image (40 x 80)
    assert "truncated (1)" in report.summary() and "occluded (1)" in report.summary()
    assert project.image_by_path("a.jpg").reviewed


@pytest.mark.parametrize("text, message", [
    ("<annotation><filename>a.jpg</filename><object><name>x</name>\n<bndbox><xmin>a</xmin><ymin>1</ymin>"
     "<xmax>2</xmax><ymax>3</ymax></bndbox></object></annotation>", r"bad.xml:2: <xmin> must be a number"),
    ("<annotation><filename>a.jpg</filename>\n<object>\n<name>x</name></object></annotation>",
     r"bad.xml:2: <object> 'x' has no <bndbox>"),
    ("<annotation>\n<filename>a.jpg</file>", r"bad.xml:2: not well-formed XML"),
    ("<annotation><filename>a.jpg</filename>\n<object><name>x</name>\n<bndbox><xmin>1</xmin><ymin>1</ymin>"
     "<xmax>2</xmax></bndbox></object></annotation>", r"bad.xml:3: <bndbox> lacks <ymax>"),
    ("<annotation><filename>a.jpg</filename>\n<object>\n<name> </name><bndbox/></object></annotation>",
     r"bad.xml:2: <object> without a <name>"),
    ("<notvoc>\n</notvoc>", r"bad.xml:1: the root element is <notvoc>, not <annotation>"),
])
def test_malformed_names_file_and_line_and_changes_nothing(project, folder, tmp_path, text, message):
    (tmp_path / "bad.xml").write_text(text)
    before = boxes_by_path(project)
    with pytest.raises(FormatError, match=message):
        import_path(project, tmp_path / "bad.xml")
    assert boxes_by_path(project) == before and project.categories() == []


def test_export_round_trip_and_reader(project, folder, tmp_path):
    from globox import AnnotationSet

    dog = project.add_category("dog")
    a = project.image_by_path("a.jpg")
    b = project.image_by_path("sub/b.PNG")
    project.add_box(a.id, dog.id, 1.25, 2.5, 30.75, 40.0)
    project.add_box(b.id, dog.id, 0, 0, 30, 20)
    project.set_reviewed([a.id, b.id])
    out = tmp_path / "voc"
    report = export_project(project, "voc", out, val_split=lambda paths: {"a.jpg"})
    assert (report.images, report.boxes, report.train, report.val) == (2, 2, 1, 1)
    assert (out / "ImageSets" / "Main" / "val.txt").read_text() == "a\n"
    assert (out / "ImageSets" / "Main" / "train.txt").read_text() == "sub__b\n"
    assert (out / "JPEGImages" / "sub__b.PNG").exists()
    ann = AnnotationSet.from_pascal_voc(out / "Annotations")
    got = {a.image_id: [(b.label, b.ltrb) for b in a.boxes] for a in ann}
    assert got == {"a.jpg": [("dog", (1.25, 2.5, 30.75, 40.0))], "sub__b.PNG": [("dog", (0, 0, 30, 20))]}
    # back in: the same pixels within 0.01
    import_path(project, out / "Annotations")
    got = boxes_by_path(project)
    assert got["a.jpg"] == [pytest.approx(("dog", 1.25, 2.5, 30.75, 40.0), abs=0.01)]
    assert got["sub/b.PNG"] == [("dog", 0.0, 0.0, 30.0, 20.0)]
