import json
import subprocess
import sys

from labeler.cli import main
from labeler.core.store import Project

from tests.core import imagefactory as f


def make_folder(tmp_path):
    d = tmp_path / "imgs"
    d.mkdir()
    f.rgb(d / "a.jpg", (64, 48))
    f.exif_rotated_jpeg(d / "r.jpg", (80, 40), 6)
    f.truncated_jpeg(d / "t.jpg")
    return d


def test_import_info_export(tmp_path, capsys):
    d = make_folder(tmp_path)
    coco = {"images": [{"id": 1, "file_name": "a.jpg"}, {"id": 2, "file_name": "r.jpg"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 3, "bbox": [1, 2, 10, 10]},
                            {"id": 2, "image_id": 2, "category_id": 3, "bbox": [0, 0, 40, 80]}],
            "categories": [{"id": 3, "name": "dog"}]}
    src = tmp_path / "in.json"
    src.write_text(json.dumps(coco))
    assert main(["import", str(d), str(src)]) == 0
    assert "2 of 2 images matched; 2 boxes imported" in capsys.readouterr().out
    assert main(["info", str(d)]) == 0
    out = capsys.readouterr().out
    assert "reviewed           2" in out
    assert "dog" in out and "t.jpg: the file is truncated" in out
    dst = tmp_path / "out" / "export.json"
    assert main(["export", str(d), "-o", str(dst)]) == 0
    assert f"Wrote 2 images, 2 boxes and 1 class to {dst}" in capsys.readouterr().out
    data = json.loads(dst.read_text())
    assert {(im["file_name"], im["width"], im["height"]) for im in data["images"]} == {("a.jpg", 64, 48), ("r.jpg", 40, 80)}


def test_errors_are_clear_and_exit_nonzero(tmp_path, capsys):
    d = make_folder(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert main(["import", str(d), str(bad)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "nope"), "-o", str(tmp_path / "x.json")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    with Project.open(d):
        assert main(["import", str(d), str(bad)]) == 2  # held by "another" writer
        assert "open in another labeler process" in capsys.readouterr().err


def test_entry_point_version_and_help():
    out = subprocess.run([sys.executable, "-m", "labeler", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("labeler ")
    for cmd in ("import", "export", "info"):
        r = subprocess.run([sys.executable, "-m", "labeler", cmd, "--help"], capture_output=True, text=True)
        assert r.returncode == 0 and "usage: labeler " + cmd in r.stdout


def test_info_names_statuses_in_the_users_words(tmp_path, capsys):
    d = make_folder(tmp_path)
    with Project.open(d) as p:
        p.scan()
        cat = p.add_category("dog")
        a = p.image_by_path("a.jpg")
        p.add_box(a.id, cat.id, 1, 1, 20, 20)  # a person's box only: in progress, not "predicted"
        r = p.image_by_path("r.jpg")
        p.add_box(r.id, cat.id, 1, 1, 20, 20, source="model", score=0.7, state="predicted")
    assert main(["info", str(d)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "  in progress        1" in lines and "  pre-labeled        1" in lines
    assert "  unlabeled          0" in lines and "  unreadable         1" in lines
    assert not any(line.strip().startswith("predicted ") for line in lines[:8])


def test_export_names_what_it_left_out_and_writes_each_format(tmp_path, capsys):
    d = make_folder(tmp_path)
    coco = {"images": [{"id": 1, "file_name": "a.jpg"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 3, "bbox": [1, 2, 10, 10]}],
            "categories": [{"id": 3, "name": "dog"}]}
    (tmp_path / "in.json").write_text(json.dumps(coco))
    assert main(["import", str(d), str(tmp_path / "in.json")]) == 0
    with Project.open(d) as p:  # two boxes drawn on an image not yet reviewed
        r = p.image_by_path("r.jpg")
        dog = p.category_by_name("dog")
        p.add_box(r.id, dog.id, 1, 1, 20, 20)
        p.add_box(r.id, dog.id, 5, 5, 30, 30)
    capsys.readouterr()
    assert main(["export", str(d), "-o", str(tmp_path / "x.json")]) == 0
    out = capsys.readouterr().out
    assert "Wrote 1 image, 1 box and 1 class" in out
    assert "Left out 1 unreviewed image and their 2 boxes; include them with --all-images" in out
    assert main(["export", str(d), "--all-images", "--format", "yolo", "-o", str(tmp_path / "y")]) == 0
    out = capsys.readouterr().out
    assert "Wrote 2 images (train 1, val 1), 3 boxes and 1 class" in out
    assert "Left out 1 unreadable image:\n  t.jpg: the file is truncated" in out
    assert (tmp_path / "y" / "data.yaml").exists()
    assert main(["export", str(d), "--format", "voc", "-o", str(tmp_path / "v")]) == 0
    assert (tmp_path / "v" / "Annotations" / "a.xml").exists()
    assert main(["export", str(d), "--split", "-o", str(tmp_path / "c")]) == 0
    assert "(train 1, val 0)" in capsys.readouterr().out
    assert json.loads((tmp_path / "c" / "train.json").read_text())["annotations"][0]["segmentation"] == []
    assert main(["import", str(d), str(tmp_path / "y"), "--format", "voc"]) == 2
    assert "holds no Pascal VOC .xml files" in capsys.readouterr().err


def test_export_and_info_name_the_unreadable_files_apart_from_the_work(tmp_path, capsys):
    d = make_folder(tmp_path)
    for k in range(4):
        (d / f"bad{k}.png").write_bytes(b"not a picture")
    (d / "gone.jpg").write_bytes((d / "a.jpg").read_bytes() + b"x")
    with Project.open(d) as p:
        p.scan()
    (d / "gone.jpg").unlink()
    assert main(["info", str(d), "--rescan"]) == 0
    out = capsys.readouterr().out
    assert "Images: 8 (reviewed 0 / 2; 2 to review, 5 unreadable, 1 missing)" in out
    assert main(["export", str(d), "--all-images", "-o", str(tmp_path / "x.json")]) == 0
    lines = capsys.readouterr().out.splitlines()
    at = lines.index("Left out 1 missing image:")
    assert lines[at + 1].startswith("  gone.jpg: the file is gone from the folder")
    assert lines[at + 2] == "Left out 5 unreadable images:"
    named = lines[at + 3:at + 6]  # the first three, each with its error
    assert [n.split(":")[0] for n in named] == ["  bad0.png", "  bad1.png", "  bad2.png"]
    assert all(len(n.split(": ", 1)[1]) > 5 for n in named)
    assert lines[at + 6] == "  and 2 more (`labeler info` lists them all)"
    assert main(["stats", str(d)]) == 0
    assert "0 images of 2 reviewed (5 unreadable, 1 missing, not counted)" in capsys.readouterr().out
