"""Qt adapter over the store's change listeners.

The store calls its listeners on whatever thread made the change (the GUI thread for edits, a
worker thread for pre-labeling). `ProjectSignals` lives in the GUI thread and re-emits each change
as a Qt signal; a signal emitted from another thread is delivered queued, so slots always run on
the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from labeler.core.store import Project


class ProjectSignals(QObject):
    #: image ids whose boxes changed
    boxes_changed = Signal(tuple)
    #: image ids whose record changed (review status); () means "any / rescan"
    images_changed = Signal(tuple)
    #: category ids that changed; () means "the list changed"
    categories_changed = Signal(tuple)
    settings_changed = Signal()
    #: training run ids that changed
    runs_changed = Signal(tuple)
    # internal: carries (kind, ids) across threads
    _relay = Signal(str, tuple)

    def __init__(self, project: Project, parent: QObject | None = None):
        super().__init__(parent)
        self.project = project
        self._relay.connect(self._on_relay)
        project.add_listener(self._on_store_change)

    def detach(self) -> None:
        self.project.remove_listener(self._on_store_change)

    def _on_store_change(self, kind: str, ids: tuple) -> None:
        # any thread: emitting a signal is thread-safe; delivery to our slot is queued if needed
        self._relay.emit(kind, ids)

    def _on_relay(self, kind: str, ids: tuple) -> None:
        if kind == "boxes":
            self.boxes_changed.emit(ids)
        elif kind == "images":
            self.images_changed.emit(ids)
        elif kind == "categories":
            self.categories_changed.emit(ids)
        elif kind == "settings":
            self.settings_changed.emit()
        elif kind == "runs":
            self.runs_changed.emit(ids)
