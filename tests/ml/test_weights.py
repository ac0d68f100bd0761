"""COCO weights: the cache folder, download (against a local server), import, and the tables."""

from __future__ import annotations

import hashlib
import http.server
import threading

import pytest

from labeler.ml import weights
from labeler.ml.class_map import COCO_CATEGORIES
from labeler.ml.models import ARCHITECTURES

ARCH = "fasterrcnn_mobilenet_v3_large_320_fpn"


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    broken: set[str] = set()  # paths that announce the whole file but send only half

    def do_GET(self):  # noqa: N802 - the http.server API
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if self.path in self.broken else body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    _Handler.files, _Handler.broken = {}, set()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", _Handler
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch"


def weights_file_bytes() -> bytes:
    """A real (tiny) state-dict file, bigger than one download chunk."""
    import io

    import torch

    buf = io.BytesIO()
    torch.save({"w": torch.arange(100_000, dtype=torch.float32)}, buf)
    return buf.getvalue()


def named(body: bytes, stem: str = ARCH) -> str:
    return f"{stem}-{hashlib.sha256(body).hexdigest()[:8]}.pth"


def test_tables_match_torchvision():
    import torchvision.models.detection as det
    from torchvision.models._meta import _COCO_CATEGORIES

    assert list(COCO_CATEGORIES) == list(_COCO_CATEGORIES)
    for name, arch in ARCHITECTURES.items():
        assert weights.COCO_WEIGHT_URLS[name] == getattr(det, arch.weights_enum).COCO_V1.url


def test_cache_folder_and_find(torch_home):
    assert weights.checkpoints_dir() == torch_home / "hub" / "checkpoints"
    assert weights.find_coco_weights(ARCH) is None
    path = torch_home / "hub" / "checkpoints" / "fasterrcnn_mobilenet_v3_large_320_fpn-907ea3f9.pth"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"x")
    assert weights.find_coco_weights(ARCH) == path
    assert weights.coco_weights(ARCH).hash_prefix == "907ea3f9"
    assert "put the file at" in weights.offline_message(ARCH) and str(path) in weights.offline_message(ARCH)


def test_hash_prefix():
    assert weights.hash_prefix("fasterrcnn_resnet50_fpn_coco-258fb6c6.pth") == "258fb6c6"
    assert weights.hash_prefix("resnet50-0676ba61.pth") == "0676ba61"
    assert weights.hash_prefix("my-weights.pth") is None
    assert weights.hash_prefix("best.pth") is None


def test_download_success_with_progress(server, tmp_path):
    url, handler = server
    body = weights_file_bytes()
    handler.files["/" + named(body)] = body
    seen = []
    dest = weights.download(f"{url}/{named(body)}", tmp_path / named(body), progress=lambda d, t: seen.append((d, t)))
    assert dest.read_bytes() == body
    assert seen[0] == (0, len(body)) and seen[-1] == (len(body), len(body)) and len(seen) > 2
    assert not list(tmp_path.glob("*.partial"))


def test_download_hash_mismatch_leaves_nothing(server, tmp_path):
    url, handler = server
    body = weights_file_bytes()
    wrong = f"{ARCH}-00000000.pth"
    handler.files["/" + wrong] = body
    with pytest.raises(weights.WeightsError, match="SHA-256 starts with"):
        weights.download(f"{url}/{wrong}", tmp_path / wrong)
    assert list(tmp_path.iterdir()) == []


def test_download_broken_connection_leaves_nothing(server, tmp_path):
    url, handler = server
    body = weights_file_bytes()
    handler.files["/" + named(body)] = body
    handler.broken.add("/" + named(body))
    with pytest.raises(weights.WeightsError, match="broke off"):
        weights.download(f"{url}/{named(body)}", tmp_path / named(body))
    assert list(tmp_path.iterdir()) == []


def test_download_cancel_leaves_nothing(server, tmp_path):
    url, handler = server
    body = weights_file_bytes()
    handler.files["/" + named(body)] = body
    seen = []
    with pytest.raises(weights.DownloadCancelled):
        weights.download(f"{url}/{named(body)}", tmp_path / named(body), progress=lambda d, t: seen.append(d),
                         cancelled=lambda: len(seen) >= 2)
    assert list(tmp_path.iterdir()) == []


