"""The pre-labeling panel runs the ml generator on a worker thread; boxes arrive through the store."""

from __future__ import annotations

import hashlib
import http.server
import threading
import time

import pytest

pytest.importorskip("torch")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QDialog  # noqa: E402

from labeler.core.store import PREDICTED, Project  # noqa: E402
from labeler.gui.docks import prelabel as pp  # noqa: E402
from labeler.gui.dialogs.class_map import BringInClassesDialog, ClassMapDialog  # noqa: E402
from labeler.gui.project_signals import ProjectSignals  # noqa: E402
from labeler.gui.dialogs.weights import WeightsDialog  # noqa: E402
from labeler.ml import class_map, weights  # noqa: E402
from labeler.ml.predict import ModelChoice  # noqa: E402

from tests.ml.prelabel_fixtures import make_folder, save_tiny_checkpoint  # noqa: E402

ARCH = "fasterrcnn_mobilenet_v3_large_320_fpn"


@pytest.fixture(autouse=True)
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch"


@pytest.fixture
def env(qtbot, tmp_path, new_project):
    p = new_project(folder=make_folder(tmp_path / "photos"))
    ckpt = save_tiny_checkpoint(p.root / ".labeler" / "runs" / "1" / "best.pth")
    run = p.add_run("fasterrcnn_mobilenet_v3_large_320_fpn", {}, ["cat", "dog"])
    p.update_run(run, status="done", checkpoint=".labeler/runs/1/best.pth", best_map=0.5)
    signals = ProjectSignals(p)
    panel = pp.PrelabelPanel(p, signals)
    qtbot.addWidget(panel)
    panel.score_box.setValue(0.05)  # random weights score every class near 1/3
    panel.device_box.setCurrentText("cpu")
    yield p, panel, signals, ckpt
    panel.wait()
    p.close()


def wait_done(qtbot, panel):
    qtbot.waitUntil(lambda: not panel.is_running(), timeout=60_000)


def use_checkpoint(p, panel, ckpt):
    for name in ("cat", "dog"):
        if p.category_by_name(name) is None:
            p.add_category(name)
    panel.select_model(ModelChoice.checkpoint(ckpt, p.root))


def test_model_list_weights_state_and_saved_choice(qtbot, env, torch_home):
    p, panel, _, ckpt = env
    texts = [panel.model_box.itemText(i) for i in range(panel.model_box.count())]
    assert len(texts) == 5 and texts[4].startswith("Trained: run 1") and "0.500" in texts[4]
    panel.select_model(ModelChoice.coco(ARCH))
    assert "not downloaded" in panel.weights_label.text() and panel.download_button.isEnabled()
    assert p.get_setting("prelabel.model") == {"kind": "coco", "architecture": ARCH}
    target = torch_home / "hub" / "checkpoints" / weights.coco_weights(ARCH).file_name
    target.parent.mkdir(parents=True)
    target.write_bytes(b"x")
    panel.select_model(ModelChoice.coco("fasterrcnn_resnet50_fpn"))
    panel.select_model(ModelChoice.coco(ARCH))
    assert panel.weights_label.text().startswith("Weights present") and not panel.download_button.isEnabled()
    # the training panel's "Use for pre-labeling" sets the project setting: the panel follows it
    p.set_setting("prelabel.model", {"kind": "checkpoint", "path": ".labeler/runs/1/best.pth"})
    qtbot.waitUntil(lambda: panel.model_choice().kind == "checkpoint")


def test_run_on_all_unlabeled_shows_progress_and_boxes_arrive(qtbot, env):
    p, panel, signals, ckpt = env
    use_checkpoint(p, panel, ckpt)
    changed = []
    signals.boxes_changed.connect(lambda ids: changed.extend(ids))
    finished = []
    panel.run_finished.connect(finished.append)
    with qtbot.waitSignal(panel.run_finished, timeout=60_000):
        assert panel.run_scope(pp.UNLABELED)
        assert not panel.run_button.isEnabled() and panel.cancel_button.isEnabled()
    wait_done(qtbot, panel)
    ids = {im.id for im in p.images()}
    assert set(changed) == ids
    assert finished[0].images == 3 and not finished[0].cancelled
    assert panel.progress_bar.value() == panel.progress_bar.maximum() == 3
    assert panel.status_label.text().startswith("Done: 3 images")
    assert panel.run_button.isEnabled() and not panel.cancel_button.isEnabled()
    assert all(im.predicted_count for im in p.images())
    # nothing unlabeled is left
    assert not panel.run_scope(pp.UNLABELED) and "no images" in panel.status_label.text()


