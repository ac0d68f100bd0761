"""A store apart from its images (labeler.core.location and Project.open's `store`)."""

import os
import shutil

import pytest

from labeler.core import location
from labeler.core.location import IMAGES_FOLDER_SETTING, ImagesFolderMissingError
from labeler.core.store import DATA_DIR, Project, ProjectLockedError, StoreError

from . import imagefactory as f


def _images(tmp_path, name="photos", n=3):
    d = tmp_path / name
    d.mkdir()
    for i in range(n):
        f.rgb(d / f"im{i}.jpg", (32, 24))
    return d


def test_store_apart_keeps_paths_relative_and_records_the_folder(tmp_path):
    images = _images(tmp_path)
    store = tmp_path / "elsewhere" / "task-a"
    with Project.open(images, store=store) as p:
        p.scan()
        assert p.apart and p.data_dir == store.resolve()
        assert sorted(im.path for im in p.images()) == ["im0.jpg", "im1.jpg", "im2.jpg"]
        assert p.get_setting(IMAGES_FOLDER_SETTING) == str(images.resolve())
        assert p.image_path(p.images()[0]).parent == images.resolve()
    assert (store / "project.sqlite").is_file() and (store / "lock").is_file()
    assert not (images / DATA_DIR).exists()  # nothing written into the image folder
    with Project.open(None, store=store, readonly=True) as p:  # the store alone finds its images
        assert p.root == images.resolve() and len(p.images()) == 3


def test_in_folder_store_records_its_folder_and_follows_a_move(tmp_path):
    images = _images(tmp_path)
    with Project.open(images) as p:
        assert not p.apart and p.get_setting(IMAGES_FOLDER_SETTING) == str(images.resolve())
    moved = tmp_path / "moved"
    os.rename(images, moved)
    with Project.open(moved) as p:  # its own .labeler moved with it: no relink needed
        assert p.get_setting(IMAGES_FOLDER_SETTING) == str(moved.resolve())


def test_gone_folder_is_named_and_relink_counts_what_it_finds(tmp_path):
    images = _images(tmp_path, n=3)
    store = tmp_path / "store"
    with Project.open(images, store=store) as p:
        p.scan()
    moved = tmp_path / "new-place"
    shutil.move(str(images), str(moved))
    with pytest.raises(ImagesFolderMissingError) as err:
        Project.open(None, store=store)
    assert str(images.resolve()) in str(err.value) and "labeler relink --project" in str(err.value)
    with pytest.raises(StoreError, match="belongs to the images in .*gone.*relink"):
        Project.open(moved, store=store)  # never silently re-pointed
    (moved / "im2.jpg").unlink()
    assert location.relink(store, moved) == (2, 3)
    with Project.open(None, store=store) as p:
        assert p.root == moved.resolve()
        p.scan()
        assert sum(im.missing for im in p.images()) == 1


def test_relink_refuses_a_folder_without_the_images_and_changes_nothing(tmp_path):
    images = _images(tmp_path)
    store = tmp_path / "store"
    with Project.open(images, store=store) as p:
        p.scan()
    other = _images(tmp_path, "other", n=0)
    with pytest.raises(StoreError, match="None of the project's 3 images are in"):
        location.relink(store, other)
    with Project.open(None, store=store, readonly=True) as p:
        assert p.root == images.resolve()
    with pytest.raises(StoreError, match="is a file"):
        location.store_folder(store / "project.sqlite")


def test_two_projects_over_the_same_images_side_by_side(tmp_path):
    images = _images(tmp_path)
    a, b = tmp_path / "task-a", tmp_path / "task-b"
    with Project.open(images, store=a) as pa, Project.open(images, store=b) as pb:  # both writable at once
        pa.scan()
        pb.scan()
        cat_a = pa.add_category("dog")
        pb.add_category("car")
        pa.add_box(pa.images()[0].id, cat_a.id, 1, 1, 10, 10)
        with pytest.raises(ProjectLockedError, match=str(a.resolve())):
            Project.open(images, store=a)  # each store has its own lock
        assert [c.name for c in pb.categories()] == ["car"]
        assert sum(len(pb.boxes(im.id)) for im in pb.images()) == 0
    with Project.open(images, store=a, readonly=True) as pa:
        assert [c.name for c in pa.categories()] == ["dog"]


def test_read_only_folder_goes_to_the_user_data_folder_and_is_found_again(tmp_path, monkeypatch):
    images = _images(tmp_path)
    monkeypatch.setenv(location.READONLY_ENV, str(images))
    assert not location.folder_writable(images)
    loc = location.locate(images)
    assert loc.kind == location.USER_DATA and not loc.exists
    assert loc.store == location.user_store_dir(images)
    assert loc.store.is_relative_to(location.user_data_root() / "projects")
    assert loc.store.name.endswith("-photos")
    with Project.open(images, store=loc.store) as p:
        p.scan()
    assert not (images / DATA_DIR).exists()
    monkeypatch.delenv(location.READONLY_ENV)  # found again even when the folder is writable later
    again = location.locate(images)
    assert again.kind == location.USER_DATA and again.exists and again.store == loc.store


def test_same_name_folders_get_different_user_stores(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    a = _images(tmp_path / "x", "photos", 0)
    b = _images(tmp_path / "y", "photos", 0)
    assert location.user_store_dir(a) != location.user_store_dir(b)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes through chmod 0555")
def test_real_read_only_directory_is_not_writable(tmp_path):
    images = _images(tmp_path)
    images.chmod(0o555)
    try:
        assert not location.folder_writable(images)
        assert location.locate(images).kind == location.USER_DATA
    finally:
        images.chmod(0o755)
    assert location.folder_writable(images)


def test_a_store_that_cannot_be_written_says_so_and_still_reads(tmp_path):
    images = _images(tmp_path)
    store = tmp_path / "store"
    with Project.open(images, store=store) as p:
        p.scan()
    (store / "lock").unlink()
    (store / "lock").mkdir()  # a real OSError where the lock file goes, as on read-only media
    with pytest.raises(StoreError, match=f"Cannot write the project store in {store.resolve()}.*can still be read"):
        Project.open(images, store=store)
    with Project.open(images, store=store, readonly=True) as p:
        assert len(p.images()) == 3


def test_read_setting_reads_a_store_file_without_opening_it_and_a_bad_row_is_named(tmp_path):
    images = _images(tmp_path)
    store = tmp_path / "task"
    with Project.open(images, store=store) as p:
        p.set_setting("other", {"a": 1})
    db = store / "project.sqlite"
    assert location.read_setting(db, IMAGES_FOLDER_SETTING) == str(images.resolve())
    assert location.read_setting(db, "other") == {"a": 1}
    assert location.read_setting(db, "absent") is None
    assert location.recorded_folder(db) == images.resolve()
    with Project.open(images, store=store) as p:  # a store that records no folder (or not as a path)
        p.set_setting(IMAGES_FOLDER_SETTING, 42)
    with pytest.raises(StoreError, match="does not record its image folder"):
        Project.open(None, store=store)
    with pytest.raises(StoreError, match="no project.sqlite"):
        location.recorded_folder(tmp_path / "nothing" / "project.sqlite")
