"""labelme JSON: rectangles as boxes; polygons, circles and points when asked."""

import json

import pytest

from labeler.core.formats import detect, import_path
from labeler.core.formats.common import FormatError

from .test_yolo import boxes_by_path


def labelme_file(folder, shapes, image="a.jpg"):
    doc = {"version": "5.4.1", "flags": {}, "shapes": shapes, "imagePath": image, "imageData": None,
           "imageHeight": 48, "imageWidth": 64}
    (folder / (image.rsplit(".", 1)[0] + ".json")).write_text(json.dumps(doc, indent=2))


SHAPES = [
    {"label": "dog", "points": [[30, 40], [3, 4]], "shape_type": "rectangle", "flags": {}},
    {"label": "cat", "points": [[10, 10], [20, 12], [15, 30]], "shape_type": "polygon", "flags": {}},
    {"label": "cat", "points": [[32, 24], [32, 34]], "shape_type": "circle", "flags": {}},
    {"label": "dot", "points": [[5, 5]], "shape_type": "point", "flags": {}},
]


def test_boxes_only_by_default_and_says_what_it_left_out(project, folder):
    labelme_file(folder, SHAPES)
    assert detect(folder) == "labelme"
    report = import_path(project, folder)
    assert boxes_by_path(project)["a.jpg"] == [("dog", 3.0, 4.0, 30.0, 40.0)]
    assert "left out (1 circle, 1 point, 1 polygon)" in report.summary() and "--shapes all" in report.summary()


def test_all_shapes_as_bounding_boxes(project, folder):
    labelme_file(folder, SHAPES)
    report = import_path(project, folder, "labelme", shapes="all")
    assert boxes_by_path(project)["a.jpg"] == [("cat", 10.0, 10.0, 20.0, 30.0), ("cat", 22.0, 14.0, 42.0, 34.0),
                                               ("dog", 3.0, 4.0, 30.0, 40.0)]
    assert report.boxes_degenerate == 1  # the point


def test_malformed_shape_changes_nothing(project, folder):
    labelme_file(folder, [SHAPES[0], {"label": "x", "points": [[1, "a"]], "shape_type": "polygon"}])
    with pytest.raises(FormatError, match=r"a.json: shapes\[1\].points must be"):
        import_path(project, folder, "labelme", shapes="all")
    assert boxes_by_path(project)["a.jpg"] == [] and project.categories() == []
