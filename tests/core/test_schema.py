"""Schema 3 -> 4: the box flags column, added in one transaction to a store the code makes now at
version 3, keeping every box, prediction and activity row as it was."""

import sqlite3
import time

import pytest

from labeler.core import commands as C
from labeler.core import history as H
from labeler.core import schema
from labeler.core.records import CROWD
from labeler.core.store import ACCEPTED, HUMAN, PREDICTED, Project, StoreError

# The schema-3 tables exactly as version 3 created them: version 4 only appended its statements.
V3_SCHEMA = schema.SCHEMA[:len(schema.SCHEMA) - len(schema.BOX_FLAGS_SCHEMA)]


V3_RESTORED_TRIGGER = """CREATE TRIGGER predictions_restored AFTER INSERT ON boxes
        BEGIN
            UPDATE predictions SET fate = NULL WHERE box_id = NEW.id AND fate IS NOT NULL;
        END"""


def make_v3_store(folder):
    """A version-3 store with an image, two classes, a person's, an accepted and a predicted box
    (the predictions trigger records the last) and an activity row."""
    (folder / ".labeler").mkdir(parents=True)
    conn = sqlite3.connect(folder / ".labeler" / "project.sqlite")
    for stmt in V3_SCHEMA:
        conn.execute(stmt)
    now = time.time()
    conn.execute(V3_RESTORED_TRIGGER)  # as versions 2 to 4 had it (5 dropped it)
    conn.execute("INSERT INTO meta VALUES ('schema_version', '3')")
    conn.execute("INSERT INTO images (path, width, height, reviewed, added_at) VALUES ('a.jpg', 64, 48, 1, ?)", (now,))
    conn.executemany("INSERT INTO categories (name, color, position) VALUES (?, '#fff', ?)", [("dog", 0), ("cat", 1)])
    rows = [(1, 1, 1, 1, 10, 10, "human", None, HUMAN, now, now),
            (1, 2, 2, 2, 20, 20, "model", 0.6, PREDICTED, now, now),
            (1, 1, 3, 3, 30, 30, "model", 0.9, ACCEPTED, now, now)]
    conn.executemany("INSERT INTO boxes (image_id, category_id, x1, y1, x2, y2, source, score, state, created_at,"
                     " updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
    conn.execute("INSERT INTO image_activity (image_id, seconds, edits, informativeness) VALUES (1, 12.5, 3, 0.25)")
    conn.commit()
    conn.close()
    return rows


def test_schema_3_store_migrates_keeping_every_box(tmp_path):
    folder = tmp_path / "old"
    rows = make_v3_store(folder)
    with Project.open(folder) as p:
        assert p._query("SELECT value FROM meta WHERE key='schema_version'") == [(str(schema.SCHEMA_VERSION),)]
        boxes = p.boxes(1)
        assert [(b.id, b.category_id, b.rect, b.source, b.score, b.state, b.created_at, b.flags) for b in boxes] == [
            (i, r[1], r[2:6], r[6], r[7], r[8], r[9], 0) for i, r in enumerate(rows, 1)]
        assert [(x.box_id, x.score, x.fate) for x in H.predictions(p)] == [(2, 0.6, None)]
        act = H.activity(p)[1]
        assert (act.seconds, act.edits, act.informativeness) == (12.5, 3, 0.25)
        # the new column works: a flagged box is stored, and the history triggers still run
        p.restore_boxes([boxes[0].__class__(**{**boxes[0].__dict__, "flags": CROWD})])
        assert p.box(1).flags == CROWD and p.box_flags() == {1: CROWD}
        C.DeleteBoxes([2]).redo(p)
        assert H.predictions(p)[0].fate == H.REJECTED
    # a migrated store has the very columns a new one has
    new = tmp_path / "new"
    new.mkdir()
    Project.open(new).close()
    cols = [sqlite3.connect(d / ".labeler" / "project.sqlite").execute("PRAGMA table_info(boxes)").fetchall()
            for d in (folder, new)]
    assert cols[0] == cols[1]


def test_failed_migration_leaves_the_schema_3_store_untouched(tmp_path, monkeypatch):
    folder = tmp_path / "old"
    make_v3_store(folder)
    monkeypatch.setitem(schema.MIGRATIONS, 3, schema.MIGRATIONS[3] + ["THIS IS NOT SQL"])
    with pytest.raises(StoreError):
        Project.open(folder)
    conn = sqlite3.connect(folder / ".labeler" / "project.sqlite")
    assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == ("3",)
    assert "flags" not in [c[1] for c in conn.execute("PRAGMA table_info(boxes)")]
    assert conn.execute("SELECT COUNT(*) FROM boxes").fetchone() == (3,)
    conn.close()


def test_version_5_drops_the_insert_trigger_and_undo_still_restores_a_predictions_fate(tmp_path):
    folder = tmp_path / "old"
    make_v3_store(folder)
    with Project.open(folder) as p:
        assert not p._query("SELECT name FROM sqlite_master WHERE type='trigger' AND name='predictions_restored'")
        delete = C.DeleteBoxes([2])
        delete.redo(p)
        assert H.predictions(p)[0].fate == H.REJECTED
        delete.undo(p)
        assert p.box(2).state == PREDICTED and H.predictions(p)[0].fate is None
