import copy
import json

import pytest

from labeler.core.formats.coco import CocoFormatError, export_coco, export_predictions, import_coco
from labeler.core.store import PREDICTED, Project

from .. import imagefactory as f


def state_of(project):
    """Everything import may touch, for 'left exactly as it was' checks."""
    return (
        [(c.name, c.color, c.position) for c in project.categories()],
        sorted((b.image_id, b.category_id, b.rect, b.state, b.score) for b in project.all_boxes()),
        [(im.path, im.reviewed) for im in project.images()],
    )


def cvat_style():
    """What CVAT / Roboflow write: ids from 1 or 0, folder prefixes, segmentation, extra keys."""
    return {
        "licenses": [{"name": "", "id": 0, "url": ""}],
        "info": {"contributor": "", "date_created": "", "description": "", "version": "", "year": ""},
        "categories": [{"id": 0, "name": "cat", "supercategory": ""}, {"id": 1, "name": "dog", "supercategory": ""}],
        "images": [
            {"id": 0, "width": 64, "height": 48, "file_name": "images/a.jpg", "license": 0, "date_captured": 0},
            {"id": 1, "width": 30, "height": 20, "file_name": "sub/b.PNG"},
            {"id": 2, "width": 40, "height": 80, "file_name": "rot.JPEG"},
            {"id": 3, "width": 10, "height": 10, "file_name": "gone.jpg"},
        ],
        "annotations": [
            {"id": 1, "image_id": 0, "category_id": 1, "segmentation": [[1, 1, 2, 2, 3, 3]], "area": 1.0,
             "bbox": [10.25, 5.5, 20.125, 30.0], "iscrowd": 0, "attributes": {"occluded": False}},
            {"id": 2, "image_id": 0, "category_id": 0, "bbox": [50, 40, 30, 30]},  # clipped
            {"id": 3, "image_id": 0, "category_id": 0, "bbox": [70, 1, 5, 5]},  # outside: degenerate
            {"id": 4, "image_id": 1, "category_id": 0, "bbox": [1, 1, 0, 5]},  # zero width
            {"id": 5, "image_id": 3, "category_id": 0, "bbox": [1, 1, 5, 5]},  # image missing on disk
            {"id": 6, "image_id": 2, "category_id": 1, "bbox": [1, 2, 30, 70]},
        ],
    }


def write(tmp_path, data, name="in.json"):
    p = tmp_path / name
    p.write_text(json.dumps(data))
    return p


def test_import_cvat_style(project, tmp_path):
    report = import_coco(project, write(tmp_path, cvat_style()))
    assert report.images_matched == 3
    assert report.images_missing == ["gone.jpg"]
    assert report.boxes_added == 3
    assert report.boxes_clipped == 1
    assert report.boxes_degenerate == 2
    assert report.categories_created == ["cat", "dog"]
    a = project.image_by_path("a.jpg")
    boxes = sorted(b.rect for b in project.boxes(a.id))
    assert boxes == [(10.25, 5.5, 30.375, 35.5), (50.0, 40.0, 64.0, 48.0)]
    assert a.reviewed and project.image_by_path("sub/b.PNG").reviewed  # b: a negative now
    assert "gone.jpg" in report.summary()


def test_import_twice_is_idempotent(project, tmp_path):
    p = write(tmp_path, cvat_style())
    import_coco(project, p)
    first = state_of(project)
    import_coco(project, p)
    assert state_of(project) == first


@pytest.mark.parametrize("mutate,message", [
    (lambda d: "not json", "not valid JSON"),
    (lambda d: [], "top level"),
    (lambda d: d.pop("images") and d, "missing the key 'images'"),
    (lambda d: d.update(annotations={}) or d, "'annotations' must be a list"),
    (lambda d: d["images"][0].pop("file_name") and d, "file_name"),
    (lambda d: d["images"][0].update(id=None) or d, "images[0] lacks an integer 'id'"),
    (lambda d: d["annotations"][0].update(bbox=[1, 2, 3]) or d, "bbox"),
    (lambda d: d["annotations"][0].update(bbox=[1, 2, "x", 4]) or d, "bbox"),
    (lambda d: d["annotations"][0].update(category_id=99) or d, "not among the categories"),
    (lambda d: d["categories"][0].update(name=7) or d, "name"),
    (lambda d: d["images"][1].update(file_name="../../etc/passwd") or d, "outside the project folder"),
    (lambda d: d["images"][1].update(file_name="/etc/passwd") or d, "absolute path"),
])
def test_malformed_files_leave_project_untouched(project, tmp_path, mutate, message):
    import_coco(project, write(tmp_path, cvat_style(), "good.json"))
    project.add_box(project.image_by_path("rot.JPEG").id, project.categories()[0].id, 1, 1, 5, 5)
    before = state_of(project)
    data = mutate(copy.deepcopy(cvat_style()))
    p = tmp_path / "bad.json"
    p.write_text(data if isinstance(data, str) else json.dumps(data))
    with pytest.raises(CocoFormatError, match=message.replace("[", r"\[").replace("]", r"\]")):
        import_coco(project, p)
    assert state_of(project) == before


