"""Every file labeler writes goes through labeler.core.files: on a full disk the previous file stays
whole and no temporary file is left. The disk fills by mock here (a real tiny file system needs root
to mount): the last step of an atomic write, os.replace, or the write itself raises ENOSPC."""

import errno
import json
import os

import pytest

from labeler.core import files
from labeler.core.formats import export_project
from labeler.core.store import StoreError


def _full(*_a, **_k):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _names(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


@pytest.fixture
def labeled(new_project):
    project = new_project({"a.png": (40, 30), "b.png": (40, 30)}, classes=["car"], reviewed=["a.png", "b.png"])
    car = project.category_by_name("car").id
    for im in project.images():
        project.add_box(im.id, car, 1, 1, 20, 20)
    return project


@pytest.mark.parametrize("fmt", ["coco", "yolo", "voc"])
def test_an_export_to_a_full_disk_leaves_the_previous_one(labeled, tmp_path, monkeypatch, fmt):
    out = tmp_path / "exports" / ("out.json" if fmt == "coco" else "out")
    export_project(labeled, fmt, out)
    folder = out.parent if fmt == "coco" else out
    before = {n: (folder / n).read_bytes() for n in _names(folder) if (folder / n).is_file()}
    labeled.add_box(labeled.images()[0].id, labeled.category_by_name("car").id, 5, 5, 30, 25)  # a new export differs
    monkeypatch.setattr(files.os, "replace", _full)
    with pytest.raises(StoreError) as caught:
        export_project(labeled, fmt, out)
    assert "No space left on device" in str(caught.value) and "Could not write" in str(caught.value)
    after = {n: (folder / n).read_bytes() for n in _names(folder) if (folder / n).is_file()}
    assert after == before  # the old files, whole; no temporary file beside them


def test_a_write_that_fails_half_way_leaves_nothing(tmp_path, monkeypatch):
    files.atomic_write_text(tmp_path / "a.json", json.dumps({"old": 1}))

    def half(fh):
        fh.write(b'{"new": ')
        _full()

    with pytest.raises(OSError):
        files.atomic_write_all([(tmp_path / "b.json", lambda fh: fh.write(b"{}")), (tmp_path / "a.json", half)])
    assert _names(tmp_path) == ["a.json"]  # b.json not renamed in either: the pair is written whole or not at all
    assert json.loads((tmp_path / "a.json").read_text()) == {"old": 1}


def test_a_copy_to_a_full_disk_leaves_no_partial_file(tmp_path, monkeypatch):
    (tmp_path / "src.bin").write_bytes(b"x" * 5000)
    (tmp_path / "dst.bin").write_bytes(b"old")
    monkeypatch.setattr(files.os, "fsync", _full)
    with pytest.raises(OSError):
        files.atomic_copy(tmp_path / "src.bin", tmp_path / "dst.bin")
    assert _names(tmp_path) == ["dst.bin", "src.bin"] and (tmp_path / "dst.bin").read_bytes() == b"old"
    monkeypatch.undo()
    files.atomic_copy(tmp_path / "src.bin", tmp_path / "dst.bin")
    assert (tmp_path / "dst.bin").read_bytes() == b"x" * 5000


def test_a_small_file_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "a.txt"
    target.write_bytes(b"old\n")
    monkeypatch.setattr(files.os, "write", _full)
    with pytest.raises(OSError):
        files.atomic_write_small(str(target), b"new\n")
    assert _names(tmp_path) == ["a.txt"] and target.read_bytes() == b"old\n"
    monkeypatch.undo()
    (tmp_path / f"a.txt.{os.getpid()}.tmp").write_bytes(b"left by a killed export")
    files.atomic_write_small(str(target), b"new\n")
    assert _names(tmp_path) == ["a.txt"] and target.read_bytes() == b"new\n"
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~files._UMASK)
