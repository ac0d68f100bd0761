"""The canvas's edits and actions: gestures become core commands on the one undo stack.

`BoxEditor` knows no widgets: it gets image ids, box ids and rects, checks what the user asked
for (a message instead of an edit when it makes no sense) and pushes labeler.core.commands through
labeler.gui.undo.push, so every edit is one undo step written to the store at once.

New boxes need a class. When the project has none yet, drawing (or pasting) creates a class named
"object" in the same undo step instead of refusing: a first-time user can draw at once and rename
the class later; Ctrl+Z removes the box and the class together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QUndoStack

from labeler.core import commands
from labeler.core.store import MIN_BOX_SIZE, PREDICTED, Box, Project, StoreError
from labeler.core.words import counted
from labeler.gui.canvas import geometry as geo
from labeler.gui.dialogs import class_picker
from labeler.gui.undo import UndoReporter, push

#: the class made when the first box is drawn in a project without classes
FIRST_CLASS_NAME = "object"
#: how far a paste onto the image it was copied from is offset, so the copies are visible
PASTE_OFFSET = 10.0


@dataclass
class Clipboard:
    """Copied boxes as plain data: (category id, x1, y1, x2, y2). Lives as long as the canvas, so
    boxes copied on one image paste onto another."""

    image_id: int | None = None
    items: list[tuple[int, float, float, float, float]] = field(default_factory=list)


class BoxEditor:
    def __init__(self, project: Project, stack: QUndoStack, reporter: UndoReporter | None,
                 say: Callable[[str], None]):
        self.project, self.stack, self.reporter, self.say = project, stack, reporter, say

    def push(self, command: commands.Command) -> bool:
        return push(self.stack, self.project, command, self.reporter)

    # -- classes
    def category_for_new_boxes(self, default_id: int | None) -> int | None:
        """The default class if it still exists, else the first class, else None (none exist)."""
        cats = self.project.categories()
        ids = [c.id for c in cats]
        if default_id in ids:
            return default_id
        return ids[0] if ids else None

    def add_boxes(self, image_id: int, items: list[tuple], default_id: int | None, text: str | None = None) -> list[int]:
        """Add human boxes; items are (x1, y1, x2, y2) or (category id, x1, y1, x2, y2). Returns the
        new ids ([] if refused). Rects must already fit the image."""
        category = self.category_for_new_boxes(default_id)
        macro = category is None
        if macro:
            self.stack.beginMacro(text or ("Add box" if len(items) == 1 else f"Add {len(items)} boxes"))
            add_class = commands.AddCategory(FIRST_CLASS_NAME)
            if not self.push(add_class):
                self.stack.endMacro()
                return []
            category = add_class.created.id
            self.say(f'The project had no classes: the box got the new class "{FIRST_CLASS_NAME}" (rename it in Classes).')
        known = {c.id for c in self.project.categories()}
        rows = []
        for it in items:
            if len(it) == 4:
                rows.append((category, *it))
            else:
                rows.append((it[0] if it[0] in known else category, *it[1:5]))
        cmd = commands.AddBoxes(image_id, rows)
        ok = self.push(cmd) if text is None else self._push_with_text(cmd, text)
        if macro:
            self.stack.endMacro()
        return [b.id for b in cmd.created] if ok else []

    def _push_with_text(self, cmd: commands.AddBoxes, text: str) -> bool:
        # AddBoxes names itself from its count; a paste or a copy reads better in the Edit menu
        self.stack.beginMacro(text)
        ok = self.push(cmd)
        self.stack.endMacro()
        return ok

    # -- edits of existing boxes
    def delete(self, image_id: int, box_ids: list[int]) -> bool:
        if not box_ids:
            self.say("Select boxes to delete first.")
            return False
        return self.push(commands.DeleteBoxes(list(box_ids), image_id))

    def move(self, image_id: int, box_ids: list[int], dx: float, dy: float, nudge: bool = False) -> bool:
        if not box_ids or (dx == 0 and dy == 0):
            return False
        text = "Nudge boxes" if nudge else ("Move box" if len(box_ids) == 1 else f"Move {len(box_ids)} boxes")
        return self.push(commands.MoveBoxes(sorted(box_ids), dx, dy, image_id, text=text))

    def resize(self, image_id: int, box_id: int, rect: tuple[float, float, float, float]) -> bool:
        return self.push(commands.SetBoxRect(box_id, tuple(rect), image_id, text="Resize box"))

    def set_category(self, image_id: int, box_ids: list[int], category_id: int) -> bool:
        if not box_ids:
            self.say("Select boxes first, then choose their class.")
            return False
        try:
            name = self.project.category(category_id).name
        except StoreError as exc:
            self.say(str(exc))
            return False
        before = {b.category_id for b in self.project.boxes_by_ids(box_ids)}
        if before == {category_id}:
            return False
        return self.push(commands.SetCategory(list(box_ids), category_id, image_id, text=f"Set class {name}"))

    def create_category_for(self, image_id: int, box_ids: list[int], name: str) -> bool:
        """Add a class called `name` and give it to the boxes: one undo step."""
        name = name.strip()
        if not name:
            self.say("A class needs a name.")
            return False
        self.stack.beginMacro(f"Create class {name}")
        try:
            add_class = commands.AddCategory(name)
            if not self.push(add_class):
                return False
            if box_ids:
                self.push(commands.SetCategory(list(box_ids), add_class.created.id, image_id, text=f"Set class {name}"))
            return True
        finally:
            self.stack.endMacro()

    def accept(self, image_id: int, box_ids: list[int]) -> bool:
        predicted = [b.id for b in self.project.boxes_by_ids(box_ids) if b.state == PREDICTED]
        if not predicted:
            self.say("Nothing to accept: select predicted (dashed) boxes." if box_ids else
                     "Select predicted boxes to accept, or press Ctrl+Enter to accept the whole image.")
            return False
        return self.push(commands.AcceptBoxes(predicted, image_id))

    def review(self, image_id: int, min_score: float) -> bool:
        """Ctrl+Enter; the status line says what it removed (undo brings the removed back)."""
        cmd = commands.ReviewImage(image_id, min_score)
        if not self.push(cmd):
            return False
        if not self.project.boxes(image_id):  # a negative: said, since Space moves on at once
            hidden = (f"; {counted(len(cmd.deleted), 'hidden prediction')} (below {min_score:.2f}) removed"
                      if cmd.deleted else "")
            self.say(f"Marked reviewed with no boxes: a negative example{hidden} (Ctrl+Z to undo).")
            return True
        text = f"Reviewed: accepted {counted(len(cmd.accepted), 'prediction')}"
        if cmd.deleted:
            text += (f", removed {counted(len(cmd.deleted), 'hidden prediction')} (scored below {min_score:.2f});"
                     " Edit > Undo brings them back")
        self.say(text + ".")
        return True

    # -- copy and paste
    def copy(self, clipboard: Clipboard, image_id: int, boxes: list[Box]) -> None:
        if not boxes:
            self.say("Select boxes to copy first.")
            return
        clipboard.image_id = image_id
        clipboard.items = [(b.category_id, *b.rect) for b in boxes]
        self.say(f"Copied {counted(len(boxes), 'box')}.")


    def paste(self, clipboard: Clipboard, image_id: int, width: int, height: int, default_id: int | None) -> list[int]:
        """Add the clipboard's boxes to an image (offset when it is the image they came from)."""
        if not clipboard.items:
            self.say("Nothing to paste: copy boxes first (Ctrl+C).")
            return []
        offset = PASTE_OFFSET if clipboard.image_id == image_id else 0.0
        rects = [geo.moved(tuple(it[1:]), offset, offset) for it in clipboard.items]
        return self._add_copies(image_id, width, height, [it[0] for it in clipboard.items], rects, default_id,
                                "Paste {}")

    def copy_from_image(self, source_id: int, image_id: int, width: int, height: int, default_id: int | None,
                        threshold: float) -> list[int]:
        """Copy another image's boxes (all but predictions hidden below `threshold`) onto this one."""
        try:
            boxes = [b for b in self.project.boxes(source_id) if not b.hidden_at(threshold)]
        except StoreError as exc:
            self.say(str(exc))
            return []
        if not boxes:
            self.say("The previous image has no boxes to copy.")
            return []
        return self._add_copies(image_id, width, height, [b.category_id for b in boxes], [b.rect for b in boxes],
                                default_id, "Copy {} from the previous image")

    def _add_copies(self, image_id: int, width: int, height: int, categories: list[int], rects: list[tuple],
                    default_id: int | None, text: str) -> list[int]:
        if not width:
            self.say("This image cannot be read, so boxes cannot be added to it.")
            return []
        fitted = geo.fit_into(rects, width, height, MIN_BOX_SIZE)
        items = [(c, *r) for c, r in zip(categories, fitted) if r is not None]
        if not items:
            self.say("None of the boxes fall inside this image.")
            return []
        n = len(items)
        ids = self.add_boxes(image_id, items, default_id, text=text.format(counted(n, "box")))
        skipped = len(rects) - n
        if ids and skipped:
            self.say(f"{counted(skipped, 'box')} fell outside this image and were left out.")
        return ids


