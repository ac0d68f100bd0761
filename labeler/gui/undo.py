"""QUndoCommand shells around labeler.core.commands.

Each edit is a core command (with its inverse, tested without Qt); `StoreCommand` runs it on the
undo stack. A store error (disk full, a box made too small) is reported through `failed` and the
command becomes obsolete, so the stack never holds an edit that did not happen (nor, when an undo
cannot be written, one that can no longer be undone as the stack thinks).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from labeler.core import commands as core_commands
from labeler.core import history
from labeler.core.store import Project, StoreError


class UndoReporter(QObject):
    #: a command could not be applied: the message is for the user
    failed = Signal(str)
    #: an undo/redo touched this image: views may want to show it
    image_touched = Signal(int)


class StoreCommand(QUndoCommand):
    """Runs a core command on the project. Merges consecutive MoveBoxes of the same boxes
    (arrow-key nudges) into one undo step."""

    MERGE_ID = 1001

    def __init__(self, project: Project, command: core_commands.Command, reporter: UndoReporter | None = None):
        super().__init__(command.text)
        self.project = project
        self.command = command
        self.reporter = reporter
        self._first = True
        # plain Python state that outlives the C++ object: QUndoStack deletes an obsolete command
        # inside push(), so push() cannot ask the shell afterwards
        self.outcome = {"applied": True}

    def redo(self) -> None:
        try:
            history.perform(self.project, self.command)  # counts one edit on its image
        except StoreError as exc:
            self.outcome["applied"] = False
            self.setObsolete(True)
            if self.reporter:
                self.reporter.failed.emit(str(exc))
            return
        if not self._first:
            self._touch()
        self._first = False

    def undo(self) -> None:
        try:
            history.revert(self.project, self.command)
        except StoreError as exc:
            # the store still holds the edit (the undo was rolled back): an obsolete command leaves
            # the stack, so neither a second undo nor a redo acts on a state the store does not have
            self.setObsolete(True)
            if self.reporter:
                self.reporter.failed.emit(str(exc))
            return
        self._touch()

    def _touch(self) -> None:
        image_id = getattr(self.command, "image_id", None)
        if self.reporter and image_id is not None:
            self.reporter.image_touched.emit(image_id)

    def id(self) -> int:
        return self.MERGE_ID if isinstance(self.command, core_commands.MoveBoxes) else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        # Nudges of the same selection merge: keep our "before", take the other's total delta.
        if not isinstance(other, StoreCommand):
            return False
        a, b = self.command, other.command
        if not (isinstance(a, core_commands.MoveBoxes) and isinstance(b, core_commands.MoveBoxes)):
            return False
        if list(a.box_ids) != list(b.box_ids) or not a.text.startswith("Nudge") or not b.text.startswith("Nudge"):
            return False
        a.dx += b.dx
        a.dy += b.dy
        return True


def push(stack: QUndoStack, project: Project, command: core_commands.Command,
         reporter: UndoReporter | None = None) -> bool:
    """Push a core command; returns False (and reports) if it could not be applied."""
    shell = StoreCommand(project, command, reporter)
    outcome = shell.outcome
    stack.push(shell)
    return outcome["applied"]
