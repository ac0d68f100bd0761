"""Backups (online, checked, rotated) and recovery from a damaged store."""

from __future__ import annotations

import sqlite3
import time

import pytest

from labeler.core import backup
from labeler.core.backup import DamagedStoreError
from labeler.core.store import DB_NAME, Project, StoreError
from tests.projects import write_images


def _project_with_boxes(tmp_path, n_boxes=3):
    folder = write_images(tmp_path / "imgs", {"a.png": (40, 30), "b.png": (50, 20)})
    p = Project.open(folder)
    p.scan()
    car = p.add_category("car")
    img = p.images()[0]
    for i in range(n_boxes):
        p.add_box(img.id, car.id, 1 + i, 1, 10 + i, 10)
    return folder, p


def _damage(db, offset):
    with open(db, "r+b") as fh:
        fh.seek(offset)
        fh.write(b"\0" * 3000)


def test_backup_is_a_valid_db_with_the_edits(tmp_path):
    folder, p = _project_with_boxes(tmp_path)
    made = p.backups.now()
    p.close()
    assert made is not None and made.path.parent == folder / ".labeler" / "backups"
    assert backup.integrity_problem(made.path) is None
    conn = sqlite3.connect(made.path)
    assert conn.execute("SELECT count(*) FROM boxes").fetchone()[0] == 3
    conn.close()
    assert not list(made.path.parent.glob("*.partial"))


