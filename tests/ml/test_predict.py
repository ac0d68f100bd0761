"""Pre-labeling: stored boxes equal a direct torchvision forward; re-runs, cancel, class mapping."""

from __future__ import annotations

import pickle

import pytest
from PIL import Image, ImageOps

torch = pytest.importorskip("torch")

from labeler.core.images import load_image  # noqa: E402
from labeler.core.store import HUMAN, MIN_BOX_SIZE, PREDICTED, Project  # noqa: E402
from labeler.ml import class_map  # noqa: E402
from labeler.ml.checkpoint import CheckpointError  # noqa: E402
from labeler.ml.predict import (  # noqa: E402
    ModelChoice,
    PredictionSettings,
    default_model_choice,
    image_to_tensor,
    load_model,
    model_input_long_side,
    one_box_per_object,
    predict_images,
    run_prelabel,
    shard,
)

from .prelabel_fixtures import CLASSES, MAX_SIZE, MIN_SIZE, make_folder, save_tiny_checkpoint, tiny_model  # noqa: E402

# torchvision's own post-processing only, so that stored boxes can equal a direct forward's
SETTINGS = dict(score_threshold=0.05, nms_iou=0.5, max_boxes=100, class_overlap_iou=0.0)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(reference model, checkpoint path) with a fixed seed."""
    model = tiny_model(seed=7)
    path = save_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "best.pth", model=model)
    return model, path


@pytest.fixture
def project(tmp_path):
    p = Project.open(make_folder(tmp_path / "photos", big=True))
    p.scan()
    for name in CLASSES:
        p.add_category(name)
    yield p
    p.close()


def reference_boxes(model, image: Image.Image, sx=1.0, sy=1.0):
    """A direct torchvision forward, filtered the way the store filters (degenerate boxes)."""
    with torch.inference_mode():
        out = model([image_to_tensor(image)])[0]
    rows = []
    for (x1, y1, x2, y2), lab, s in zip(out["boxes"].tolist(), out["labels"].tolist(), out["scores"].tolist()):
        x1, y1, x2, y2 = x1 * sx, y1 * sy, x2 * sx, y2 * sy
        if x2 - x1 >= MIN_BOX_SIZE and y2 - y1 >= MIN_BOX_SIZE:
            rows.append((CLASSES[lab - 1], x1, y1, x2, y2, s))
    return rows


def stored(project, image_id):
    names = {c.id: c.name for c in project.categories()}
    return [(names[b.category_id], b.x1, b.y1, b.x2, b.y2, b.score) for b in project.boxes(image_id)
            if b.state == PREDICTED]


def assert_same(actual, expected):
    assert len(actual) == len(expected) > 0
    for a, e in zip(actual, expected):
        assert a[0] == e[0]
        assert a[1:] == pytest.approx(e[1:], abs=1e-3)


def run_all(project, loaded, ids=None, **kw):
    ids = ids if ids is not None else [im.id for im in project.images()]
    labels = class_map.label_to_category(
        project, loaded.label_names, class_map.effective_map(project, loaded.key, loaded.label_names))
    settings = PredictionSettings(**SETTINGS, threads=torch.get_num_threads())
    return run_prelabel(project, loaded, ids, labels, settings, **kw)


def test_stored_boxes_equal_a_direct_forward(project, tiny):
    model, path = tiny
    model.roi_heads.score_thresh = SETTINGS["score_threshold"]
    loaded = load_model(ModelChoice.checkpoint(path), device="cpu")
    assert (loaded.min_size, loaded.max_size, loaded.label_names) == (MIN_SIZE, MAX_SIZE, ["__background__", *CLASSES])
    summary = run_all(project, loaded)
    assert summary.images == 4 and summary.failed == 0 and summary.boxes > 0

    root = project.root
    for name in ("a.jpg", "b.png", "rot.jpg"):  # small: the model sees the file as decoded by PIL
        rec = project.image_by_path(name)
        with Image.open(root / name) as im:
            direct = ImageOps.exif_transpose(im).convert("RGB")
        assert (direct.width, direct.height) == (rec.width, rec.height)
        assert_same(stored(project, rec.id), reference_boxes(model, direct))
    rot = project.image_by_path("rot.jpg")
    assert (rot.width, rot.height) == (80, 120)  # EXIF orientation 6: stored 120x80, displayed portrait

    # 12 MP: decoded once at the model's own input size, boxes mapped back to full resolution
    big = project.image_by_path("big.jpg")
    side = model_input_long_side(big.width, big.height, MIN_SIZE, MAX_SIZE)
    small = load_image(root / "big.jpg", max_side=side)
    assert max(small.image.size) == side == 85  # 4000x3000 -> 85x64, what the detector resizes to
    expected = reference_boxes(model, small.image, big.width / small.image.width, big.height / small.image.height)
    got = stored(project, big.id)
    assert_same(got, expected)
    assert max(b[3] for b in got) > side  # coordinates are full-resolution pixels


def test_rerun_keeps_human_and_accepted_boxes(project, tiny):
    _, path = tiny
    loaded = load_model(ModelChoice.checkpoint(path), device="cpu")
    a = project.image_by_path("a.jpg")
    cat = project.category_by_name("cat")
    human = project.add_box(a.id, cat.id, 1, 1, 20, 20)
    run_all(project, loaded, [a.id])
    first = [b for b in project.boxes(a.id) if b.state == PREDICTED]
    project.set_box_state([first[0].id], "accepted")
    run_all(project, loaded, [a.id])
    boxes = project.boxes(a.id)
    assert human in boxes
    assert any(b.id == first[0].id and b.state == "accepted" for b in boxes)
    assert len([b for b in boxes if b.state == PREDICTED]) == len(first)  # replaced, not doubled
    assert [b for b in boxes if b.state == HUMAN] == [human]


def test_cancel_keeps_finished_images(project, tiny):
    _, path = tiny
    loaded = load_model(ModelChoice.checkpoint(path), device="cpu")
    ids = [im.id for im in project.images()]
    done = []
    summary = run_all(project, loaded, ids, progress=lambda n, total, r: done.append(r.image_id),
                      cancelled=lambda: len(done) >= 2)
    assert summary.cancelled and summary.images == 2
    with_boxes = {im.id for im in project.images() if im.predicted_count}
    assert with_boxes == set(done[:2])


def test_unmapped_classes_are_dropped_and_saved_map_applies(project, tiny):
    _, path = tiny
    loaded = load_model(ModelChoice.checkpoint(path), device="cpu")
    class_map.save_map(project, loaded.key, {"cat": None, "dog": "dog"})
    run_all(project, loaded)
    names = {c.id: c.name for c in project.categories()}
    found = {names[b.category_id] for b in project.all_boxes()}
    assert found == {"dog"}


def test_unreadable_image_is_reported_and_the_run_goes_on(project, tiny):
    _, path = tiny
    loaded = load_model(ModelChoice.checkpoint(path), device="cpu")
    a = project.image_by_path("a.jpg")
    (project.root / "a.jpg").write_bytes(b"not a jpeg any more")
    results = list(predict_images(project, loaded, [a.id, project.image_by_path("b.png").id],
                                  {1: project.category_by_name("cat").id}, PredictionSettings(**SETTINGS)))
    assert results[0].error and not results[1].error
    assert project.image(a.id).status == "unreadable"


def test_hostile_checkpoint_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned.txt"

    class Evil:
        def __reduce__(self):
            return (exec, (f"open({str(marker)!r}, 'w').write('x')",))

    legacy = tmp_path / "legacy.pth"
    legacy.write_bytes(pickle.dumps({"backbone.weight": Evil()}, protocol=2))
    zipped = tmp_path / "zipped.pth"
    torch.save({"backbone.weight": Evil()}, zipped)
    for p in (legacy, zipped):  # the meta file makes each look like one of our checkpoints
        p.with_suffix(".json").write_text('{"format": "labeler-checkpoint", "version": 1, '
                                          '"architecture": "fasterrcnn_mobilenet_v3_large_320_fpn", "classes": ["a"]}')
        with pytest.raises(CheckpointError, match="refused"):
            load_model(ModelChoice.checkpoint(p), device="cpu")
        with pytest.raises(CheckpointError, match="refused"):
            load_model(ModelChoice.coco("fasterrcnn_mobilenet_v3_large_320_fpn"), weights=p, device="cpu")
    assert not marker.exists()


def test_wrong_class_count_or_architecture_is_a_clear_error(tmp_path):
    model = tiny_model(seed=1)
    one_class = save_tiny_checkpoint(tmp_path / "one.pth", classes=["cat"], model=model)
    with pytest.raises(CheckpointError, match="holds weights for 2 classes, but this model expects 1"):
        load_model(ModelChoice.checkpoint(one_class), device="cpu")
    other = save_tiny_checkpoint(tmp_path / "other.pth", arch="fasterrcnn_mobilenet_v3_large_fpn", model=model)
    loaded = load_model(ModelChoice.checkpoint(other), device="cpu")  # same layers, other anchors: fits
    assert loaded.architecture == "fasterrcnn_mobilenet_v3_large_fpn"
    # torchvision's own COCO file layout for another architecture (91 classes)
    coco_like = tmp_path / "coco.pth"
    torch.save(tiny_model(num_classes=91).state_dict(), coco_like)
    with pytest.raises(CheckpointError, match="does not fit the fasterrcnn_resnet50_fpn architecture"):
        load_model(ModelChoice.coco("fasterrcnn_resnet50_fpn"), weights=coco_like, device="cpu")
    assert load_model(ModelChoice.coco(), weights=coco_like, device="cpu").label_names[18] == "dog"


def test_missing_coco_weights_say_where_to_put_them(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(Exception, match=r"fasterrcnn_mobilenet_v3_large_320_fpn-907ea3f9\.pth"):
        load_model(ModelChoice.coco("fasterrcnn_mobilenet_v3_large_320_fpn"), device="cpu")


def test_default_model_and_image_selection(project, tiny):
    assert default_model_choice(project) == ModelChoice.coco()
    _, path = tiny
    inside = project.root / ".labeler" / "runs" / "1" / "best.pth"
    save_tiny_checkpoint(inside)
    choice = ModelChoice.checkpoint(inside, project.root)
    assert choice.path == ".labeler/runs/1/best.pth"
    project.set_setting("prelabel.model", choice.to_setting())
    assert default_model_choice(project) == choice
    inside.unlink()  # a deleted checkpoint falls back to COCO
    assert default_model_choice(project) == ModelChoice.coco()


def test_sharding_across_ranks():
    items = list(range(10))
    parts = [shard(items, r, 3) for r in range(3)]
    assert parts == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]
    assert sorted(sum(parts, [])) == items
    from labeler.ml.distributed import DistributedError, from_environment
    assert from_environment({}).world_size == 1
    assert (from_environment({"RANK": "2", "WORLD_SIZE": "4"}).rank, from_environment({"RANK": "2", "WORLD_SIZE": "4"}).world_size) == (2, 4)
    with pytest.raises(DistributedError, match="outside WORLD_SIZE=4"):
        from_environment({"RANK": "4", "WORLD_SIZE": "4"})
    with pytest.raises(DistributedError, match="integers"):
        from_environment({"RANK": "x", "WORLD_SIZE": "4"})
    with pytest.raises(ValueError):
        shard(items, 3, 3)


def test_summary_line_counts_in_words():
    from labeler.ml.predict import Summary

    assert Summary(images=1, boxes=1, seconds=0.5).line().startswith("1 image, 1 box in 0.5 s")
    assert Summary(images=3, boxes=0, seconds=1.0, failed=1).line().startswith("3 images, 0 boxes in 1.0 s")
    assert Summary(images=3, boxes=0, seconds=1.0, failed=1).line().endswith("; 1 unreadable")


def test_informativeness_counts_outputs_below_the_stored_threshold(project, tiny):
    """The queue's score is near_threshold over every output down to LOOK_BELOW; only boxes at the
    run's threshold are stored; the mirrored pass runs only when asked."""
    from labeler.core import informativeness as I
    from labeler.core.review import image_informativeness
    from labeler.ml.predict import predict_images

    _, path = tiny
    loaded = load_model(ModelChoice.checkpoint(path), device="cpu")
    a = project.image_by_path("a.jpg")
    labels = class_map.label_to_category(
        project, loaded.label_names, class_map.effective_map(project, loaded.key, loaded.label_names))
    low = list(predict_images(project, loaded, [a.id], labels, PredictionSettings(score_threshold=0.05), write=False))
    every = [it[5] for it in low[0].items]
    cut = sorted(every)[len(every) // 2]  # half the outputs fall under this run's threshold
    assert low[0].mirrored is None  # the default formula needs no flip pass
    run = list(predict_images(project, loaded, [a.id], labels, PredictionSettings(score_threshold=cut)))
    kept = [b.score for b in project.boxes(a.id) if b.state == PREDICTED]
    assert kept and min(kept) >= cut and len(kept) < len(every)
    expected = I.near_threshold(every, 0.5)
    assert run[0].informativeness == pytest.approx(expected)
    assert image_informativeness(project, a.id) == pytest.approx(expected)
    assert expected > I.near_threshold(kept, 0.5)  # the boxes under the threshold count too

    flipped = list(predict_images(project, loaded, [a.id], labels,
                                  PredictionSettings(score_threshold=cut, flip=True), write=False))
    assert flipped[0].mirrored is not None and all(it[5] >= cut for it in flipped[0].mirrored)


def test_by_default_no_two_stored_boxes_sit_on_one_object(project, tiny):
    from labeler.core.geometry import iou
    from labeler.ml.postprocess import CLASS_OVERLAP_IOU

    model, path = tiny
    loaded = load_model(ModelChoice.checkpoint(path), device="cpu")
    labels = class_map.label_to_category(
        project, loaded.label_names, class_map.effective_map(project, loaded.key, loaded.label_names))
    a = project.image_by_path("a.jpg").id
    settings = dict(SETTINGS)
    del settings["class_overlap_iou"]
    assert PredictionSettings(**settings).class_overlap_iou == CLASS_OVERLAP_IOU > 0
    [apart] = predict_images(project, loaded, [a], labels, PredictionSettings(**SETTINGS), write=False)
    [one] = predict_images(project, loaded, [a], labels, PredictionSettings(**settings))
    boxes = stored(project, a)
    assert len(boxes) == len(one.items) < len(apart.items)  # the tiny model's boxes do overlap across classes
    assert all(iou(p[1:5], q[1:5]) < CLASS_OVERLAP_IOU for i, p in enumerate(boxes) for q in boxes[i + 1:])
    names = {c.id: c.name for c in project.categories()}
    expected = one_box_per_object(apart.items, CLASS_OVERLAP_IOU)
    assert_same(boxes, [(names[c], *rest) for c, *rest in expected])


def test_the_flip_test_stores_each_box_fused_with_its_mirrored_twin(project, tiny):
    from labeler.ml.postprocess import fuse_flipped

    model, path = tiny
    loaded = load_model(ModelChoice.checkpoint(path), device="cpu")
    labels = class_map.label_to_category(
        project, loaded.label_names, class_map.effective_map(project, loaded.key, loaded.label_names))
    a = project.image_by_path("a.jpg")
    settings = dict(SETTINGS, score_threshold=0.0)  # class_overlap_iou 0
    [plain] = predict_images(project, loaded, [a.id], labels, PredictionSettings(**settings, flip=True), write=False)
    [fused] = predict_images(project, loaded, [a.id], labels, PredictionSettings(**settings, flip_fusion=True))
    # nothing filtered (score 0, no suppression): the plain run's mirrored boxes are the twins as they come
    expected = fuse_flipped(plain.items, plain.mirrored)
    assert len(expected) == len(plain.items) > 0
    assert any(e[5] != p[5] for e, p in zip(expected, sorted(plain.items, key=lambda it: -it[5])))
    names = {c.id: c.name for c in project.categories()}
    assert_same(stored(project, a.id), [(names[c], *rest) for c, *rest in expected
                                        if rest[2] - rest[0] >= MIN_BOX_SIZE and rest[3] - rest[1] >= MIN_BOX_SIZE])
