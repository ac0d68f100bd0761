"""benchmarks/loop.py's simulated annotator: each kind of correction it makes on a pre-labeled image,
through the core commands, is the kind the issue names, and the store counts exactly those edits
plus the one Ctrl+Enter for the round (what the benchmark's actions per image are)."""

from labeler.core.rounds import derive_rounds
from tests.benchmarks import load_benchmark


def _bench():
    return load_benchmark("loop")


def test_each_correction_is_counted_by_kind_and_in_the_round(project):
    bench = _bench()
    circle, square = project.add_category("circle"), project.add_category("square")
    cats = {"circle": circle.id, "square": square.id}
    a = project.image_by_path("a.jpg").id  # 64 x 48
    project.replace_predictions(a, [
        (circle.id, 2, 2, 20, 20, 0.95),   # right: accepted as it is
        (circle.id, 30, 2, 50, 20, 0.90),  # on a square: re-classed
        (square.id, 2, 25, 15, 45, 0.80),  # IoU 0.66 with its square: rectangle fixed
        (circle.id, 40, 30, 60, 46, 0.70),  # on nothing: deleted
        (square.id, 44, 2, 60, 10, 0.30),  # under the threshold: not shown, costs nothing
    ], model="m1")
    truth = [("circle", 2, 2, 20, 20), ("square", 30, 2, 50, 20), ("square", 2, 26, 20, 46),
             ("circle", 24, 24, 34, 34)]  # the last one has no prediction: drawn, after choosing its class

    done = bench.review(project, a, truth, cats, tight=0.8)

    assert dict(done) == {"reclass": 1, "rect": 1, "delete": 1, "draw": 1, "choose": 1}
    assert project.image(a).reviewed
    kept = sorted((b.category_id, tuple(round(v) for v in b.rect)) for b in project.boxes(a))
    assert kept == sorted((cats[n], tuple(r)) for n, *r in truth)
    (rnd,) = [r for r in derive_rounds(project).rounds if r.model_key == "m1"]
    assert rnd.images_reviewed == 1
    assert rnd.actions_per_image == 1 + sum(done.values())  # the corrections and the one Ctrl+Enter
    # drawing the same scene by hand: 4 boxes, 3 class choices (circle, square, -, circle), the review
    assert bench.hand_actions(truth) == 8


def test_keep_refuses_a_folder_that_holds_a_project_already(tmp_path, capsys):
    import pytest
    (tmp_path / "file").mkdir()
    with pytest.raises(SystemExit) as stop:
        _bench().main(["--order", "file", "--keep", str(tmp_path)])
    assert stop.value.code == 2
    assert "exists already" in capsys.readouterr().err
    assert list((tmp_path / "file").iterdir()) == []


def test_corrections_say_what_each_prediction_needs():
    bench = _bench()
    cats = {"circle": 1, "square": 2}
    truth = [("circle", 0, 0, 10, 10), ("square", 20, 0, 30, 10), ("square", 40, 0, 50, 10)]
    preds = [(2, (0, 0, 10, 10), 0.9), (2, (20, 0, 31, 10), 0.8), (1, (60, 60, 70, 70), 0.7)]
    assert bench.corrections(preds, truth, cats, tight=0.95) == [
        ("reclass", 0, 1), ("rect", 1, (20, 0, 30, 10)), ("delete", 2), ("choose",), ("draw", 2, (40, 0, 50, 10))]
    assert bench.corrections([], truth[:2], cats, tight=0.8) == [
        ("choose",), ("draw", 1, (0, 0, 10, 10)), ("choose",), ("draw", 2, (20, 0, 30, 10))]


def test_the_postprocess_benchmark_wants_a_loop_project(tmp_path, capsys):
    import pytest
    with pytest.raises(SystemExit) as stop:
        load_benchmark("postprocess").main([str(tmp_path)])
    assert stop.value.code == 2 and "holds no labeler project" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        load_benchmark("postprocess").main([str(tmp_path), "--variants", "sharpen"])
    assert "unknown variant 'sharpen'" in capsys.readouterr().err