def test_p_runs_on_the_current_image_only_and_keeps_human_boxes(qtbot, env):
    p, panel, _, ckpt = env
    use_checkpoint(p, panel, ckpt)
    a, b = p.image_by_path("a.jpg"), p.image_by_path("b.png")
    human = p.add_box(a.id, p.category_by_name("cat").id, 2, 2, 30, 30)
    assert panel.prelabel_current_action.shortcut().toString() == "P"
    panel.set_context(a.id, [a.id, b.id])
    with qtbot.waitSignal(panel.run_finished, timeout=60_000):
        panel.prelabel_current_action.trigger()
    wait_done(qtbot, panel)
    assert human in p.boxes(a.id) and any(x.state == PREDICTED for x in p.boxes(a.id))
    assert p.boxes(b.id) == []
    with qtbot.waitSignal(panel.run_finished, timeout=60_000):
        panel.run_scope(pp.SELECTED)
    wait_done(qtbot, panel)
    assert p.boxes(b.id) and human in p.boxes(a.id)


def test_cancel_keeps_finished_images(qtbot, env, monkeypatch):
    p, panel, _, ckpt = env
    use_checkpoint(p, panel, ckpt)
    finished = []
    panel.run_finished.connect(finished.append)

    class CancelAfterFirst(pp.GeneratorWorker):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            # runs on the worker thread, so the run sees the cancel before its next image
            self.yielded.connect(lambda value: isinstance(value, tuple) and panel._cancel.set(),
                                 Qt.ConnectionType.DirectConnection)

    monkeypatch.setattr(pp, "GeneratorWorker", CancelAfterFirst)
    assert panel.run_on([im.id for im in p.images()])
    wait_done(qtbot, panel)
    summary = finished[0]
    assert summary.images == 1 and summary.cancelled
    assert sum(1 for im in p.images() if im.predicted_count) == 1
    assert panel.status_label.text().startswith("Cancelled")


def test_a_bug_in_the_run_is_shown_and_its_traceback_logged(qtbot, env, monkeypatch, caplog):
    import labeler.ml.predict as predict

    p, panel, _, ckpt = env
    use_checkpoint(p, panel, ckpt)

    def broken(*_a, **_k):
        raise KeyError("oops")

    monkeypatch.setattr(predict, "prelabel_steps", broken)
    with caplog.at_level("ERROR", logger="labeler.gui.workers"):
        assert panel.run_on([im.id for im in p.images()])
        wait_done(qtbot, panel)
    assert panel.status_label.text() == "Pre-labeling failed: 'oops'"
    assert "Traceback" in caplog.text and "KeyError" in caplog.text


def test_project_without_classes_asks_which_to_bring_in(qtbot, env, monkeypatch):
    p, panel, _, ckpt = env
    panel.select_model(ModelChoice.checkpoint(ckpt, p.root))

    def pick_dog(dialog):
        dialog.set_checked(["dog"])
        dialog.accept()
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(BringInClassesDialog, "exec", pick_dog)
    with qtbot.waitSignal(panel.run_finished, timeout=60_000):
        assert panel.run_on([p.image_by_path("a.jpg").id])
    wait_done(qtbot, panel)
    assert [c.name for c in p.categories()] == ["dog"]
    assert {b.category_id for b in p.all_boxes()} == {p.category_by_name("dog").id}

    monkeypatch.setattr(BringInClassesDialog, "exec", lambda self: QDialog.DialogCode.Rejected)
    p.delete_category(p.category_by_name("dog").id)
    assert not panel.run_on([p.image_by_path("b.png").id])  # declined: nothing runs


