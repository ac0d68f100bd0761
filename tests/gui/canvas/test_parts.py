"""The canvas's parts on their own: box geometry (plain functions), the decode worker and its
cache, zoom and pan with a real wheel and mouse, and a huge image decoded downscaled."""

from __future__ import annotations

import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from labeler.gui.canvas import geometry as geo
from labeler.gui.canvas.loader import ImageLoader

from .helpers import _move, canvas, drag, folder, ids_by_path, project, show, vp  # noqa: F401


# ---------------------------------------------------------------------- geometry
def test_resize_keeps_inside_and_minimum_size():
    r = (10.0, 10.0, 50.0, 40.0)
    assert geo.resize(r, 4, 70, 60, 100, 80, 2) == (10, 10, 70, 60)  # bottom-right
    assert geo.resize(r, 4, 500, 500, 100, 80, 2) == (10, 10, 100, 80)  # clamped to the image
    assert geo.resize(r, 0, 90, 90, 100, 80, 2) == (48, 38, 50, 40)  # past the opposite corner: no flip
    assert geo.resize(r, 1, 0, -20, 100, 80, 2) == (10, 0, 50, 40)  # top edge moves y1 only
    assert geo.resize(r, 7, 30, 99, 100, 80, 2) == (30, 10, 50, 40)  # left edge moves x1 only
    assert geo.resize((0, 0, 1, 1), 4, 0, 0, 100, 80, 4) == (0, 0, 4, 4)  # minimum wins at a corner


def test_group_delta_moves_the_selection_as_a_whole():
    rects = [(10, 10, 30, 30), (60, 5, 90, 20)]
    assert geo.group_delta(rects, 50, 0, 100, 50) == (10, 0)
    assert geo.group_delta(rects, -50, -50, 100, 50) == (-10, -5)
    assert geo.group_delta(rects, 3, 4, 100, 50) == (3, 4)
    assert geo.group_delta([], 3, 4, 100, 50) == (0, 0)


def test_handles_and_fitting():
    assert geo.handle_at((0, 0, 100, 50), 99, 2, 6) == 2
    assert geo.handle_at((0, 0, 100, 50), 50, 49, 6) == 5
    assert geo.handle_at((0, 0, 100, 50), 50, 25, 6) is None
    assert geo.normalized(5, 9, 1, 2) == (1, 2, 5, 9)
    assert geo.fit_into([(10, 10, 50, 50), (90, 90, 120, 120), (-5, 0, 20, 10)], 60, 60, 1) == [
        (10, 10, 50, 50), None, (0, 0, 20, 10)]


# ---------------------------------------------------------------------- decode worker
def test_loader_decodes_caches_prefetches_and_reports_errors(qtbot, folder):
    loader = ImageLoader()
    a, b, broken = str(folder / "a.png"), str(folder / "b.png"), str(folder / "d_broken.jpg")
    assert loader.request(1, a) is None  # never decodes on the calling thread
    with qtbot.waitSignal(loader.loaded, timeout=10_000) as got:
        pass
    assert got.args[0] == 1 and got.args[1].width() == 200
    assert loader.request(1, a) is not None  # cached now
    with qtbot.waitSignals([loader.loaded, loader.failed], timeout=10_000):
        loader.prefetch([(2, b), (3, broken)])
    assert loader.cached(2) is not None and "not an image" in loader.error(3)
    loader.invalidate()  # a rescan: everything is decoded (or fails) afresh
    assert loader.cached(1) is None and loader.cached(2) is None and loader.error(3) is None
    loader.stop()


def test_latest_request_wins(qtbot, folder):
    import threading

    from PySide6.QtCore import QRunnable

    loader = ImageLoader()
    loader._pool.setMaxThreadCount(1)
    gate = threading.Event()

    class Busy(QRunnable):  # holds the only decode thread, so requests queue up behind it
        def run(self):
            gate.wait(10)

    busy = Busy()
    busy.setAutoDelete(False)
    loader._pool.start(busy)
    paths = {i: str(folder / n) for i, n in enumerate(["a.png", "b.png", "c.jpg"], 1)}
    for i, p in paths.items():
        loader.request(i, p)
    assert loader.pending() == [3]  # the older requests were dropped while queued
    gate.set()
    qtbot.waitUntil(lambda: loader.cached(3) is not None, timeout=10_000)
    loader.stop()
    assert loader.cached(1) is None and loader.cached(2) is None


def test_a_huge_image_is_decoded_downscaled_and_drawn_full_size(qtbot, canvas, project, folder):
    Image.new("RGB", (3000, 200), (10, 200, 10)).save(folder / "wide.png")
    project.scan()
    canvas._loader.max_side = 600
    image = ids_by_path(project)["wide.png"]
    show(qtbot, canvas, image)
    assert canvas._image_item.image().width() == 600
    assert canvas._image_item.boundingRect().width() == 3000  # boxes stay in full-resolution pixels
    cat = project.add_category("thing")
    project.add_box(image, cat.id, 2000, 50, 2900, 150)
    [item] = canvas.box_items().values()
    assert item.image_rect() == (2000, 50, 2900, 150)


# ---------------------------------------------------------------------- zoom and pan
def test_wheel_zooms_around_the_cursor_and_middle_drag_pans(qtbot, canvas, project):
    show(qtbot, canvas, ids_by_path(project)["a.png"])
    zooms = []
    canvas.zoom_changed.connect(zooms.append)
    anchor = vp(canvas, 150, 100)
    before = canvas.zoom()
    QTest.mouseMove(canvas.viewport(), anchor)
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    wheel = QWheelEvent(QPointF(anchor), QPointF(canvas.viewport().mapToGlobal(anchor)), QPoint(), QPoint(0, 240),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(canvas.viewport(), wheel)
    assert canvas.zoom() == pytest.approx(before * 1.25 ** 2) and zooms[-1] == pytest.approx(canvas.zoom())
    p = canvas.mapToScene(anchor)
    assert abs(p.x() - 150) < 1 and abs(p.y() - 100) < 1  # the point under the cursor stayed
    before_pan = canvas.mapToScene(QPoint(200, 150))
    drag(canvas, (150, 100), (130, 90), button=Qt.MouseButton.MiddleButton)
    after_pan = canvas.mapToScene(QPoint(200, 150))
    assert after_pan.x() > before_pan.x() + 5 and after_pan.y() > before_pan.y() + 3
    assert project.boxes(ids_by_path(project)["a.png"]) == []  # panning draws nothing
    canvas.fit_to_window()
    assert canvas.zoom() == pytest.approx(before)


def test_cursor_position_in_image_pixels(qtbot, canvas, project):
    show(qtbot, canvas, ids_by_path(project)["a.png"])
    seen = []
    canvas.cursor_moved.connect(lambda x, y: seen.append((x, y)))
    _move(canvas, vp(canvas, 42, 17), Qt.MouseButton.NoButton)
    _move(canvas, vp(canvas, -30, 17), Qt.MouseButton.NoButton)
    assert abs(seen[0][0] - 42) < 1 and abs(seen[0][1] - 17) < 1
    assert seen[1] == (-1.0, -1.0)
