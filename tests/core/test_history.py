"""Predictions kept as proposed, their fates through every edit and undo, edits per image, and the
schema-1 -> 2 -> 3 migration."""

import sqlite3
import time

import pytest

from labeler.core import commands as C
from labeler.core import history as H
from labeler.core import informativeness as I
from labeler.core import schema
from labeler.core.store import ACCEPTED, HUMAN, PREDICTED, Project


def fates(project, image_id):
    return {p.box_id: p.fate for p in H.predictions(project, [image_id])}


def setup_predictions(project):
    dog = project.add_category("dog")
    a = project.image_by_path("a.jpg").id
    boxes = project.replace_predictions(a, [(dog.id, 1, 1, 20, 20, 0.9), (dog.id, 30, 5, 50, 30, 0.2),
                                            (dog.id, 5, 25, 25, 45, 0.7)], model="coco:x")
    return dog, a, [b.id for b in boxes]


def test_each_proposed_box_is_kept_with_its_model_and_link(project):
    dog, a, ids = setup_predictions(project)
    preds = H.predictions(project, [a])
    assert [(p.box_id, p.model, p.score, p.fate) for p in preds] == [
        (ids[0], "coco:x", 0.9, None), (ids[1], "coco:x", 0.2, None), (ids[2], "coco:x", 0.7, None)]
    assert preds[0].rect == (1, 1, 20, 20)
    assert H.activity(project)[a].prelabel_model == "coco:x"
    # moving, re-classing, accepting keep the link and the proposal as it was
    cat = project.add_category("cat")
    for cmd in (C.SetBoxRect(ids[0], (2, 2, 22, 22)), C.SetCategory([ids[2]], cat.id), C.AcceptBoxes([ids[1]])):
        H.perform(project, cmd)
    preds = H.predictions(project, [a])
    assert preds[0].rect == (1, 1, 20, 20) and preds[2].category_id == dog.id
    assert all(p.fate is None for p in preds)
    # a second run replaces the unreviewed one: the old proposals stay, marked removed
    project.replace_predictions(a, [(dog.id, 3, 3, 9, 9, 0.5)], model="checkpoint:r2")
    assert len(H.predictions(project, [a])) == 4
    assert {p.box_id: p.fate for p in H.predictions(project, [a])}[ids[0]] is None  # human now, not replaced


def test_delete_is_a_rejection_and_undo_redo_restore_it(project):
    _, a, ids = setup_predictions(project)
    cmd = C.DeleteBoxes([ids[0]])
    cmd.redo(project)
    assert fates(project, a)[ids[0]] == H.REJECTED
    cmd.undo(project)
    assert fates(project, a)[ids[0]] is None
    cmd.redo(project)
    assert fates(project, a)[ids[0]] == H.REJECTED


def test_ctrl_enter_drops_hidden_ones_as_not_shown(project):
    _, a, ids = setup_predictions(project)
    cmd = C.ReviewImage(a, min_score=0.5)
    cmd.redo(project)
    assert fates(project, a) == {ids[0]: None, ids[1]: H.NOT_SHOWN, ids[2]: None}
    assert H.activity(project)[a].review_threshold == 0.5
    cmd.undo(project)
    assert fates(project, a) == {ids[0]: None, ids[1]: None, ids[2]: None}
    assert H.activity(project)[a].review_threshold is None
    assert {b.state for b in project.boxes(a)} == {PREDICTED}
    cmd.redo(project)
    assert fates(project, a)[ids[1]] == H.NOT_SHOWN
    assert {b.id: b.state for b in project.boxes(a)} == {ids[0]: ACCEPTED, ids[2]: ACCEPTED}


def test_each_command_counts_one_edit_and_undo_counts_too(project):
    dog, a, ids = setup_predictions(project)
    H.perform(project, C.AddBoxes(a, [(dog.id, 2, 2, 9, 9)]))
    delete = C.DeleteBoxes([ids[1]])  # no image_id given: found from the deleted box
    H.perform(project, delete)
    assert H.activity(project)[a].edits == 2
    H.revert(project, delete)
    assert H.activity(project)[a].edits == 3
    H.add_seconds(project, a, 4.5)
    H.add_seconds(project, a, 0.5)
    assert H.activity(project)[a].seconds == 5.0


