import multiprocessing
import os
import shutil
import signal
import sqlite3
import time

import pytest

from labeler.core.store import (
    ACCEPTED, HUMAN, PREDICTED, SCHEMA_VERSION, Project, ProjectLockedError, StoreError,
)

from . import imagefactory as f


def by_path(project):
    return {im.path: im for im in project.images()}


def test_scan_records_sizes_unreadable_and_case_insensitive_extensions(project):
    ims = by_path(project)
    assert set(ims) == {"a.jpg", "sub/b.PNG", "rot.JPEG", "broken.jpg"}
    assert (ims["a.jpg"].width, ims["a.jpg"].height) == (64, 48)
    assert (ims["rot.JPEG"].width, ims["rot.JPEG"].height) == (40, 80)  # displayed, after EXIF
    assert ims["broken.jpg"].status == "unreadable"
    assert "not an image" in ims["broken.jpg"].error
    assert ims["a.jpg"].status == "unlabeled"


def test_rescan_adds_new_marks_vanished_and_keeps_their_boxes(project, folder):
    cat = project.add_category("dog")
    a = by_path(project)["a.jpg"]
    project.add_box(a.id, cat.id, 1, 1, 20, 20)
    (folder / "a.jpg").rename(folder / "a.moved")
    f.rgb(folder / "new.webp", (10, 10))
    r = project.scan()
    assert r.added == 1 and r.missing == 1
    ims = by_path(project)
    assert ims["a.jpg"].status == "missing"
    assert len(project.boxes(a.id)) == 1
    (folder / "a.moved").rename(folder / "a.jpg")
    r = project.scan()
    assert r.reappeared == 1
    assert by_path(project)["a.jpg"].status == "in progress"  # has a person's box, not reviewed


def test_rescan_counts_changed_pictures_not_touched_or_copied_files(project, folder):
    a = by_path(project)["a.jpg"]
    st = (folder / "a.jpg").stat()
    os.utime(folder / "a.jpg", (st.st_atime + 100, st.st_mtime + 100))  # as a copy or a backup restore does
    r = project.scan()
    assert (r.added, r.updated, r.missing) == (0, 0, 0)
    assert project.scan().updated == 0
    f.rgb(folder / "a.jpg", (30, 17))  # a different picture under the same name
    r = project.scan()
    assert r.updated == 1
    assert (project.image(a.id).width, project.image(a.id).height) == (30, 17)

def test_moved_folder_still_opens(project, folder, tmp_path):
    cat = project.add_category("dog")
    a = by_path(project)["sub/b.PNG"]
    project.add_box(a.id, cat.id, 1, 1, 20, 10)
    project.close()
    moved = tmp_path / "elsewhere"
    shutil.move(str(folder), str(moved))
    with Project.open(moved) as p2:
        r = p2.scan()
        assert r.added == 0 and r.missing == 0
        b = p2.image_by_path("sub/b.PNG")
        assert [x.rect for x in p2.boxes(b.id)] == [(1.0, 1.0, 20.0, 10.0)]


def test_boxes_are_clipped_and_slivers_refused(project):
    cat = project.add_category("dog")
    a = by_path(project)["a.jpg"]
    box = project.add_box(a.id, cat.id, -10, 5, 100, 30)
    assert box.rect == (0.0, 5.0, 64.0, 30.0)
    with pytest.raises(StoreError, match="at least"):
        project.add_box(a.id, cat.id, 70, 5, 90, 30)  # entirely outside
    with pytest.raises(StoreError):
        project.set_box_rect(box.id, 10, 10, 10.5, 30)


def test_status_derivation(project):
    cat = project.add_category("dog")
    a = by_path(project)["a.jpg"]
    project.replace_predictions(a.id, [(cat.id, 1, 1, 20, 20, 0.9)])
    assert project.image(a.id).status == "pre-labeled"
    project.set_reviewed(a.id)
    assert project.image(a.id).status == "reviewed"
    b = by_path(project)["sub/b.PNG"]
    project.set_reviewed(b.id)  # reviewed with no boxes: a negative
    assert project.image(b.id).status == "reviewed" and project.image(b.id).box_count == 0


def test_replace_predictions_keeps_human_and_accepted(project):
    cat = project.add_category("dog")
    a = by_path(project)["a.jpg"]
    human = project.add_box(a.id, cat.id, 1, 1, 10, 10)
    preds = project.replace_predictions(a.id, [(cat.id, 2, 2, 20, 20, 0.8), (cat.id, 3, 3, 30, 30, 0.7)])
    project.set_box_state([preds[0].id], ACCEPTED)
    project.replace_predictions(a.id, [(cat.id, 5, 5, 25, 25, 0.6)])
    states = sorted((b.state, b.rect) for b in project.boxes(a.id))
    assert states == [
        (ACCEPTED, (2.0, 2.0, 20.0, 20.0)),
        (HUMAN, human.rect),
        (PREDICTED, (5.0, 5.0, 25.0, 25.0)),
    ]


