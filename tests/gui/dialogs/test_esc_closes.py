"""Esc closes every dialog, whichever of its widgets has focus (real key events)."""

import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QWidget

from labeler.core.store import Category, Project
from labeler.gui.dialogs.class_map import BringInClassesDialog, ClassMapDialog
from labeler.gui.dialogs.class_picker import ClassPicker
from labeler.gui.dialogs.shortcuts import ShortcutsDialog


@pytest.fixture
def project(tmp_path):
    d = tmp_path / "photos"
    d.mkdir()
    Image.new("RGB", (20, 20)).save(d / "a.png")
    p = Project.open(d)
    p.scan()
    p.add_category("car")
    yield p
    p.close()


def _dialogs(project, parent):
    action = QAction("Do it", parent)
    action.setShortcut(QKeySequence("Ctrl+D"))
    return [
        ShortcutsDialog([action], [("Pan", "Middle-drag")], parent),
        ClassPicker([Category(1, "car", "#ff0000", 0)], None, parent),
        ClassMapDialog(project, "model-x", ["car", "person"], "a model", parent),
        BringInClassesDialog(project, ["person"], parent),
    ]


def test_esc_closes_each_dialog_from_any_focused_widget(qtbot, project):
    parent = QWidget()
    qtbot.addWidget(parent)
    parent.show()
    for dlg in _dialogs(project, parent):
        focusable = [w for w in dlg.findChildren(QWidget) if w.focusPolicy() != Qt.FocusPolicy.NoFocus and w.isVisibleTo(dlg)]
        assert focusable, type(dlg).__name__
        for widget in focusable:
            dlg.show()
            qtbot.waitExposed(dlg)
            dlg.activateWindow()
            widget.setFocus()
            qtbot.waitUntil(lambda: QApplication.focusWidget() is not None and QApplication.focusWidget().window() is dlg,
                            timeout=3000)
            qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Escape)
            assert not dlg.isVisible(), f"Esc left {type(dlg).__name__} open (focus on {type(widget).__name__})"
        dlg.deleteLater()
