"""labeler.jobs.prelabel: the one definition of a pre-labeling run's images, classes and thresholds,
and the window and the command line choosing the same run from it."""

from __future__ import annotations

import pytest

from labeler.core.store import Project
from labeler.jobs import JobError
from labeler.jobs import prelabel as job
from tests.ml.prelabel_fixtures import make_folder, save_tiny_checkpoint


@pytest.fixture
def project(tmp_path):
    p = Project.open(make_folder(tmp_path / "photos"))
    p.scan()
    yield p
    p.close()


def test_image_scopes(project):
    a, b, rot = (project.image_by_path(n) for n in ("a.jpg", "b.png", "rot.jpg"))
    cat = project.add_category("cat")
    project.add_box(a.id, cat.id, 1, 1, 9, 9)
    project.set_reviewed([b.id])
    assert job.images_to_prelabel(project, job.UNLABELED_IMAGES) == [rot.id]
    assert job.images_to_prelabel(project, job.NOT_REVIEWED) == [a.id, rot.id]
    assert job.images_to_prelabel(project, job.ALL_IMAGES) == [a.id, b.id, rot.id]
    project.mark_unreadable(rot.id, "broken")
    assert job.images_to_prelabel(project, job.ALL_IMAGES) == [a.id, b.id]
    with pytest.raises(JobError, match="unlabeled, not-reviewed, all"):
        job.images_to_prelabel(project, "some")


def test_saved_thresholds_are_the_defaults_unless_given(project):
    assert job.saved_options(project) == job.DEFAULT_OPTIONS
    job.save_options(project, score_threshold=0.84, nms_iou=0.3, max_boxes=7, device="cpu")
    s = job.prediction_settings(project)
    assert (s.score_threshold, s.nms_iou, s.max_boxes) == (0.84, 0.3, 7)
    s = job.prediction_settings(project, score_threshold=0.2, batch_size=2)
    assert (s.score_threshold, s.nms_iou, s.batch_size) == (0.2, 0.3, 2)
    assert s.class_overlap_iou == job.DEFAULT_OPTIONS["class_overlap_iou"]  # kept when not given
    job.save_options(project, score_threshold=0.84, nms_iou=0.3, max_boxes=7, device="cpu", class_overlap_iou=0)
    assert job.prediction_settings(project).class_overlap_iou == 0
    job.save_options(project, score_threshold=0.8, nms_iou=0.3, max_boxes=7, device="cpu")
    assert job.saved_options(project)["class_overlap_iou"] == 0
    assert job.prediction_settings(project, class_overlap_iou=0.7).class_overlap_iou == 0.7
    assert job.prediction_settings(project).flip_fusion is False
    job.save_options(project, score_threshold=0.8, nms_iou=0.3, max_boxes=7, device="cpu", flip_fusion=True)
    assert job.prediction_settings(project).flip_fusion is True
    assert job.saved_options(project)["class_overlap_iou"] == 0  # what was not given stays
    assert job.prediction_settings(project, flip_fusion=False).flip_fusion is False
    project.set_setting(job.SETTING_OPTIONS, {"score_threshold": "high", "max_boxes": 9})
    assert job.saved_options(project) == {**job.DEFAULT_OPTIONS, "max_boxes": 9}


def test_class_mapping_says_what_is_wrong(project):
    names = ["__background__", "cat", "dog"]
    with pytest.raises(JobError, match="no classes yet.*cat, dog"):
        job.class_mapping(project, "checkpoint:x", names)
    project.add_category("bird")
    with pytest.raises(JobError, match="None of the model's classes maps"):
        job.class_mapping(project, "checkpoint:x", names)
    assert job.bring_in(project, names, "Dog") == ["dog"]
    assert job.class_mapping(project, "checkpoint:x", names) == {2: project.category_by_name("dog").id}
    with pytest.raises(JobError, match="no class named 'cow'"):
        job.bring_in(project, names, "cow")


def test_plan_needs_images_and_names_the_model_in_words(project):
    from labeler.ml.predict import ModelChoice

    ckpt = save_tiny_checkpoint(project.root / ".labeler" / "runs" / "1" / "best.pth")
    project.add_category("cat")
    choice = ModelChoice.checkpoint(ckpt, project.root)
    with pytest.raises(JobError, match="no images"):
        job.plan_prelabel(project, choice, [], job.prediction_settings(project))
    plan = job.plan_prelabel(project, choice, [1], job.prediction_settings(project))
    assert plan.labels == {1: project.category_by_name("cat").id}
    assert plan.start_line("cpu") == "Pre-labeling 1 image with checkpoint .labeler/runs/1/best.pth on cpu"


def test_the_saved_default_is_the_predictors():
    pytest.importorskip("torch")
    from labeler.ml.postprocess import CLASS_OVERLAP_IOU
    from labeler.ml.predict import PredictionSettings

    assert job.DEFAULT_OPTIONS["class_overlap_iou"] == CLASS_OVERLAP_IOU == PredictionSettings().class_overlap_iou
    assert job.DEFAULT_OPTIONS["flip_fusion"] is PredictionSettings().flip_fusion is False
