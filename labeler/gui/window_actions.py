"""The window's actions as one table: what each is called, its keys and icon, and where it shows.

`make_window_actions(window)` turns `ACTIONS` into QActions on the window (so their shortcuts work
whichever panel has focus) and adds the undo stack's, the canvas's and the pre-label panel's own;
`build_menus` and `build_toolbar` lay them out from `MENUS` and `TOOLBAR`. A new command is one
row here and one method on the window; the shortcuts dialog reads the menus, so it lists it too.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QSlider, QToolBar

log = logging.getLogger(__name__)


class ActionSpec(NamedTuple):
    key: str
    text: str
    #: the name of a window method taking no argument, or (method name, argument)
    slot: str | tuple
    shortcuts: tuple = ()
    icon: str | None = None
    tip: str = ""


_OPEN, _QUIT, _FIND = QKeySequence.StandardKey.Open, QKeySequence.StandardKey.Quit, QKeySequence.StandardKey.Find

#: the window's own actions (the canvas's are in canvas/actions.py)
ACTIONS = (
    ActionSpec("open", "&Open folder…", "choose_folder", (_OPEN,), "open-folder"),
    ActionSpec("new_project", "&New project for a folder…", "choose_new_project",
               tip="Label an image folder with its project kept elsewhere (read-only images, several tasks)"),
    ActionSpec("open_project", "Open &project…", "choose_project", tip="Open a project kept apart from its images"),
    ActionSpec("rescan", "&Rescan folder", "rescan", ("F5",), tip="Look for new, changed and removed images"),
    ActionSpec("import", "&Import…", ("choose_import", False), icon="import"),
    ActionSpec("import_predictions", "Import &predictions…", ("choose_import", True)),
    ActionSpec("export", "&Export…", "choose_export", ("Ctrl+E",), "export"),
    ActionSpec("quit", "&Quit", "close", (_QUIT,)),
    ActionSpec("copy_previous", "Copy boxes from the &previous image", "copy_from_previous", ("Ctrl+Shift+V",)),
    ActionSpec("next", "&Next image", ("step", 1), ("D", "Right"), "next-image"),
    ActionSpec("previous", "&Previous image", ("step", -1), ("A", "Left"), "previous-image"),
    ActionSpec("next_unreviewed", "Next image &not reviewed", "next_not_reviewed", ("Shift+D",)),
    ActionSpec("first", "&First image", "go_to_first", ("Home",)),
    ActionSpec("last", "&Last image", "go_to_last", ("End",)),
    ActionSpec("zoom_100", "Zoom &100 %", "zoom_100", ("Ctrl+1",), "zoom-100"),
    ActionSpec("find", "Filter images by &name", "focus_filter", (_FIND,)),
    ActionSpec("shortcuts", "&Keyboard shortcuts", "show_shortcuts", ("F1",)),
    ActionSpec("about", "&About labeler", "show_about"),
    ActionSpec("prelabel_panel", "&Pre-label images…", ("show_dock", "Pre-label"), ("Ctrl+Shift+P",)),
    ActionSpec("train_panel", "&Fine-tune the model…", ("show_dock", "Fine-tune"), ("Ctrl+Shift+T",),
               tip="Train on the reviewed images in the background, with a live chart"),
)

#: canvas actions that belong in View rather than Edit
VIEW_CANVAS_KEYS = ("fit", "cancel")
#: menu name -> action keys; "|" is a separator, "*canvas-edit" the canvas's edit actions,
#: "*recent" the Open recent submenu, "*canvas-view" the canvas's view actions
MENUS = {
    "File": ("open", "*recent", "new_project", "open_project", "rescan", "|", "import", "import_predictions", "export", "|", "quit"),
    "Edit": ("undo", "redo", "|", "*canvas-edit", "copy_previous"),
    "View": ("*canvas-view", "zoom_100", "find", "|"),
    "Go": ("next", "previous", "next_unreviewed", "first", "last"),
    "Model": ("prelabel_current", "prelabel_panel", "train_panel"),
    "Help": ("shortcuts", "about"),
}
#: the toolbar (icons only): action keys with the icon to give canvas actions that have none;
#: "|" is a separator, "*score" the prediction score slider
TOOLBAR = (("open", None), ("|", None), ("previous", None), ("next", None), ("|", None),
           ("draw", "draw-box"), ("delete", "delete"), ("accept", "accept"), ("accept_image", "accept-image"),
           ("fit", "fit-window"), ("undo", None), ("redo", None), ("|", None), ("*score", None), ("|", None),
           ("export", None))


def icon(name: str):
    """The named icon, or None (an incomplete install shows text buttons, it does not fail)."""
    try:
        from labeler.gui.icons import icon as load

        return load(name)
    except Exception as exc:
        log.warning("No icon %s: %s", name, exc)
        return None


def _slot(window, slot):
    name, *args = (slot,) if isinstance(slot, str) else slot
    fn = getattr(window, name)
    return lambda _checked=False: fn(*args)


def _make(window, spec: ActionSpec) -> QAction:
    a = QAction(spec.text, window)
    a.setObjectName(f"action_{spec.key}")
    a.setShortcuts([QKeySequence(s) for s in spec.shortcuts])
    if spec.icon and (ic := icon(spec.icon)) is not None:
        a.setIcon(ic)
    if spec.tip:
        a.setStatusTip(spec.tip)
    if spec.shortcuts:  # the toolbar shows icons only: the tool tip names the keys
        first = QKeySequence(spec.shortcuts[0]).toString(QKeySequence.SequenceFormat.NativeText)
        a.setToolTip(f"{spec.text.replace('&', '').rstrip('…')} ({first})")
    a.triggered.connect(_slot(window, spec.slot))
    return a


def make_window_actions(window) -> dict[str, QAction]:
    """Every action the window has, by key; each is added to the window so its keys work anywhere."""
    out: dict[str, QAction] = {}

    def add(key: str, a: QAction) -> None:
        a.setObjectName(f"action_{key}")
        if a not in window.actions():
            window.addAction(a)
        out.setdefault(key, a)

    for spec in ACTIONS:
        add(spec.key, _make(window, spec))
        if spec.key == "quit":  # the undo stack's own actions come next, as in the Edit menu
            undo = window.undo_stack.createUndoAction(window, "&Undo")
            undo.setProperty("shortcut_name", "Undo")  # its text names the last edit
            undo.setShortcuts([QKeySequence("Ctrl+Z")])
            redo = window.undo_stack.createRedoAction(window, "&Redo")
            redo.setProperty("shortcut_name", "Redo")
            redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
            for key, a in (("undo", undo), ("redo", redo)):
                if (ic := icon(key)) is not None:
                    a.setIcon(ic)
                add(key, a)
    add("prelabel_current", window.prelabel_panel.prelabel_current_action)
    for key, a in window.canvas.edit_actions.items():
        if a not in window.actions():
            window.addAction(a)
        out.setdefault(key, a)
    return out


def build_menus(window, acts: dict[str, QAction], canvas_acts: dict[str, QAction]) -> None:
    """The menu bar from MENUS; the window's `recent_menu` is File > Open recent."""
    for name, keys in MENUS.items():
        m = window.menu(name)
        for key in keys:
            if key == "|":
                m.addSeparator()
            elif key == "*recent":
                window.recent_menu = m.addMenu("Open &recent")
                window.recent_menu.aboutToShow.connect(window.fill_recent_menu)
            elif key == "*canvas-edit":
                m.addActions([a for k, a in canvas_acts.items() if k not in VIEW_CANVAS_KEYS])
            elif key == "*canvas-view":
                m.addActions([canvas_acts[k] for k in VIEW_CANVAS_KEYS if k in canvas_acts])
            else:
                m.addAction(acts[key])


def build_toolbar(window, acts: dict[str, QAction]) -> QToolBar:
    """The toolbar from TOOLBAR; sets the window's score_slider and score_label."""
    tb = QToolBar("Tools", window)
    tb.setObjectName("toolbar_main")
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
    window.addToolBar(tb)
    for key, icon_name in TOOLBAR:
        if key == "|":
            tb.addSeparator()
        elif key == "*score":
            window.score_label = QLabel()
            window.score_slider = QSlider(Qt.Orientation.Horizontal)
            window.score_slider.setRange(0, 100)
            window.score_slider.setFixedWidth(140)
            window.score_slider.setToolTip("Predictions scored below this are hidden (and Ctrl+Enter deletes them)")
            tb.addWidget(QLabel(" Show predictions ≥ "))
            tb.addWidget(window.score_slider)
            tb.addWidget(window.score_label)
        elif key in acts:
            a = acts[key]
            if icon_name and a.icon().isNull() and (ic := icon(icon_name)) is not None:
                a.setIcon(ic)
            tb.addAction(a)
    window.menu("View").addAction(tb.toggleViewAction())
    return tb