def test_imported_predictions_count_as_model_imported(project, tmp_path):
    import json

    from labeler.core.formats.coco import import_coco

    a = project.image_by_path("a.jpg")
    coco = {"images": [{"id": 1, "file_name": "a.jpg", "width": a.width, "height": a.height}],
            "categories": [{"id": 1, "name": "dog"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 10, 10], "score": 0.8}]}
    path = tmp_path / "preds.json"
    path.write_text(json.dumps(coco))
    import_coco(project, path, as_predictions=True)
    assert [(p.model, p.score) for p in H.predictions(project, [a.id])] == [("imported", 0.8)]
    assert H.activity(project)[a.id].prelabel_model == "imported"
    # and a score for the review queue, from the scores the file brings
    assert H.activity(project)[a.id].informativeness == pytest.approx(I.informativeness([0.8], 0.5))


# The schema-1 tables exactly as the release before version 2 created them (the history module's
# statements, then version 3's box flags, were appended to that list; nothing else changed).
V1_SCHEMA = schema.SCHEMA[:len(schema.SCHEMA) - len(H.HISTORY_SCHEMA) - len(schema.BOX_FLAGS_SCHEMA)]


def test_schema_1_store_migrates_in_one_transaction_keeping_every_box(tmp_path):
    folder = tmp_path / "old"
    (folder / ".labeler").mkdir(parents=True)
    conn = sqlite3.connect(folder / ".labeler" / "project.sqlite")
    for stmt in V1_SCHEMA:
        conn.execute(stmt)
    now = time.time()
    conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    conn.execute("INSERT INTO images (path, width, height, added_at) VALUES ('a.jpg', 64, 48, ?)", (now,))
    conn.execute("INSERT INTO categories (name, color, position) VALUES ('dog', '#fff', 0)")
    rows = [(1, 1, 1, 1, 10, 10, "human", None, HUMAN, now, now),
            (1, 1, 2, 2, 20, 20, "model", 0.6, PREDICTED, now, now),
            (1, 1, 3, 3, 30, 30, "model", 0.9, ACCEPTED, now, now)]
    conn.executemany("INSERT INTO boxes (image_id, category_id, x1, y1, x2, y2, source, score, state, created_at,"
                     " updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
    conn.commit()
    conn.close()
    with Project.open(folder) as p:
        assert p.get_setting("nothing") is None
        assert [(b.rect, b.state, b.score) for b in p.boxes(1)] == [(r[2:6], r[8], r[7]) for r in rows]
        preds = H.predictions(p)
        assert [(x.box_id, x.model, x.score) for x in preds] == [(2, "unknown", 0.6)]
        assert H.activity(p)[1].prelabel_model == "unknown"
        assert p._query("SELECT value FROM meta WHERE key='schema_version'") == [(str(schema.SCHEMA_VERSION),)]
        # 2 -> 3 stored the queue's informativeness of the kept prediction (default formula, t = 0.5)
        assert H.activity(p)[1].informativeness == pytest.approx(I.informativeness([0.6], 0.5))
        # the new tables work after migration: a delete records a rejection
        C.DeleteBoxes([2]).redo(p)
        assert H.predictions(p)[0].fate == H.REJECTED


def test_failed_migration_leaves_the_schema_1_store_untouched(tmp_path, monkeypatch):
    folder = tmp_path / "old"
    (folder / ".labeler").mkdir(parents=True)
    conn = sqlite3.connect(folder / ".labeler" / "project.sqlite")
    for stmt in V1_SCHEMA:
        conn.execute(stmt)
    conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    conn.commit()
    conn.close()
    monkeypatch.setitem(schema.MIGRATIONS, 1, schema.MIGRATIONS[1] + ["THIS IS NOT SQL"])

    from labeler.core.store import StoreError

    with pytest.raises(StoreError):
        Project.open(folder)
    conn = sqlite3.connect(folder / ".labeler" / "project.sqlite")
    assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == ("1",)
    assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name='predictions'").fetchone()
    conn.close()
