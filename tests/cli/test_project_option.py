"""`--project PATH` on the subcommands, `labeler relink`, and read-only image folders."""

import json
import shutil

import pytest

from labeler.cli import main
from labeler.core import location
from labeler.core.store import DATA_DIR, Project

from tests.core import imagefactory as f


def _images(tmp_path, n=2):
    d = tmp_path / "imgs"
    d.mkdir()
    for i in range(n):
        f.rgb(d / f"im{i}.jpg", (64, 48))
    return d


def _coco(tmp_path):
    src = tmp_path / "in.json"
    src.write_text(json.dumps({
        "images": [{"id": 1, "file_name": "im0.jpg"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 3, "bbox": [1, 2, 10, 10]}],
        "categories": [{"id": 3, "name": "dog"}]}))
    return src


def test_every_subcommand_takes_project(capsys):
    for cmd in ("info", "import", "export", "prelabel", "train", "stats", "queue", "backup", "restore"):
        with pytest.raises(SystemExit):
            main([cmd, "--help"])
        assert "--project PATH" in capsys.readouterr().out, cmd


def test_import_info_export_with_a_store_apart(tmp_path, capsys):
    images = _images(tmp_path)
    store = tmp_path / "tasks" / "dogs"
    assert main(["import", "--project", str(store), str(images), str(_coco(tmp_path))]) == 0
    assert "1 box imported" in capsys.readouterr().out
    assert not (images / DATA_DIR).exists() and (store / "project.sqlite").is_file()
    assert main(["--project", str(store), "info", str(images)]) == 0  # the option before the command too
    out = capsys.readouterr().out
    assert f"Store {store.resolve()}" in out and "dog" in out
    dst = tmp_path / "out.json"
    assert main(["export", str(images), "--project", str(store), "-o", str(dst)]) == 0
    assert [im["file_name"] for im in json.loads(dst.read_text())["images"]] == ["im0.jpg"]
    assert main(["backup", str(images), "--project", str(store)]) == 0
    assert str(store.resolve() / "backups") in capsys.readouterr().out
    assert main(["queue", str(images), "--project", str(store)]) == 0
    assert capsys.readouterr().out.split() == ["im1.jpg"]


def test_relink_after_the_images_moved(tmp_path, capsys):
    images = _images(tmp_path, n=3)
    store = tmp_path / "store"
    assert main(["info", "--project", str(store), str(images)]) == 0
    moved = tmp_path / "moved"
    shutil.move(str(images), str(moved))
    (moved / "im0.jpg").unlink()
    capsys.readouterr()
    assert main(["info", "--project", str(store), str(moved)]) == 2
    err = capsys.readouterr().err
    assert str(images.resolve()) in err and "gone" in err and "labeler relink" in err
    assert main(["relink", "--project", str(store), str(moved)]) == 0
    out = capsys.readouterr().out
    assert "2 of 3 recorded images found there" in out and "Not there: 1 image" in out
    assert main(["info", "--project", str(store), str(moved)]) == 0
    assert main(["relink", "--project", str(store), str(tmp_path)]) == 2
    assert "None of the project's 3 images" in capsys.readouterr().err


def test_read_only_folder_keeps_its_project_in_the_user_data_folder(tmp_path, capsys, monkeypatch):
    images = _images(tmp_path)
    monkeypatch.setenv(location.READONLY_ENV, str(images))
    where = location.user_store_dir(images)
    assert main(["info", str(images)]) == 0
    captured = capsys.readouterr()
    assert f"its project is kept in {where}" in captured.err  # said once, when it is made
    assert f"Store {where}" in captured.out
    assert main(["import", str(images), str(_coco(tmp_path))]) == 0
    captured = capsys.readouterr()
    assert "1 box imported" in captured.out and "kept in" not in captured.err  # found again, quietly
    assert not (images / DATA_DIR).exists()
    with Project.open(images, store=where, readonly=True) as p:
        assert [c.name for c in p.categories()] == ["dog"]


def test_restore_a_damaged_store_kept_apart(tmp_path, capsys):
    images = _images(tmp_path)
    store = tmp_path / "store"
    assert main(["import", "--project", str(store), str(images), str(_coco(tmp_path))]) == 0
    assert main(["backup", "--project", str(store), str(images)]) == 0
    with open(store / "project.sqlite", "r+b") as fh:
        fh.write(b"\0" * 3000)
    capsys.readouterr()
    assert main(["info", "--project", str(store), str(images)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "is damaged" in err
    # the command it gives is the one that works for a store kept apart: --project and the image folder
    assert f"labeler restore --project {store.resolve()} {images.resolve()}" in err
    assert main(["restore", "--project", str(store), str(images)]) == 0
    out = capsys.readouterr().out
    assert f"as {store.resolve() / 'project.sqlite'}" in out and "previous store is kept as" in out
    assert main(["info", "--project", str(store), str(images)]) == 0
    assert "dog" in capsys.readouterr().out
    assert list(store.glob("project.sqlite.damaged-*")) and not (images / DATA_DIR).exists()