def make_edit_actions(canvas) -> dict[str, "QAction"]:
    """The canvas's actions, keyed as the main window expects. Each is added to the canvas too,
    so its shortcut works wherever the canvas's window is active (Qt.WindowShortcut, the default)."""
    spec = [
        # key, text, shortcuts, slot, tip
        ("draw", "&Draw boxes", ["W"], None, "Drag on the image to draw a box (Esc leaves)"),
        ("cancel", "&Cancel", ["Esc"], canvas.cancel, "Cancel the drag, leave draw mode, clear the selection"),
        ("fit", "&Fit to window", ["F"], canvas.fit_to_window, "Show the whole image"),
        ("delete", "De&lete boxes", ["Delete", "Backspace"], canvas.delete_selected, "Delete the selected boxes"),
        ("accept", "&Accept selected", ["Return", "Enter"], canvas.accept_selected,
         "Accept the selected predictions"),
        ("accept_image", "Accept &image", ["Ctrl+Return", "Ctrl+Enter"], canvas.accept_image,
         "Accept the predictions shown, delete the hidden ones, mark the image reviewed"),
        ("review_next", "Accept image and go to the &next to review", ["Space"], canvas.keys.review_and_next,
         "Ctrl+Enter, then Shift+D, in one key (hold Space and drag to pan)"),
        ("pick_class", "Set &class…", ["E"], canvas.pick_category_for_selection,
         "Choose the class of the selected boxes (type to filter)"),
        ("copy", "&Copy boxes", ["Ctrl+C"], canvas.copy_selected, "Copy the selected boxes"),
        ("paste", "&Paste boxes", ["Ctrl+V"], canvas.paste, "Paste boxes (also onto another image)"),
    ]
    actions: dict[str, QAction] = {}
    for key, text, keys, slot, tip in spec:
        a = QAction(text, canvas)
        a.setObjectName(f"action_{key}")
        a.setShortcuts([QKeySequence(k) for k in keys])
        a.setStatusTip(tip)
        a.setToolTip(f"{text.replace('&', '').rstrip('…')} ({keys[0]})")
        if key == "review_next":
            # the canvas handles Space itself (press and release without a drag; Space+drag pans);
            # as a window shortcut Space would also steal the focused button's Space
            a.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        if key == "draw":
            a.setCheckable(True)
            a.toggled.connect(canvas.set_draw_mode)
        else:
            a.triggered.connect(lambda _checked=False, fn=slot: fn())
        canvas.addAction(a)
        actions[key] = a
    return actions


