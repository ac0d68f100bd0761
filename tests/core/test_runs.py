"""labeler.core.runs: each rule about a stored training run, once."""

import pytest

from labeler.core import runs
from labeler.core.runs import SETTING_PRELABEL_MODEL, Run
from labeler.core.store import StoreError


def _run(project, settings=None, **fields) -> int:
    run_id = project.add_run("small_fpn", settings or {}, ["car"])
    if fields:
        project.update_run(run_id, **fields)
    return run_id


def test_a_run_is_a_value_made_from_the_store_row(new_project):
    project = new_project({"a.png": (20, 10)})
    run_id = _run(project, {"epochs": 2}, status="finished", epochs=[{"epoch": 1}, {"epoch": 2}], message="Done.")
    run = runs.find(project, run_id)
    assert (run.id, run.architecture, run.status, run.classes, len(run.epochs), run.message) == (
        run_id, "small_fpn", "finished", ("car",), 2, "Done.")
    assert runs.load(project) == [run]
    with pytest.raises(AttributeError):
        run.status = "failed"  # frozen
    with pytest.raises(StoreError, match="No training run 99"):
        runs.find(project, 99)


def test_planned_epochs_are_the_users_number_else_the_engines_resolved_default(new_project):
    project = new_project({"a.png": (20, 10)})
    asked = _run(project, {"epochs": 4, "resolved": {"epochs": 9}})
    default = _run(project, {"epochs": None, "resolved": {"epochs": 9}})
    by_time = _run(project, {"epochs": None, "minutes": 5, "resolved": {"epochs": None}})
    planned = {r.id: r.planned_epochs for r in runs.load(project)}
    assert planned == {asked: 4, default: 9, by_time: None}
    assert Run.from_row({"id": 1, "settings": "broken"}, project.root).planned_epochs is None


def test_the_checkpoint_path_is_resolved_and_none_when_missing_on_disk(new_project, tmp_path):
    project = new_project({"a.png": (20, 10)})
    inside = _run(project, checkpoint=".labeler/runs/1/best.pth")
    gone = _run(project, checkpoint=".labeler/runs/2/best.pth")
    outside = tmp_path / "elsewhere" / "best.pth"
    elsewhere = _run(project, checkpoint=str(outside))
    none = _run(project)
    (project.root / ".labeler/runs/1").mkdir(parents=True, exist_ok=True)
    (project.root / ".labeler/runs/1/best.pth").write_bytes(b"x")
    outside.parent.mkdir()
    outside.write_bytes(b"x")
    paths = {r.id: r.checkpoint_path for r in runs.load(project)}
    assert paths == {inside: project.root / ".labeler/runs/1/best.pth", gone: None, elsewhere: outside, none: None}


def test_best_map_is_a_number_or_none(new_project):
    project = new_project({"a.png": (20, 10)})
    scored = _run(project, best_map=0.625)
    unscored = _run(project)
    best = {r.id: r.best_map50 for r in runs.load(project)}
    assert best == {scored: 0.625, unscored: None}


def test_the_run_whose_checkpoint_is_the_setting_pre_labels(new_project):
    project = new_project({"a.png": (20, 10)})
    first = _run(project, checkpoint=".labeler/runs/1/best.pth")
    second = _run(project, checkpoint=".labeler/runs/2/best.pth")
    assert runs.prelabeling_run(project) is None  # no setting: COCO weights pre-label
    project.set_setting(SETTING_PRELABEL_MODEL, {"kind": "checkpoint", "path": ".labeler/runs/2/best.pth"})
    assert [r.prelabels for r in runs.load(project)] == [False, True]
    assert runs.prelabeling_run(project).id == second and runs.find(project, first).prelabels is False
    absolute = str(project.root / ".labeler/runs/1/best.pth")
    project.set_setting(SETTING_PRELABEL_MODEL, {"kind": "checkpoint", "path": absolute})
    assert runs.prelabeling_run(project).id == first  # an absolute path names the same file
    project.set_setting(SETTING_PRELABEL_MODEL, {"kind": "coco", "architecture": "resnet50_fpn"})
    assert runs.prelabeling_run(project) is None