def test_category_operations(project):
    dog = project.add_category("dog")
    cat = project.add_category("cat", "#00ff00")
    with pytest.raises(StoreError, match="already exists"):
        project.add_category("dog")
    a = by_path(project)["a.jpg"]
    project.add_box(a.id, dog.id, 1, 1, 10, 10)
    project.add_box(a.id, cat.id, 1, 1, 10, 10)
    project.rename_category(dog.id, "hound")
    project.recolor_category(dog.id, "#123456")
    project.reorder_categories([cat.id, dog.id])
    assert [(c.name, c.color) for c in project.categories()] == [("cat", "#00ff00"), ("hound", "#123456")]
    project.merge_categories(cat.id, dog.id)
    assert [c.name for c in project.categories()] == ["hound"]
    assert {b.category_id for b in project.boxes(a.id)} == {dog.id}
    project.delete_category(dog.id)
    assert project.boxes(a.id) == [] and project.categories() == []


def test_second_writer_is_told_clearly(project, folder):
    with pytest.raises(ProjectLockedError, match="open in another labeler process"):
        Project.open(folder)
    with Project.open(folder, readonly=True) as ro:  # readers are fine
        assert len(ro.images()) == 4
        with pytest.raises(StoreError, match="read-only"):
            ro.add_category("x")


def _hold_lock(folder, ready):
    p = Project.open(folder)
    ready.set()
    time.sleep(30)


def test_lock_held_by_another_process(folder):
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    proc = ctx.Process(target=_hold_lock, args=(str(folder), ready))
    proc.start()
    try:
        assert ready.wait(20)
        with pytest.raises(ProjectLockedError, match=f"pid {proc.pid}"):
            Project.open(folder)
    finally:
        proc.kill()
        proc.join()
    Project.open(folder).close()  # the OS dropped the dead process's lock


def test_newer_store_version_is_refused(project, folder):
    project._conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION + 1),))
    project.close()
    with pytest.raises(StoreError, match="newer labeler"):
        Project.open(folder)


def test_not_a_store(folder):
    (folder / ".labeler").mkdir()
    (folder / ".labeler" / "project.sqlite").write_bytes(b"garbage" * 100)
    # a file that is not a database is a damaged store: said so, with whether a backup can restore it
    with pytest.raises(StoreError, match=r"is damaged \(file is not a database\).*no good backup"):
        Project.open(folder)
    assert (folder / ".labeler" / "project.sqlite").read_bytes() == b"garbage" * 100


def test_listeners_hear_committed_changes_once_per_batch(project):
    heard = []
    project.add_listener(lambda kind, ids: heard.append((kind, ids)))
    cat = project.add_category("dog")
    a = by_path(project)["a.jpg"]
    with project.batch():
        project.add_box(a.id, cat.id, 1, 1, 10, 10)
        project.add_box(a.id, cat.id, 2, 2, 10, 10)
    assert heard == [("categories", ()), ("boxes", (a.id,))]
    heard.clear()
    with pytest.raises(RuntimeError):
        with project.batch():
            project.add_box(a.id, cat.id, 3, 3, 10, 10)
            raise RuntimeError("boom")
    assert heard == [] and len(project.boxes(a.id)) == 2  # rolled back, nothing announced


def test_runs_and_settings(project):
    run = project.add_run("fasterrcnn_mobilenet_v3_large_320_fpn", {"epochs": 2}, ["dog"])
    project.update_run(run, epochs=[{"epoch": 1, "map50": 0.5}], best_map=0.5, status="done")
    r = project.run(run)
    assert r["epochs"][0]["map50"] == 0.5 and r["classes"] == ["dog"] and r["status"] == "done"
    project.set_setting("prelabel.model", {"kind": "coco", "architecture": "x"})
    assert project.get_setting("prelabel.model") == {"kind": "coco", "architecture": "x"}
    assert project.get_setting("missing", 7) == 7


# --- a writer killed in the middle of a stream of edits -----------------------------------
def _edit_forever(folder, image_id, cat_id, log_path):
    p = Project.open(folder)
    with open(log_path, "a") as log:
        i = 0
        while True:
            box = p.add_box(image_id, cat_id, i % 40, 1, i % 40 + 5, 10)
            log.write(f"{box.id}\n")  # written only after the commit returned
            log.flush()
            i += 1


def test_killed_writer_loses_no_committed_edit(folder, tmp_path):
    with Project.open(folder) as p:
        p.scan()
        cat = p.add_category("dog")
        image_id = p.image_by_path("a.jpg").id
    log_path = tmp_path / "committed.log"
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=_edit_forever, args=(str(folder), image_id, cat.id, str(log_path)))
    proc.start()
    deadline = time.time() + 60
    while time.time() < deadline:
        if log_path.exists() and len(log_path.read_text().split()) >= 200:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    committed = {int(x) for x in log_path.read_text().split()}
    assert len(committed) >= 200
    with Project.open(folder) as p:
        stored = {b.id for b in p.boxes(image_id)}
        assert committed <= stored  # every acknowledged edit survived
        assert len(stored) - len(committed) <= 1  # at most the one in flight when killed
        assert p._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