def test_export_loads_in_pycocotools_cocoeval_and_torchvision(project, tmp_path):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    import_coco(project, write(tmp_path, cvat_style()))
    out = tmp_path / "export.json"
    counts = export_coco(project, out)
    assert (counts.images, counts.boxes, counts.classes) == (3, 3, 2)
    gt = COCO(str(out))
    assert sorted(gt.getCatIds()) == [c.id for c in project.categories()]
    assert min(gt.getCatIds()) >= 1
    assert {im["file_name"] for im in gt.dataset["images"]} == {"a.jpg", "sub/b.PNG", "rot.JPEG"}
    rot = next(im for im in gt.dataset["images"] if im["file_name"] == "rot.JPEG")
    assert (rot["width"], rot["height"]) == (40, 80)  # displayed size
    # predictions export as a results list that COCOeval accepts against the ground truth
    a = project.image_by_path("a.jpg")
    project.replace_predictions(a.id, [(b.category_id, *b.rect, 0.9) for b in project.boxes(a.id)])
    preds = tmp_path / "preds.json"
    assert export_predictions(project, preds) == 2
    dt = gt.loadRes(str(preds))
    ev = COCOeval(gt, dt, "bbox")
    ev.params.imgIds = [a.id]
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    assert ev.stats[1] == pytest.approx(1.0)  # mAP@0.5 of the ground truth against itself

    from torchvision.datasets import CocoDetection

    ds = CocoDetection(str(project.root), str(out))
    img, target = ds[ds.ids.index(a.id)]
    assert img.size == (64, 48) and len(target) == 2


def test_export_default_is_reviewed_only_and_negatives_included(project, tmp_path):
    dog = project.add_category("dog")
    a, b = project.image_by_path("a.jpg"), project.image_by_path("sub/b.PNG")
    project.add_box(a.id, dog.id, 1, 1, 10, 10)
    project.replace_predictions(a.id, [(dog.id, 2, 2, 12, 12, 0.5)])
    project.set_reviewed(b.id)
    out = tmp_path / "e.json"
    export_coco(project, out)
    data = json.loads(out.read_text())
    assert [im["file_name"] for im in data["images"]] == ["sub/b.PNG"]
    assert data["annotations"] == []
    export_coco(project, out, all_images=True)
    data = json.loads(out.read_text())
    assert {im["file_name"] for im in data["images"]} == {"a.jpg", "sub/b.PNG", "rot.JPEG"}
    assert len(data["annotations"]) == 1  # the prediction is not ground truth


def test_ids_are_stable_across_exports(project, tmp_path):
    dog, cat, cow = (project.add_category(n) for n in ("dog", "cat", "cow"))
    for im in project.images():
        if not im.error:
            project.add_box(im.id, cow.id, 1, 1, 9, 9)
            project.set_reviewed(im.id)
    first = json.loads((tmp_path / "1.json").write_text("") or export_coco(project, tmp_path / "1.json") and
                       (tmp_path / "1.json").read_text())
    project.delete_category(cat.id)
    project.add_category("zebra")
    second = json.loads(export_coco(project, tmp_path / "2.json") and (tmp_path / "2.json").read_text())
    ids1 = {c["name"]: c["id"] for c in first["categories"]}
    ids2 = {c["name"]: c["id"] for c in second["categories"]}
    assert ids1["cow"] == ids2["cow"] and ids1["dog"] == ids2["dog"]
    assert ids2["zebra"] not in ids1.values()
    assert {i["file_name"]: i["id"] for i in first["images"]} == {i["file_name"]: i["id"] for i in second["images"]}