def make_class_actions(canvas) -> list["QAction"]:
    """1-9: set the selection's class to the n-th class (nothing selected: 1 zooms to 100 %).

    Actions on the canvas (window shortcuts), so the digits work wherever the selection is shown:
    on the canvas and in the Boxes list alike. They stay out of the menus (nine entries)."""
    out = []
    for n in range(1, 10):
        a = QAction(f"Class {n}", canvas)
        a.setObjectName(f"action_class_{n}")
        a.setShortcut(QKeySequence(str(n)))
        a.triggered.connect(lambda _checked=False, n=n: canvas.keys.class_key(n))
        canvas.addAction(a)
        out.append(a)
    return out


def pick_category_for(canvas) -> None:
    """E on the canvas: choose the class of its selection in a picker with type-to-filter."""
    ids = canvas.selected_box_ids()
    if not ids:
        canvas.message.emit("Select boxes first, then press E to choose their class.")
        return
    cats = canvas.project.categories()
    if not cats:
        canvas.message.emit("The project has no classes yet: add one in the Classes panel.")
        return
    items = canvas.box_items()
    current = {items[i].box.category_id for i in ids if i in items}
    chosen = class_picker.pick_category(canvas, cats, current.pop() if len(current) == 1 else None)
    canvas.take_focus()  # keys go on working on the canvas at once
    image_id = canvas.current_image_id()
    if chosen is None or image_id is None:
        return
    if isinstance(chosen, str):  # "Create class NAME"
        canvas.editor.create_category_for(image_id, ids, chosen)
    else:
        canvas.editor.set_category(image_id, ids, chosen)
