"""An edit the disk cannot take is refused, rolled back whole, and edits work again when the disk does.

The disk fills for real: SQLite's own page limit (`PRAGMA max_page_count`) on the project's
connection makes the next write that needs a page fail with SQLITE_FULL, as a full disk does.
"""

import sqlite3

import pytest

from labeler.core import commands, history
from labeler.core.errors import LabelerError
from labeler.core.store import Project, StoreWriteError, _storage_error


def fill_the_disk(project: Project) -> None:
    """No page more than the store has now: the next write that needs one fails with SQLITE_FULL."""
    pages = project._conn.execute("PRAGMA page_count").fetchone()[0]
    project._conn.execute(f"PRAGMA max_page_count = {pages}")


def free_the_disk(project: Project) -> None:
    project._conn.execute("PRAGMA max_page_count = 1073741823")


def _state(project, image_id):
    rows = project._query("SELECT edits FROM image_activity WHERE image_id=?", (image_id,))
    return sorted((b.id, b.x1, b.y1, b.x2, b.y2) for b in project.boxes(image_id)), rows


def test_a_full_disk_refuses_the_edit_whole_and_says_so(new_project):
    project = new_project({"a.png": (400, 300)}, classes=["car"])
    image = project.images()[0].id
    car = project.category_by_name("car").id
    history.perform(project, commands.AddBoxes(image, [(car, 1, 1, 9, 9)]))
    heard = []
    project.add_listener(lambda kind, ids: heard.append(kind))
    before = _state(project, image)
    fill_the_disk(project)
    many = [(car, i % 300, 1, i % 300 + 20, 40) for i in range(400)]  # far more than the free pages hold
    with pytest.raises(StoreWriteError) as caught:
        history.perform(project, commands.AddBoxes(image, many))
    err = caught.value
    assert isinstance(err, LabelerError) and err.kind == "full"
    assert "disk is full" in str(err) and "not saved" in str(err) and "free some space" in str(err)
    assert _state(project, image) == before  # no box, and the edit was not counted either
    assert heard == []  # nothing announced for an edit that did not land
    free_the_disk(project)
    history.perform(project, commands.AddBoxes(image, many[:3]))
    assert len(project.boxes(image)) == 4
    assert heard  # edits, and their notices, work again


def test_a_store_filled_to_the_last_page_stays_whole(new_project):
    project = new_project({"a.png": (400, 300)}, classes=["car"])
    image = project.images()[0].id
    car = project.category_by_name("car").id
    boxes = project.add_boxes(image, [(car, i, i, i + 30, i + 30) for i in range(50)])
    fill_the_disk(project)
    # fill the last free space with boxes until the disk refuses one
    with pytest.raises(StoreWriteError):
        for i in range(10_000):
            project.add_box(image, car, 1, 1, 50, 50)
    kept = len(project.boxes(image))
    with pytest.raises(StoreWriteError):
        project.add_category("truck " * 2000)  # a row that needs a page of its own
    assert project.category_by_name("truck " * 2000) is None
    assert len(project.boxes(image)) == kept
    free_the_disk(project)
    project.delete_boxes([boxes[0].id])
    assert len(project.boxes(image)) == kept - 1
    assert project._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_the_message_says_what_happened(tmp_path):
    from types import SimpleNamespace

    def at(root):
        return SimpleNamespace(root=root, store_dir=root / ".labeler")

    root = tmp_path / "photos"
    (root / ".labeler").mkdir(parents=True)
    io = _storage_error(sqlite3.OperationalError("disk I/O error"), at(root))
    assert io.kind == "io" and "I/O error" in str(io) and "not saved" in str(io)
    ro = _storage_error(sqlite3.OperationalError("attempt to write a readonly database"), at(root))
    assert ro.kind == "readonly" and "cannot be written" in str(ro)
    gone = _storage_error(sqlite3.OperationalError("disk I/O error"), at(tmp_path / "unplugged"))
    assert gone.kind == "gone" and "is gone" in str(gone) and str(tmp_path / "unplugged") in str(gone)
    busy = _storage_error(sqlite3.OperationalError("database is locked"), at(root))
    assert busy.kind == "busy"


def test_a_disk_that_refuses_every_write_refuses_each_edit_and_frees_the_store(new_project):
    import threading

    project = new_project({"a.png": (400, 300)}, classes=["car"])
    image = project.images()[0].id
    box = project.add_box(image, project.category_by_name("car").id, 1, 1, 50, 50)
    project._conn.execute("PRAGMA query_only = ON")  # SQLite refuses every write, as a read-only remount does
    for edit in (lambda: project.delete_boxes([box.id]), lambda: project.set_box_rect(box.id, 5, 5, 60, 60),
                 lambda: project.set_reviewed(image)):
        with pytest.raises(StoreWriteError) as caught:
            edit()
        assert caught.value.kind == "readonly" and "not saved" in str(caught.value)
    assert project.boxes(image) == [box]
    project._conn.execute("PRAGMA query_only = OFF")
    other = threading.Thread(target=lambda: project.delete_boxes([box.id]))  # the store's lock was let go
    other.start()
    other.join(10)
    assert not other.is_alive() and project.boxes(image) == []
