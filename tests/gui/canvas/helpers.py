"""Shared pieces of the canvas tests: a tiny project and real mouse gestures on the viewport."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QUndoStack
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from labeler.gui.canvas.view import Canvas
from labeler.gui.project_signals import ProjectSignals
from labeler.gui.undo import UndoReporter
from tests.projects import write_images

LEFT = Qt.MouseButton.LeftButton
NO_MOD = Qt.KeyboardModifier.NoModifier


IMAGES = {"a.png": (200, 150, (30, 90, 160)), "b.png": (200, 150, (160, 90, 30)),
          "c.jpg": (120, 80, (90, 160, 30)), "d_broken.jpg": b"this is not a jpeg at all"}


def make_folder(d):
    return write_images(d, IMAGES)


@pytest.fixture
def folder(tmp_path):
    return make_folder(tmp_path / "photos")


@pytest.fixture
def project(new_project, folder):
    return new_project(folder=folder)


@pytest.fixture
def canvas(qtbot, project):
    signals = ProjectSignals(project)
    stack = QUndoStack()
    reporter = UndoReporter()
    c = Canvas(project, signals, stack, reporter)
    c.failures = []
    reporter.failed.connect(c.failures.append)
    c.messages = []
    c.message.connect(c.messages.append)
    c._keep = (signals, stack, reporter)  # the test owns these; keep them alive with the canvas
    qtbot.addWidget(c)
    c.resize(400, 300)
    c.show()
    qtbot.waitExposed(c)
    c.activateWindow()
    c.setFocus()
    yield c
    c.stop()
    signals.detach()
    signals.blockSignals(True)


def ids_by_path(project):
    return {im.path: im.id for im in project.images()}


def show(qtbot, canvas, image_id):
    with qtbot.waitSignal(canvas.image_shown, timeout=10_000) as blocker:
        canvas.show_image(image_id)
    assert blocker.args == [image_id]


def vp(canvas, x, y) -> QPoint:
    """Image pixel (x, y) as a viewport position."""
    return canvas.mapFromScene(QPointF(x, y))


def _move(canvas, pos: QPoint, buttons, modifiers=NO_MOD):
    # QTest.mouseMove does not carry held buttons on every platform: send the event directly
    ev = QMouseEvent(QEvent.Type.MouseMove, QPointF(pos), QPointF(canvas.viewport().mapToGlobal(pos)),
                     Qt.MouseButton.NoButton, buttons, modifiers)
    QApplication.sendEvent(canvas.viewport(), ev)


def drag(canvas, a, b, button=LEFT, modifiers=NO_MOD, steps=5):
    """Press at image point a, move in steps to image point b, release: one gesture."""
    pa, pb = vp(canvas, *a), vp(canvas, *b)
    QTest.mousePress(canvas.viewport(), button, modifiers, pa)
    for i in range(1, steps + 1):
        _move(canvas, pa + (pb - pa) * (i / steps), button, modifiers)
    QTest.mouseRelease(canvas.viewport(), button, modifiers, pb)


def click(canvas, x, y, modifiers=NO_MOD):
    QTest.mouseClick(canvas.viewport(), LEFT, modifiers, vp(canvas, x, y))


def key(qtbot, canvas, k, modifiers=NO_MOD):
    qtbot.keyClick(canvas, k, modifiers)


def close(rect, expected, tol=1.0):
    return all(abs(a - b) <= tol for a, b in zip(rect, expected))
