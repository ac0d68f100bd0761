"""Box flags through the formats: COCO iscrowd and VOC difficult/truncated/occluded come back out
as they went in; they do not cross formats (docs/formats.md)."""

import json
import re

import pytest

from labeler.core.formats import export_project, import_path
from labeler.core.formats.coco import CocoFormatError, import_coco
from labeler.core.records import CROWD, DIFFICULT, OCCLUDED, TRUNCATED

from .test_coco import state_of, write


def coco_with_crowd():
    return {
        "categories": [{"id": 1, "name": "person"}],
        "images": [{"id": 7, "width": 64, "height": 48, "file_name": "a.jpg"}],
        "annotations": [
            {"id": 1, "image_id": 7, "category_id": 1, "bbox": [1, 1, 10, 10], "iscrowd": 0},
            {"id": 2, "image_id": 7, "category_id": 1, "bbox": [20, 5, 40, 40], "iscrowd": 1,
             "segmentation": {"counts": [0, 5], "size": [48, 64]}},
            {"id": 3, "image_id": 7, "category_id": 1, "bbox": [2, 30, 5, 5]},  # no iscrowd: not a crowd
        ],
    }


def crowd_of(data):
    return sorted((tuple(a["bbox"]), a["iscrowd"]) for a in data["annotations"])


def test_coco_iscrowd_comes_back_on_export(project, tmp_path):
    import_coco(project, write(tmp_path, coco_with_crowd()))
    a = project.image_by_path("a.jpg")
    assert sorted((b.rect, b.flags) for b in project.boxes(a.id)) == [
        ((1, 1, 11, 11), 0), ((2, 30, 7, 35), 0), ((20, 5, 60, 45), CROWD)]
    export_project(project, "coco", tmp_path / "out.json")
    out = json.loads((tmp_path / "out.json").read_text())
    assert crowd_of(out) == [((1, 1, 10, 10), 0), ((2, 30, 5, 5), 0), ((20, 5, 40, 40), 1)]
    export_project(project, "coco", tmp_path / "split", split=True, val_split=lambda paths: {"a.jpg"})
    assert crowd_of(json.loads((tmp_path / "split" / "val.json").read_text())) == crowd_of(out)
    # and again: importing labeler's own export keeps the crowd region a crowd region
    import_coco(project, tmp_path / "out.json")
    assert sorted(b.flags for b in project.boxes(a.id)) == [0, 0, CROWD]


@pytest.mark.parametrize("value", ["1", 2, [1]])
def test_coco_bad_iscrowd_names_the_annotation_and_changes_nothing(project, tmp_path, value):
    data = coco_with_crowd()
    data["annotations"][1]["iscrowd"] = value
    before = state_of(project)
    with pytest.raises(CocoFormatError, match=re.escape(f"annotations[1].iscrowd must be 0 or 1, found {value!r}")):
        import_coco(project, write(tmp_path, data))
    assert state_of(project) == before


VOC = """<annotation><filename>a.jpg</filename><size><width>64</width><height>48</height></size>
<object><name>dog</name><difficult>1</difficult><truncated>0</truncated>
<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>10</xmax><ymax>10</ymax></bndbox></object>
<object><name>dog</name><truncated>1</truncated><occluded>true</occluded>
<bndbox><xmin>20</xmin><ymin>2</ymin><xmax>40</xmax><ymax>30</ymax></bndbox></object>
<object><name>dog</name><bndbox><xmin>2</xmin><ymin>20</ymin><xmax>12</xmax><ymax>40</ymax></bndbox></object>
</annotation>"""


def voc_flags(xml: str) -> list[tuple]:
    objects = re.findall(r"<object>(.*?)</object>", xml, re.S)
    return [tuple(int(re.search(f"<{k}>(\\d)</{k}>", o).group(1)) for k in ("difficult", "truncated", "occluded"))
            for o in objects]


def test_voc_flags_are_kept_and_written_back(project, folder, tmp_path):
    (tmp_path / "a.xml").write_text(VOC)
    report = import_path(project, tmp_path / "a.xml", "voc")
    assert "difficult (1), truncated (1), occluded (1)" in report.summary()
    a = project.image_by_path("a.jpg")
    assert [b.flags for b in project.boxes(a.id)] == [DIFFICULT, TRUNCATED | OCCLUDED, 0]
    export_project(project, "voc", tmp_path / "voc")
    xml = (tmp_path / "voc" / "Annotations" / "a.xml").read_text()
    assert voc_flags(xml) == [(1, 0, 0), (0, 1, 1), (0, 0, 0)]
    # the export reads back with the same marks, and in a maintained VOC reader without complaint
    import_path(project, tmp_path / "voc" / "Annotations", "voc")
    assert [b.flags for b in project.boxes(a.id)] == [DIFFICULT, TRUNCATED | OCCLUDED, 0]
    from globox import AnnotationSet

    assert sum(len(x.boxes) for x in AnnotationSet.from_pascal_voc(tmp_path / "voc" / "Annotations")) == 3


def test_flags_do_not_cross_formats(project, folder, tmp_path):
    """A VOC difficult box is no COCO crowd region (and a crowd region no difficult box): each format
    writes only its own marks."""
    (tmp_path / "a.xml").write_text(VOC)
    import_path(project, tmp_path / "a.xml", "voc")
    export_project(project, "coco", tmp_path / "out.json")
    assert {a["iscrowd"] for a in json.loads((tmp_path / "out.json").read_text())["annotations"]} == {0}
    import_coco(project, write(tmp_path, coco_with_crowd()))
    export_project(project, "voc", tmp_path / "voc")
    assert voc_flags((tmp_path / "voc" / "Annotations" / "a.xml").read_text()) == [(0, 0, 0)] * 3

def test_yolo_export_leaves_crowd_regions_out_and_says_so(project, tmp_path):
    """YOLO has no mark for a crowd region; Ultralytics' own COCO converter skips them, and so does
    labeler (training on one would teach a box around many people)."""
    import_coco(project, write(tmp_path, coco_with_crowd()))
    report = export_project(project, "yolo", tmp_path / "yolo", val_split=lambda paths: set())
    lines = (tmp_path / "yolo" / "labels" / "train" / "a.txt").read_text().splitlines()
    assert len(lines) == 2 and report.boxes == 2
    assert "Left out 1 crowd region (COCO iscrowd)" in report.summary()
