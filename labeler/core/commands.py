"""Edits as commands with inverses, testable without Qt.

Each command's `redo(project)` performs the edit through the store and `undo(project)` restores
exactly what was there (box ids included, so later commands on the stack still find their boxes).
The GUI's QUndoCommands are thin shells that call these.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Sequence

from . import history
from .store import ACCEPTED, HUMAN, PREDICTED, SOURCE_HUMAN, Box, Category, Project


class Command:
    """Base of all edits. Subclasses are dataclasses with `text` (for the undo menu) and
    `image_id` (the image to show after undo/redo, or None)."""

    def redo(self, project: Project) -> None:
        raise NotImplementedError

    def undo(self, project: Project) -> None:
        raise NotImplementedError


@dataclass
class AddBoxes(Command):
    """Add boxes to an image. items: (category_id, x1, y1, x2, y2[, score]). Redo re-creates the
    same ids."""

    image_id: int
    items: Sequence[tuple]
    source: str = SOURCE_HUMAN
    state: str = HUMAN
    created: list[Box] = field(default_factory=list)

    @property
    def text(self):
        return "Add box" if len(self.items) == 1 else f"Add {len(self.items)} boxes"

    def redo(self, project):
        if self.created:
            project.restore_boxes(self.created)
        else:
            self.created = project.add_boxes(self.image_id, self.items, source=self.source, state=self.state)

    def undo(self, project):
        project.delete_boxes([b.id for b in self.created])


@dataclass
class DeleteBoxes(Command):
    box_ids: Sequence[int]
    image_id: int | None = None
    deleted: list[Box] = field(default_factory=list)

    @property
    def text(self):
        return "Delete box" if len(self.box_ids) == 1 else f"Delete {len(self.box_ids)} boxes"

    def redo(self, project):
        with project.batch():  # a prediction deleted by hand is rejected (undo's restore clears it)
            self.deleted = project.delete_boxes(self.box_ids)
            history.record_fate(project, self.box_ids, history.REJECTED)

    def undo(self, project):
        project.restore_boxes(self.deleted)


@dataclass
class SetBoxRect(Command):
    """Move or resize one box (a mouse drag or resize: one gesture, one step; it does not merge)."""

    box_id: int
    rect: tuple[float, float, float, float]
    image_id: int | None = None
    text: str = "Move box"
    before: Box | None = None
    after: Box | None = None

    def redo(self, project):
        if self.before is None:
            self.before = project.box(self.box_id)
        self.after = project.set_box_rect(self.box_id, *self.rect)

    def undo(self, project):
        project.update_boxes([self.before])


@dataclass
class MoveBoxes(Command):
    """Move several boxes by (dx, dy), e.g. an arrow-key nudge of a selection."""

    box_ids: Sequence[int]
    dx: float
    dy: float
    image_id: int | None = None
    text: str = "Move boxes"
    before: list[Box] = field(default_factory=list)

    def redo(self, project):
        self.before = project.boxes_by_ids(self.box_ids)
        with project.batch():
            # the canvas already limited (dx, dy) to keep the group inside (gui.canvas.geometry.group_delta);
            # the store clips whatever else with core.geometry.clip_box
            for b in self.before:
                project.set_box_rect(b.id, b.x1 + self.dx, b.y1 + self.dy, b.x2 + self.dx, b.y2 + self.dy)

    def undo(self, project):
        project.update_boxes(self.before)


@dataclass
class SetCategory(Command):
    box_ids: Sequence[int]
    category_id: int
    image_id: int | None = None
    text: str = "Change class"
    before: list[Box] = field(default_factory=list)

    def redo(self, project):
        self.before = project.set_box_category(self.box_ids, self.category_id)

    def undo(self, project):
        project.update_boxes(self.before)


@dataclass
class AcceptBoxes(Command):
    box_ids: Sequence[int]
    image_id: int | None = None
    text: str = "Accept predictions"
    before: list[Box] = field(default_factory=list)

    def redo(self, project):
        self.before = project.set_box_state(
            [b.id for b in project.boxes_by_ids(self.box_ids) if b.state == PREDICTED], ACCEPTED)

    def undo(self, project):
        project.update_boxes(self.before)


@dataclass
class ReviewImage(Command):
    """Accept the predictions at or above `min_score`, delete the ones below, mark reviewed."""

    image_id: int
    min_score: float = 0.0
    text: str = "Accept image"
    accepted: list[Box] = field(default_factory=list)
    deleted: list[Box] = field(default_factory=list)
    was_reviewed: bool = False
    was_threshold: float | None = None

    def redo(self, project):
        self.was_reviewed = project.image(self.image_id).reviewed
        preds = [b for b in project.boxes(self.image_id) if b.state == PREDICTED]
        keep = [b.id for b in preds if not b.hidden_at(self.min_score)]
        drop = [b.id for b in preds if b.id not in set(keep)]
        with project.batch():
            self.deleted = project.delete_boxes(drop)
            history.record_fate(project, drop, history.NOT_SHOWN)  # hidden by the slider, not rejected
            self.accepted = project.set_box_state(keep, ACCEPTED)
            project.set_reviewed(self.image_id, True)
            self.was_threshold = history.set_review_threshold(project, self.image_id, self.min_score)

    def undo(self, project):
        with project.batch():
            project.update_boxes(self.accepted)
            project.restore_boxes(self.deleted)
            project.set_reviewed(self.image_id, self.was_reviewed)
            history.set_review_threshold(project, self.image_id, self.was_threshold)


# ---------------------------------------------------------------------- categories
@dataclass
class AddCategory(Command):
    name: str
    color: str | None = None
    text: str = "Add class"
    created: Category | None = None

    def redo(self, project):
        if self.created:
            project.restore_category(self.created)
        else:
            self.created = project.add_category(self.name, self.color)

    def undo(self, project):
        project.delete_category(self.created.id)


@dataclass
class RenameCategory(Command):
    category_id: int
    name: str
    text: str = "Rename class"
    old: str = ""

    def redo(self, project):
        self.old = project.category(self.category_id).name
        project.rename_category(self.category_id, self.name)

    def undo(self, project):
        project.rename_category(self.category_id, self.old)


@dataclass
class RecolorCategory(Command):
    category_id: int
    color: str
    text: str = "Recolour class"
    old: str = ""

    def redo(self, project):
        self.old = project.category(self.category_id).color
        project.recolor_category(self.category_id, self.color)

    def undo(self, project):
        project.recolor_category(self.category_id, self.old)


@dataclass
class DeleteCategory(Command):
    category_id: int
    text: str = "Delete class"
    deleted: Category | None = None
    boxes: list[Box] = field(default_factory=list)

    def redo(self, project):
        self.deleted, self.boxes = project.delete_category(self.category_id)

    def undo(self, project):
        project.restore_category(self.deleted, self.boxes)


@dataclass
class MergeCategory(Command):
    source_id: int
    target_id: int
    text: str = "Merge classes"
    source: Category | None = None
    moved: list[int] = field(default_factory=list)

    def redo(self, project):
        self.source, self.moved = project.merge_categories(self.source_id, self.target_id)

    def undo(self, project):
        with project.batch():
            project.restore_category(self.source)
            before = project.boxes_by_ids(self.moved)
            project.update_boxes([replace(b, category_id=self.source.id) for b in before])


@dataclass
class ReorderCategories(Command):
    ordered_ids: Sequence[int]
    text: str = "Reorder classes"
    old: list[int] = field(default_factory=list)

    def redo(self, project):
        self.old = [c.id for c in project.categories()]
        project.reorder_categories(self.ordered_ids)

    def undo(self, project):
        project.reorder_categories(self.old)