@pytest.mark.parametrize("offset", [0, 4096])
def test_damaged_store_names_backup_and_restore_keeps_damaged_file(tmp_path, offset, capsys):
    folder, p = _project_with_boxes(tmp_path)
    p.backups.now()
    p.close()
    db = folder / ".labeler" / DB_NAME
    _damage(db, offset)
    damaged_bytes = db.read_bytes()
    for readonly in (False, True):
        with pytest.raises(DamagedStoreError) as err:
            Project.open(folder, readonly=readonly)
        msg = str(err.value)
        assert "damaged" in msg and "backup-" in msg and "just now" in msg
        assert "made after it (as counted just now) are lost" in msg and f"labeler restore {folder}" in msg
        assert isinstance(err.value, StoreError) and err.value.backup is not None and err.value.lost_edits == 0
    from labeler.cli import main
    assert main(["info", str(folder)]) == 2
    assert "labeler restore" in capsys.readouterr().err
    assert main(["restore", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "Restored backup-" in out and "kept as" in out
    aside = [a for a in db.parent.glob(DB_NAME + ".damaged-*") if not a.name.endswith(("-wal", "-shm"))]
    assert len(aside) == 1 and aside[0].read_bytes() == damaged_bytes
    with Project.open(folder) as again:
        assert sum(1 for _ in again.all_boxes()) == 3


def test_no_backup_says_so(tmp_path):
    folder, p = _project_with_boxes(tmp_path)
    p.close()
    for b in backup.list_backups(folder / ".labeler"):
        b.path.unlink()
    _damage(folder / ".labeler" / DB_NAME, 0)
    with pytest.raises(DamagedStoreError, match="no good backup"):
        Project.open(folder)
    with pytest.raises(StoreError, match="no good backup"):
        backup.restore(folder / ".labeler")
    assert (folder / ".labeler" / DB_NAME).exists()  # nothing was moved


def test_rotation_keeps_recent_and_one_a_day(tmp_path):
    folder, p = _project_with_boxes(tmp_path)
    ddir = folder / ".labeler"
    for b in backup.list_backups(ddir):
        b.path.unlink()
    now = time.time()
    # two a day for ten days, then eight in the last hour
    times = [now - d * 86400 - h * 3600 for d in range(1, 11) for h in (1, 2)] + [now - m * 60 for m in range(8)]
    for t in sorted(times):
        backup.make_backup(p._conn, ddir, now=t)
    p.close()
    kept = backup.list_backups(ddir)
    recent = [b for b in kept if now - b.created < 3600]
    assert len(recent) == backup.KEEP_RECENT
    old_days = {time.strftime("%Y%m%d", time.gmtime(b.created)) for b in kept if now - b.created >= 3600}
    old = [b for b in kept if now - b.created >= 3600]
    assert len(old) == len(old_days)  # one a day
    assert all(now - b.created <= backup.KEEP_DAYS * 86400 for b in old)
    assert len(old) >= backup.KEEP_DAYS - 1


def test_failed_backup_is_deleted_logged_and_old_ones_stay(tmp_path, caplog, monkeypatch):
    folder, p = _project_with_boxes(tmp_path)
    ddir = folder / ".labeler"
    before = backup.list_backups(ddir)
    assert before
    monkeypatch.setattr(backup, "integrity_problem", lambda path, quick=False: "page 2 is bad")
    assert p.backups.now() is None
    assert "integrity check" in p.backups.problem
    assert [b.path for b in backup.list_backups(ddir)] == [b.path for b in before]
    assert not list(backup.backup_dir(ddir).glob("*.partial"))
    assert any("Could not back up" in r.message for r in caplog.records)
    car = p.categories()[0]
    p.add_box(p.images()[0].id, car.id, 2, 2, 9, 9)  # an edit still works
    p.close()


def test_backups_follow_commits_at_most_every_interval(tmp_path):
    folder, p = _project_with_boxes(tmp_path)
    ddir = folder / ".labeler"
    clock = [1000.0]
    p.backups = backup.AutoBackup(p._conn, ddir, clock=lambda: clock[0])
    p.backups.now()
    n = len(backup.list_backups(ddir))
    car, img = p.categories()[0], p.images()[0]
    clock[0] += 60
    p.add_box(img.id, car.id, 3, 3, 9, 9)
    p.backups.wait()
    assert len(backup.list_backups(ddir)) == n
    clock[0] += backup.INTERVAL_S
    p.add_box(img.id, car.id, 4, 3, 9, 9)
    p.backups.wait()
    assert len(backup.list_backups(ddir)) == min(n + 1, backup.KEEP_RECENT + 1)
    p.close()


def test_restore_from_named_and_list(tmp_path, capsys):
    from labeler.cli import main
    folder, p = _project_with_boxes(tmp_path)
    first = p.backups.last
    p.close()
    assert main(["backup", str(folder)]) == 0
    assert "Backed up to" in capsys.readouterr().out
    assert main(["restore", str(folder), "--list"]) == 0
    listing = capsys.readouterr().out
    assert first.name in listing and "ok" in listing
    assert main(["restore", str(folder), "--from", "backup-nope.sqlite"]) == 2
    assert "No backup called" in capsys.readouterr().err
    assert main(["restore", str(folder), "--from", first.name]) == 0
    assert first.name in capsys.readouterr().out


def test_backups_after_commits_run_off_the_editing_thread(tmp_path, monkeypatch):
    import threading

    folder, p = _project_with_boxes(tmp_path)
    ddir = folder / ".labeler"
    clock = [1000.0]
    p.backups = backup.AutoBackup(p._conn, ddir, clock=lambda: clock[0], db_path=ddir / "project.sqlite")
    p.backups.now()
    threads = []
    real = backup.make_backup
    monkeypatch.setattr(backup, "make_backup", lambda *a, **k: (threads.append(threading.current_thread()), real(*a, **k))[1])
    car, img = p.categories()[0], p.images()[0]
    clock[0] += backup.INTERVAL_S
    p.add_box(img.id, car.id, 4, 3, 9, 9)
    p.backups.wait()
    assert threads and threads[0] is not threading.main_thread()
    assert p.backups.problem is None and p.backups.last is not None
    with sqlite3.connect(p.backups.last.path) as b:  # the box committed before it is in the backup
        assert b.execute("SELECT COUNT(*) FROM boxes WHERE x1=4").fetchone()[0] == 1
    p.close()


def test_the_damaged_message_counts_the_edits_after_the_newest_good_backup(tmp_path):
    folder, p = _project_with_boxes(tmp_path)
    p.backups.now()
    image, car = p.images()[0].id, p.categories()[0].id
    for i in range(7):  # seven edits after the backup; settings are not edits
        p.add_box(image, car, 1 + i, 1, 20, 20)
    p.set_setting("zoom", 2)
    with p.batch():  # one transaction, one edit
        p.add_box(image, car, 2, 2, 30, 30)
        p.set_reviewed(image)
    p.close()  # writes the ledger
    ledger = backup.read_ledger(folder / ".labeler")
    assert ledger["total"] - max(ledger["backups"].values()) == 8
    _damage(folder / ".labeler" / DB_NAME, 0)
    with pytest.raises(DamagedStoreError) as err:
        Project.open(folder)
    assert err.value.lost_edits == 8 and "8 edits made after it (as counted just now) are lost" in str(err.value)
    (folder / ".labeler" / backup.BACKUP_DIR / backup.LEDGER).write_text("{not json")
    with pytest.raises(DamagedStoreError) as err:
        Project.open(folder)
    assert err.value.lost_edits is None and "they cannot be counted" in str(err.value)


def test_the_ledger_is_written_off_the_editing_thread_at_most_every_few_seconds(tmp_path):
    import threading

    folder, p = _project_with_boxes(tmp_path)
    ddir = folder / ".labeler"
    clock = [1000.0]
    p.backups = backup.AutoBackup(p._conn, ddir, clock=lambda: clock[0], db_path=ddir / DB_NAME)
    p.backups.now()
    writers = []
    real = p.backups.write_ledger
    p.backups.write_ledger = lambda: (writers.append(threading.current_thread().name), real())
    image, car = p.images()[0].id, p.categories()[0].id
    for _ in range(5):  # the backup just wrote the ledger: not again within LEDGER_S
        clock[0] += 1
        p.add_box(image, car, 1, 1, 20, 20)
    p.backups.wait()
    assert writers == []
    clock[0] += backup.LEDGER_S
    p.add_box(image, car, 1, 1, 20, 20)
    p.backups.wait()
    assert writers == ["labeler-backup"]  # on the backup's thread, not the editing one
    p.add_box(image, car, 1, 1, 20, 20)
    p.backups.wait()
    assert writers == ["labeler-backup"]
    assert backup.read_ledger(ddir)["total"] == p.backups.edits - 1  # the last edit: counted at the next write
    edits = p.backups.edits
    p.close()
    assert backup.read_ledger(ddir)["total"] == edits  # closing writes it