def test_unreachable_server_gives_the_offline_message(torch_home, monkeypatch):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(weights.WeightsError) as info:
        weights.download_coco_weights(ARCH, url=f"http://127.0.0.1:{port}/x-907ea3f9.pth")
    message = str(info.value)
    assert "https://download.pytorch.org/models/fasterrcnn_mobilenet_v3_large_320_fpn-907ea3f9.pth" in message
    assert str(torch_home / "hub" / "checkpoints" / "fasterrcnn_mobilenet_v3_large_320_fpn-907ea3f9.pth") in message


def test_a_host_name_that_cannot_be_found_is_said_in_words_before_the_detail(server, torch_home):
    port = server[0].rsplit(":", 1)[1]  # the local server's port, under a name no resolver knows
    with pytest.raises(weights.WeightsError) as info:
        weights.download_coco_weights(ARCH, url=f"http://no-such-host.invalid:{port}/x-907ea3f9.pth")
    message = str(info.value)
    assert "could not be downloaded (No internet connection (the address could not be found): [Errno" in message
    assert "download.pytorch.org" in message  # and how to bring the file by hand
    assert weights.in_words(ConnectionRefusedError(111, "Connection refused")).startswith("The server refused")
    assert weights.in_words(ValueError("unknown url type")) == "unknown url type"


def test_download_coco_weights_into_the_cache(server, torch_home, monkeypatch):
    url, handler = server
    body = weights_file_bytes()
    handler.files["/" + named(body)] = body
    monkeypatch.setitem(weights.COCO_WEIGHT_URLS, ARCH, f"{url}/{named(body)}")
    path = weights.download_coco_weights(ARCH)
    assert path == torch_home / "hub" / "checkpoints" / named(body)
    assert weights.find_coco_weights(ARCH) == path


def test_import_weights_file(torch_home, tmp_path, monkeypatch):
    body = weights_file_bytes()
    monkeypatch.setitem(weights.COCO_WEIGHT_URLS, ARCH, f"https://example.invalid/{named(body)}")
    brought = tmp_path / "from-usb-stick.pth"
    brought.write_bytes(body)
    path = weights.import_weights_file(brought, ARCH)
    assert path.name == named(body) and path.read_bytes() == body
    assert weights.find_coco_weights(ARCH) == path

    other = tmp_path / "other.pth"
    other.write_bytes(body + b"tampered")
    path.unlink()
    with pytest.raises(weights.WeightsError, match="Nothing was copied"):
        weights.import_weights_file(other, ARCH)
    assert weights.find_coco_weights(ARCH) is None


def test_import_refuses_a_hostile_pickle_even_with_the_right_hash(torch_home, tmp_path, monkeypatch):
    import pickle

    marker = tmp_path / "pwned.txt"

    class Evil:
        def __reduce__(self):
            return (exec, (f"open({str(marker)!r}, 'w').write('x')",))

    body = pickle.dumps({"w": Evil()}, protocol=2)
    monkeypatch.setitem(weights.COCO_WEIGHT_URLS, ARCH, f"https://example.invalid/{named(body)}")
    evil = tmp_path / "evil.pth"
    evil.write_bytes(body)
    with pytest.raises(weights.WeightsError, match="refused"):
        weights.import_weights_file(evil, ARCH)
    assert not marker.exists()
    assert weights.find_coco_weights(ARCH) is None


def test_a_checkpoint_to_a_full_disk_leaves_the_previous_pair(tmp_path, monkeypatch):
    import errno
    import json

    import torch

    from labeler.core import files
    from labeler.ml.checkpoint import CheckpointError, load_state_dict, meta_path, save_checkpoint

    path = tmp_path / "model.pth"
    save_checkpoint(path, {"w": torch.zeros(3)}, {"classes": ["old"]})

    def full(*_a):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "replace", full)
    with pytest.raises(CheckpointError, match="No space left on device"):
        save_checkpoint(path, {"w": torch.ones(3)}, {"classes": ["new"]})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json", "model.pth"]
    assert torch.equal(load_state_dict(path)["w"], torch.zeros(3))
    assert json.loads(meta_path(path).read_text())["classes"] == ["old"]