def test_class_map_dialog_saves_per_model(qtbot, env):
    p, panel, _, ckpt = env
    use_checkpoint(p, panel, ckpt)
    p.add_category("kitty")
    key = ModelChoice.checkpoint(ckpt, p.root).key
    dialog = ClassMapDialog(p, key, ["__background__", "cat", "dog"])
    qtbot.addWidget(dialog)
    assert dialog.mapping() == {"cat": "cat", "dog": "dog"}
    dialog.set_target("cat", "kitty")
    dialog.set_target("dog", None)
    dialog.accept()
    assert p.get_setting(class_map.setting_key(key)) == {"cat": "kitty", "dog": None}
    assert class_map.saved_map(p, "coco:" + ARCH) == {}  # other models keep their own


class _Server(http.server.BaseHTTPRequestHandler):
    body = b""
    slow = False  # send 64 KiB every 20 ms, so a cancel lands mid-transfer

    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        step = 1 << 16 if self.slow else len(self.body)
        try:
            for i in range(0, len(self.body), step):
                self.wfile.write(self.body[i:i + step])
                self.wfile.flush()
                if self.slow:
                    time.sleep(0.02)
        except OSError:  # the client hung up (cancel)
            pass

    def log_message(self, *args):
        pass


def test_weights_dialog_downloads_into_the_cache(qtbot, torch_home, monkeypatch):
    _Server.body = b"w" * 300_000
    name = f"{ARCH}-{hashlib.sha256(_Server.body).hexdigest()[:8]}.pth"
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Server)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        monkeypatch.setitem(weights.COCO_WEIGHT_URLS, ARCH, f"http://127.0.0.1:{httpd.server_address[1]}/{name}")
        dialog = WeightsDialog(ARCH)
        qtbot.addWidget(dialog)
        with qtbot.waitSignal(dialog.finished, timeout=20_000):
            dialog.show()
        assert dialog.result() == QDialog.DialogCode.Accepted and dialog.path
        assert weights.find_coco_weights(ARCH).read_bytes() == _Server.body
        assert dialog.bar.value() == dialog.bar.maximum()
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_weights_dialog_cancel_leaves_nothing(qtbot, torch_home, monkeypatch):
    _Server.body, _Server.slow = b"w" * 4_000_000, True
    name = f"{ARCH}-{hashlib.sha256(_Server.body).hexdigest()[:8]}.pth"
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Server)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        monkeypatch.setitem(weights.COCO_WEIGHT_URLS, ARCH, f"http://127.0.0.1:{httpd.server_address[1]}/{name}")
        dialog = WeightsDialog(ARCH)
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitUntil(lambda: dialog.bar.value() > 0, timeout=20_000)
        with qtbot.waitSignal(dialog.finished, timeout=20_000):
            dialog.cancel_button.click()
        assert dialog.result() == QDialog.DialogCode.Rejected and dialog.path is None
        assert list(weights.checkpoints_dir().iterdir()) == []  # no partial file left
    finally:
        _Server.slow = False
        httpd.shutdown()
        httpd.server_close()


def test_weights_dialog_reports_a_failed_download(qtbot, torch_home):
    dialog = WeightsDialog(ARCH, url="http://127.0.0.1:9/x.pth")  # port 9: nobody listens
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.error is not None, timeout=20_000)
    assert "put the file at" in dialog.label.text()
    assert dialog.cancel_button.text() == "Close"
    assert weights.find_coco_weights(ARCH) is None


def test_import_weights_file_from_the_panel(qtbot, env, tmp_path, monkeypatch):
    import torch

    p, panel, _, _ = env
    brought = tmp_path / "weights-from-elsewhere.pth"
    torch.save({"w": torch.zeros(3)}, brought)
    name = f"{ARCH}-{hashlib.sha256(brought.read_bytes()).hexdigest()[:8]}.pth"
    monkeypatch.setitem(weights.COCO_WEIGHT_URLS, ARCH, f"https://example.invalid/{name}")
    panel.select_model(ModelChoice.coco(ARCH))
    assert "not downloaded" in panel.weights_label.text()
    panel.import_weights(str(brought))
    qtbot.waitUntil(lambda: panel.status_label.text().startswith("Imported as"), timeout=20_000)
    assert panel.weights_label.text().startswith("Weights present")
    assert weights.find_coco_weights(ARCH).read_bytes() == brought.read_bytes()

    wrong = tmp_path / "wrong.pth"
    wrong.write_bytes(b"not it")
    panel.import_weights(str(wrong))
    qtbot.waitUntil(lambda: "Nothing was copied" in panel.status_label.text(), timeout=20_000)
