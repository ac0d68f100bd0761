"""The weights dialog's offline message shows whole: the URL and where to put the file."""

import pytest

from labeler.gui.dialogs.weights import WeightsDialog
from labeler.ml import weights

ARCH = "fasterrcnn_mobilenet_v3_large_320_fpn"


@pytest.fixture(autouse=True)
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))


def test_the_offline_message_shows_the_url_and_the_place_for_the_file(qtbot):
    dialog = WeightsDialog(ARCH, url="http://127.0.0.1:9/x.pth")  # port 9: nobody listens
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.error is not None, timeout=20_000)
    qtbot.wait(20)
    label, w = dialog.label, weights.coco_weights(ARCH)
    text = label.text()
    assert w.url in text and str(w.path) in text and "put the file at" in text
    view = dialog.message_view
    assert view.isVisible() and not label.isVisible()
    assert view.toPlainText() == text  # copied as it reads: nothing inserted to make it wrap
    # the whole message fits its view: nothing to scroll to, so nothing is hidden
    assert view.verticalScrollBar().maximum() == 0 and view.horizontalScrollBar().maximum() == 0
    assert view.width() <= dialog.screen().availableGeometry().width()
