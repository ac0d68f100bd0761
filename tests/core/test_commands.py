import pytest

from labeler.core import commands as C
from labeler.core.store import ACCEPTED, HUMAN, PREDICTED, StoreError


def snapshot(project, image_id):
    return sorted((b.id, b.category_id, b.rect, b.state) for b in project.boxes(image_id))


def run_undo_redo(project, cmd, image_id):
    before = snapshot(project, image_id)
    cmd.redo(project)
    after = snapshot(project, image_id)
    cmd.undo(project)
    assert snapshot(project, image_id) == before
    cmd.redo(project)
    assert snapshot(project, image_id) == after
    return after


def test_box_commands_are_exact_inverses(project):
    dog = project.add_category("dog")
    cat = project.add_category("cat")
    a = project.image_by_path("a.jpg").id
    add = C.AddBoxes(a, [(dog.id, 1, 1, 20, 20), (dog.id, 5, 5, 30, 30)])
    run_undo_redo(project, add, a)
    ids = [b.id for b in add.created]
    assert {b.id for b in project.boxes(a)} == set(ids)  # redo keeps the same ids
    run_undo_redo(project, C.SetBoxRect(ids[0], (2, 2, 22, 22)), a)
    run_undo_redo(project, C.MoveBoxes(ids, 30, 0), a)  # the canvas limits the move (group_delta)
    moved = project.box(ids[1])
    assert moved.rect == (35.0, 5.0, 60.0, 30.0)
    before = snapshot(project, a)
    with pytest.raises(StoreError):  # moved wholly out of the image: refused by clip_box, nothing moves
        C.MoveBoxes(ids, 100, 0).redo(project)
    assert snapshot(project, a) == before
    run_undo_redo(project, C.SetCategory(ids, cat.id), a)
    run_undo_redo(project, C.DeleteBoxes(ids), a)
    assert project.boxes(a) == []


def test_accept_and_review(project):
    dog = project.add_category("dog")
    a = project.image_by_path("a.jpg").id
    preds = project.replace_predictions(a, [(dog.id, 1, 1, 20, 20, 0.9), (dog.id, 2, 2, 30, 30, 0.3)])
    run_undo_redo(project, C.AcceptBoxes([preds[0].id]), a)
    assert project.box(preds[0].id).state == ACCEPTED
    project.update_boxes([project.box(preds[0].id).__class__(**{**project.box(preds[0].id).__dict__, "state": PREDICTED})])
    review = C.ReviewImage(a, min_score=0.5)
    before = snapshot(project, a)
    review.redo(project)
    assert [b.state for b in project.boxes(a)] == [ACCEPTED]  # the hidden low-score one is gone
    assert project.image(a).reviewed
    review.undo(project)
    assert snapshot(project, a) == before and not project.image(a).reviewed


def test_editing_a_prediction_makes_it_human(project):
    dog = project.add_category("dog")
    a = project.image_by_path("a.jpg").id
    (p,) = project.replace_predictions(a, [(dog.id, 1, 1, 20, 20, 0.9)])
    cmd = C.SetBoxRect(p.id, (2, 2, 22, 22))
    cmd.redo(project)
    assert project.box(p.id).state == HUMAN
    cmd.undo(project)
    assert project.box(p.id).state == PREDICTED


def test_category_commands(project):
    a = project.image_by_path("a.jpg").id
    add = C.AddCategory("dog")
    add.redo(project)
    dog = add.created
    other = project.add_category("cat")
    project.add_box(a, dog.id, 1, 1, 20, 20)
    project.add_box(a, other.id, 1, 1, 20, 20)
    for cmd in (C.RenameCategory(dog.id, "hound"), C.RecolorCategory(dog.id, "#000000"),
                C.ReorderCategories([other.id, dog.id])):
        before = project.categories()
        cmd.redo(project)
        assert project.categories() != before
        cmd.undo(project)
        assert project.categories() == before
    before_cats, before_boxes = project.categories(), snapshot(project, a)
    for cmd in (C.DeleteCategory(dog.id), C.MergeCategory(dog.id, other.id)):
        cmd.redo(project)
        cmd.undo(project)
        assert project.categories() == before_cats
        assert snapshot(project, a) == before_boxes
    add.undo(project)
    assert [c.name for c in project.categories()] == ["cat"]


def test_flags_survive_every_edit_and_its_undo(project):
    """A crowd region or a VOC difficult box (from an import) keeps its mark through moves,
    resizes, re-class, accept, review, delete, class delete and merge, and their undo and redo."""
    from labeler.core.records import CROWD, DIFFICULT, TRUNCATED

    dog = project.add_category("dog")
    cat = project.add_category("cat")
    a = project.image_by_path("a.jpg").id
    crowd, hard = project.add_boxes(a, [(dog.id, 1, 1, 20, 20, None, CROWD), (dog.id, 5, 5, 30, 30, None, DIFFICULT)])
    pred = project.replace_predictions(a, [(dog.id, 2, 2, 12, 12, 0.9, TRUNCATED)])[0]
    want = {crowd.id: CROWD, hard.id: DIFFICULT, pred.id: TRUNCATED}

    def flags():
        return {b.id: b.flags for b in project.boxes(a)}

    assert flags() == want
    for cmd in (C.SetBoxRect(crowd.id, (2, 2, 22, 22)), C.MoveBoxes([crowd.id, hard.id], 3, 1),
                C.SetCategory([crowd.id, hard.id, pred.id], cat.id), C.AcceptBoxes([pred.id]),
                C.DeleteBoxes([hard.id]), C.MergeCategory(dog.id, cat.id), C.DeleteCategory(dog.id)):
        cmd.redo(project)
        assert {i: f for i, f in want.items() if i in flags()} == flags()
        cmd.undo(project)
        assert flags() == want, cmd
        cmd.redo(project)
        cmd.undo(project)
        assert flags() == want, cmd
    review = C.ReviewImage(a, min_score=0.5)
    review.redo(project)
    assert flags() == want
    review.undo(project)
    assert flags() == want
