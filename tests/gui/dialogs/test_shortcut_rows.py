from PySide6.QtGui import QKeySequence, QUndoCommand, QUndoStack
from PySide6.QtWidgets import QWidget

from labeler.gui.dialogs.shortcuts import shortcut_rows


def test_undo_and_redo_are_listed_by_name_not_by_the_last_edit(qtbot):
    w = QWidget()
    qtbot.addWidget(w)
    stack = QUndoStack(w)
    undo = stack.createUndoAction(w, "&Undo")
    undo.setProperty("shortcut_name", "Undo")
    undo.setShortcut(QKeySequence("Ctrl+Z"))
    stack.push(QUndoCommand("Add box"))
    assert undo.text().replace("&", "") == "Undo Add box"
    assert shortcut_rows([undo]) == [("Undo", QKeySequence("Ctrl+Z").toString(QKeySequence.SequenceFormat.NativeText))]
