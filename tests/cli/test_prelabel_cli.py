"""`labeler prelabel` and `labeler weights` end to end, in-process, with tiny models."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from labeler.cli import main  # noqa: E402
from labeler.core.store import Project  # noqa: E402

from tests.ml.prelabel_fixtures import make_folder, save_tiny_checkpoint, tiny_model  # noqa: E402

ARCH = "fasterrcnn_mobilenet_v3_large_320_fpn"


@pytest.fixture(autouse=True)
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch"


@pytest.fixture
def folder(tmp_path):
    return make_folder(tmp_path / "photos")


def boxes_by_class(folder):
    with Project.open(folder, readonly=True) as p:
        names = {c.id: c.name for c in p.categories()}
        out = {}
        for b in p.all_boxes():
            out[names[b.category_id]] = out.get(names[b.category_id], 0) + 1
        return out


def test_prelabel_with_a_checkpoint(folder, tmp_path, capsys):
    ckpt = save_tiny_checkpoint(tmp_path / "best.pth")
    with Project.open(folder) as p:
        p.add_category("dog")  # the checkpoint's "cat" has no project class: dropped
    assert main(["prelabel", str(folder), "--checkpoint", str(ckpt), "--score", "0.05", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "Pre-labeled 3 images" in out and "images/s" in out
    assert set(boxes_by_class(folder)) == {"dog"}
    # a second run over unlabeled images has nothing left to do
    assert main(["prelabel", str(folder), "--checkpoint", str(ckpt), "--score", "0.05", "--device", "cpu"]) == 0
    assert "Pre-labeled 0 images" in capsys.readouterr().out


def test_project_without_classes_needs_classes_option(folder, tmp_path, capsys):
    coco_like = tmp_path / "coco.pth"  # torchvision's layout: 91 outputs, no metadata file
    torch.save(tiny_model(num_classes=91).state_dict(), coco_like)
    args = ["prelabel", str(folder), "--model", ARCH, "--weights", str(coco_like), "--score", "0.0",
            "--device", "cpu"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "--classes" in err and "teddy bear" in err
    with Project.open(folder, readonly=True) as p:
        assert p.categories() == [] and not list(p.all_boxes())

    assert main(args + ["--classes", "dog,Person", "--images", "all"]) == 0
    with Project.open(folder, readonly=True) as p:
        assert [c.name for c in p.categories()] == ["dog", "person"]
    assert set(boxes_by_class(folder)) <= {"dog", "person"}
    # random weights spread their 100 boxes over 80 classes: bring them all in to see boxes land
    assert main(args + ["--classes", "all", "--images", "all"]) == 0
    with Project.open(folder, readonly=True) as p:
        assert len(p.categories()) == 80
    assert sum(boxes_by_class(folder).values()) > 0

    assert main(args + ["--classes", "unicorn"]) == 2
    assert "no class named 'unicorn'" in capsys.readouterr().err


def test_missing_weights_name_the_file_and_the_folder(folder, torch_home, capsys):
    with Project.open(folder) as p:
        p.add_category("dog")
    assert main(["prelabel", str(folder), "--model", ARCH, "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "fasterrcnn_mobilenet_v3_large_320_fpn-907ea3f9.pth" in err
    assert str(torch_home / "hub" / "checkpoints") in err


def test_model_and_checkpoint_are_exclusive(folder, capsys):
    with pytest.raises(SystemExit):
        main(["prelabel", str(folder), "--model", ARCH, "--checkpoint", "x.pth"])
    assert "not allowed with" in capsys.readouterr().err


def test_default_uses_the_projects_chosen_checkpoint(folder, capsys):
    ckpt = save_tiny_checkpoint(folder / ".labeler" / "runs" / "1" / "best.pth")
    with Project.open(folder) as p:
        p.add_category("cat")
        p.add_category("dog")
        p.set_setting("prelabel.model", {"kind": "checkpoint", "path": ".labeler/runs/1/best.pth"})
    assert ckpt.is_file()
    assert main(["prelabel", str(folder), "--score", "0.05", "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    assert "with checkpoint .labeler/runs/1/best.pth on cpu" in captured.err
    assert sum(boxes_by_class(folder).values()) > 0


def test_weights_list_and_import(tmp_path, torch_home, capsys, monkeypatch):
    assert main(["weights", "list"]) == 0
    out = capsys.readouterr().out
    assert "fasterrcnn_resnet50_fpn " in out and "missing" in out
    bogus = tmp_path / "bogus.pth"
    bogus.write_bytes(b"not weights")
    assert main(["weights", "import", str(bogus), "--model", ARCH]) == 2
    assert "907ea3f9" in capsys.readouterr().err


def test_weights_download_from_a_mirror(tmp_path, torch_home, capsys):
    import hashlib
    import http.server
    import threading

    body = b"weights" * 50_000
    name = f"{ARCH}-{hashlib.sha256(body).hexdigest()[:8]}.pth"

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/{name}"
        # the mirror serves a file that is not torchvision's: the hash in the official name refuses it
        assert main(["weights", "download", ARCH, "--url", url]) == 2
        assert "SHA-256 starts with" in capsys.readouterr().err
        assert not list((torch_home / "hub" / "checkpoints").iterdir())
    finally:
        httpd.shutdown()
        httpd.server_close()