def test_round_trip_import_export_import(project, folder, tmp_path):
    import_coco(project, write(tmp_path, cvat_style()))
    out = tmp_path / "out.json"
    export_coco(project, out)
    original = sorted((b.image_id, project.category(b.category_id).name, b.rect) for b in project.all_boxes())
    project.close()
    (folder / ".labeler" / "project.sqlite").unlink()
    for extra in ("project.sqlite-wal", "project.sqlite-shm"):
        (folder / ".labeler" / extra).unlink(missing_ok=True)
    with Project.open(folder) as fresh:
        fresh.scan()
        import_coco(fresh, out)
        again = sorted((fresh.image_by_path(project_path).id, fresh.category(b.category_id).name, b.rect)
                       for project_path, bs in [(im.path, fresh.boxes(im.id)) for im in fresh.images()] for b in bs)
        paths = {im.id: im.path for im in fresh.images()}
    assert len(again) == len(original)
    for (_, n1, r1), (_, n2, r2) in zip(sorted(original, key=lambda t: (t[1], t[2])),
                                       sorted(again, key=lambda t: (t[1], t[2]))):
        assert n1 == n2
        assert all(abs(x - y) <= 0.01 for x, y in zip(r1, r2))
    assert set(paths.values()) >= {"a.jpg", "sub/b.PNG"}


def test_as_predictions(project, tmp_path):
    data = cvat_style()
    data["annotations"][0]["score"] = 0.8
    report = import_coco(project, write(tmp_path, data), as_predictions=True)
    assert report.predictions_added == 1 and report.boxes_added == 2
    a = project.image_by_path("a.jpg")
    preds = [b for b in project.boxes(a.id) if b.state == PREDICTED]
    assert len(preds) == 1 and preds[0].score == 0.8 and preds[0].source == "model"
    assert not project.image(a.id).reviewed


def test_base_name_match_and_ambiguity(project, folder, tmp_path):
    f.rgb(folder / "sub" / "a.jpg", (64, 48))  # now "a.jpg" exists twice
    project.scan()
    data = {"images": [{"id": 1, "file_name": "other/b.png"}, {"id": 2, "file_name": "x/a.jpg"}],
            "annotations": [], "categories": []}
    report = import_coco(project, write(tmp_path, data))
    assert report.images_matched == 1  # b.png by unique base name (case-insensitive)
    assert report.images_missing == ["x/a.jpg"]  # ambiguous base name: not guessed


def test_export_is_atomic_on_failure(project, tmp_path, monkeypatch):
    out = tmp_path / "keep.json"
    out.write_text('{"old": true}')
    import labeler.core.formats.coco as coco_mod

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(coco_mod.json, "dumps", boom)
    with pytest.raises(Exception, match="No space left"):
        export_coco(project, out)
    assert out.read_text() == '{"old": true}'
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_import_stores_each_box_as_clip_box_gives_it(project, tmp_path):
    """import_records passes boxes inside the image without calling clip_box: same result at every edge."""
    from labeler.core.geometry import clip_box

    a = project.image_by_path("a.jpg")
    w, h = a.width, a.height
    edges = [-0.5, 0.0, 0.5, 1.0, 3.0, 3.999, w - 1.0, w - 0.5, float(w), w + 0.5]
    rects = [(x1, y1, x2, y2) for x1 in edges for x2 in edges
             for (y1, y2) in ((0.0, float(h)), (2.0, 2.5), (h - 1.0, h + 1.0))]
    data = {"images": [{"id": 1, "width": w, "height": h, "file_name": "a.jpg"}],
            "categories": [{"id": 1, "name": "cat"}],
            "annotations": [{"id": k, "image_id": 1, "category_id": 1, "bbox": [x1, y1, x2 - x1, y2 - y1]}
                            for k, (x1, y1, x2, y2) in enumerate(rects, 1)]}
    report = import_coco(project, write(tmp_path, data))
    expected = sorted(r for r in (clip_box(*rect, w, h) for rect in rects if rect[2] > rect[0] and rect[3] > rect[1])
                      if r is not None)
    got = sorted(b.rect for b in project.boxes(a.id))
    assert len(got) == len(expected) and all(g == pytest.approx(e) for g, e in zip(got, expected))
    assert report.boxes_added == len(expected) and 0 < report.boxes_clipped < len(expected)
